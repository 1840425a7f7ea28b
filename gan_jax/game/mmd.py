r"""The maximum mean discrepancy between two samples under a mixture of Gaussian kernels: the loss of
moment matching networks (GMMN, Li, Swersky & Zemel 2015; MMD nets, Dziugaite, Roy & Ghahramani 2015).

For x_1..x_n ~ P, y_1..y_m ~ Q and a kernel k,

    MMD^2_b = 1/n^2 sum_ij k(x_i, x_j) + 1/m^2 sum_ij k(y_i, y_j) - 2/(n m) sum_ij k(x_i, y_j)

is the biased V-statistic (every pair, diagonals included; GMMN's ``GaussianKernelMmdLoss``), and

    MMD^2_u = 1/(n(n-1)) sum_{i!=j} k(x_i, x_j) + 1/(m(m-1)) sum_{i!=j} k(y_i, y_j)
              - 2/(n m) sum_ij k(x_i, y_j)

the unbiased U-statistic (Gretton et al. 2012, Lemma 6; Dziugaite et al.'s). The kernel is GMMN's sum of
Gaussians with unit weights, k(x, y) = sum_s exp(-||x - y||^2 / (2 sigma_s)), each sigma_s a *variance*
(GMMN's MNIST data-space set {2, 5, 10, 20, 40, 80}). GMMN minimises sqrt(MMD^2_b) (``sqrt_mmd``), whose
gradient it takes as grad MMD^2_b / (2 sqrt(MMD^2_b) + 1e-10).
"""

import jax
import jax.numpy as jnp

GMMN_MNIST_SIGMAS = (2.0, 5.0, 10.0, 20.0, 40.0, 80.0)  # variances, pixels in [0, 1]
# MMD-GAN's (OctoberChang/MMD-GAN) standard deviations {1, 2, 4, 8, 16} as variances
MMD_GAN_SIGMAS = (1.0, 4.0, 16.0, 64.0, 256.0)
MMD_GAN_HINGE = 16.0  # its lambda_rg
SQRT_EPS = 1e-10  # GMMN's SqrtGaussianKernelMmdLoss


def _sq_dists(a: jax.Array, b: jax.Array) -> jax.Array:
    """[n, m] matrix of ||a_i - b_j||^2, clipped at 0 (the expanded form can round below it)."""
    d = jnp.sum(a * a, 1)[:, None] - 2.0 * a @ b.T + jnp.sum(b * b, 1)[None, :]
    return jnp.maximum(d, 0.0)


def kernel(a: jax.Array, b: jax.Array, sigmas) -> jax.Array:
    """[n, m] Gram matrix of the mixture sum_s exp(-||a_i - b_j||^2 / (2 sigma_s)), sigmas variances."""
    d = _sq_dists(a, b)
    return sum(jnp.exp(-d / (2.0 * s)) for s in sigmas)


def _mean_off_diagonal(k: jax.Array) -> jax.Array:
    n = k.shape[0]
    return (jnp.sum(k) - jnp.trace(k)) / (n * (n - 1))


def mmd2(x: jax.Array, y: jax.Array, sigmas=GMMN_MNIST_SIGMAS, *, unbiased: bool = False) -> jax.Array:
    """MMD^2 between the rows of x [n, d] and y [m, d]: the biased V-statistic, or with ``unbiased`` the
    U-statistic (which needs n, m >= 2 and may be negative)."""
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"need samples [n, d] and [m, d]; got {x.shape} and {y.shape}")
    kxx, kyy, kxy = kernel(x, x, sigmas), kernel(y, y, sigmas), kernel(x, y, sigmas)
    if unbiased:
        if min(x.shape[0], y.shape[0]) < 2:
            raise ValueError("the unbiased MMD needs at least two rows in each sample")
        return _mean_off_diagonal(kxx) + _mean_off_diagonal(kyy) - 2.0 * jnp.mean(kxy)
    return jnp.mean(kxx) + jnp.mean(kyy) - 2.0 * jnp.mean(kxy)


@jax.custom_vjp
def _gmmn_sqrt(m: jax.Array) -> jax.Array:
    return jnp.sqrt(jnp.maximum(m, 0.0))


def _gmmn_sqrt_fwd(m):
    root = _gmmn_sqrt(m)
    return root, root


def _gmmn_sqrt_bwd(root, g):
    return (g / (2.0 * root + SQRT_EPS),)


_gmmn_sqrt.defvjp(_gmmn_sqrt_fwd, _gmmn_sqrt_bwd)


def sqrt_mmd(x: jax.Array, y: jax.Array, sigmas=GMMN_MNIST_SIGMAS) -> jax.Array:
    """GMMN's loss sqrt(MMD^2_b), with its gradient grad MMD^2_b / (2 sqrt(MMD^2_b) + 1e-10), finite at 0."""
    return _gmmn_sqrt(mmd2(x, y, sigmas))


def sqrt_relu(m: jax.Array) -> jax.Array:
    """sqrt(relu(m)), MMD-GAN's sqrt(relu(MMD^2_b)), with gradient 1 / (2 sqrt m) for m > 0 and 0 (not
    NaN) for m <= 0."""
    positive = m > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, m, 1.0)), 0.0)


def mmd_gan_loss(
    real: jax.Array, fake: jax.Array, sigmas=MMD_GAN_SIGMAS, hinge_weight: float = MMD_GAN_HINGE
) -> jax.Array:
    """MMD-GAN's objective on D's features f(x) [n, k] and f(G(z)) [m, k] (Li et al. 2017, Alg. 1, as
    its code ``mmd_gan.py`` computes it):

        sqrt(relu(MMD^2_b(f(x), f(G(z))))) - lambda_rg mean_j relu(mean_i f(G(z))_ij - mean_i f(x)_ij),

    the second term the code's ``one_sided(f(x).mean(0) - f(G(z)).mean(0))`` = -mean relu(-(...)), added
    with weight lambda_rg: D, maximising, is pushed to keep the real features' means above the fakes'. G
    minimises it; D maximises it (without the autoencoder term: docs/games.md)."""
    hinge = jnp.mean(jax.nn.relu(jnp.mean(fake, 0) - jnp.mean(real, 0)))
    return sqrt_relu(mmd2(fake, real, sigmas)) - hinge_weight * hinge
