r"""The Dirac-GAN (Mescheder, Geiger & Nowozin 2018, "Which training methods for GANs do actually
converge?", ICML, Sec. 2.2): p_data = delta_0, G(z) = theta, D(x) = psi * x, as pure JAX functions.

A state is z = (theta, psi), shape [2]; the equilibrium is z* = (0, 0). The losses are the project's own
games (``games.GAMES``) on the logits D(0) = 0 (real) and D(theta) = psi * theta (fake), as length-1
batches, and the penalties are ``regularisers``'. The gradient field is

    v(z) = (-dL_G/dtheta, -dL_D/dpsi)        (each player descends its own loss),

the paper's Eq. 2 in loss form. Sign convention: in games.py a high logit means "real"; the paper's D is
high on fake (its L(theta, psi) = f(psi theta) + f(0), maximised by D). Our psi is the paper's -psi, so
our Jacobian at z* is the paper's conjugated by diag(1, -1): the off-diagonal signs flip and the
eigenvalues are the same. For the unregularised minimax game (f(t) = -log(1 + e^-t), f'(0) = 1/2):

    J = [[0, f'(0)], [-f'(0), 0]],   eigenvalues +- i f'(0)   (paper: [[0, -f'(0)], [f'(0), 0]]).

Update schemes (step size h): simultaneous and alternating gradient descent (D then G; the paper's
Sec. 2.1), extragradient (Korpelevich 1976) and optimistic gradient descent (Daskalakis et al. 2018).
"""

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.game import games, regularisers

REGULARISERS = ("none", "r1", "r2", "gp", "clip", "instance_noise", "consensus")
SCHEMES = ("simultaneous", "alternating", "extragradient", "optimistic")

# The settings of the authors' Dirac-GAN notebook (LMescheder/GAN_stability, notebooks/DiracGAN.ipynb:
# h = 0.2 from (theta, psi) = (1, 1)). The weight is gamma for r1 and r2 ((gamma/2) E||grad_x D||^2),
# gp ((gamma/2) E(||grad_x D|| - 1)^2) and consensus ((gamma/2) ||v||^2); the bound c for clip
# (psi in [-c, c]); the noise std sigma for instance_noise.
DEFAULT_WEIGHTS = {
    "none": 0.0,
    "r1": 0.3,
    "r2": 0.3,
    "gp": 0.7,
    "clip": 1.0,
    "instance_noise": 0.7,
    "consensus": 1.0,
}
QUADRATURE_NODES = 20  # Gauss-Hermite nodes per noise variable (instance noise)

Field = Callable[[jax.Array], jax.Array]
Projection = Callable[[jax.Array], jax.Array]


def critic(psi: jax.Array) -> regularisers.Critic:
    """The paper's linear discriminator D(x) = psi * x on a batch x [B, 1] -> logits [B]."""
    return lambda x: psi * x[:, 0]


def game_losses(game: games.Game, psi: jax.Array, x_real: jax.Array, x_fake: jax.Array):
    """(L_G, L_D) of ``game`` on one real sample x_real and one fake sample x_fake (scalars)."""
    d = critic(psi)
    real, fake = d(jnp.reshape(x_real, (1, 1))), d(jnp.reshape(x_fake, (1, 1)))
    return game.g_loss(real_logits=real, fake_logits=fake), game.d_loss(real_logits=real, fake_logits=fake)


def hermite_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (summing to 1) of the n-point Gauss-Hermite rule for E f(eps), eps ~ N(0, 1);
    exact when f is a polynomial of degree < 2n."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(n)
    return nodes, weights / np.sum(weights)


def noisy_losses(game: games.Game, theta: jax.Array, psi: jax.Array, sigma: jax.Array):
    """Instance noise (Sønderby et al. 2016; Mescheder et al. 2018 Sec. 3): E over independent
    eps_r, eps_f ~ N(0, sigma^2) of the losses at x_real = eps_r, x_fake = theta + eps_f.

    The expectation is a tensor Gauss-Hermite rule (``QUADRATURE_NODES`` per variable), not Monte Carlo:
    deterministic, exact for integrands polynomial of degree < 2n in each noise, so the Jacobian at z*
    (which needs E eps^2 only) is exact; elsewhere the integrands are smooth and the rule is accurate.
    """
    nodes, weights = hermite_rule(QUADRATURE_NODES)
    eps = sigma * jnp.asarray(nodes, theta.dtype)
    eps_r, eps_f = (a.ravel() for a in jnp.meshgrid(eps, eps, indexing="ij"))
    w = jnp.asarray(np.outer(weights, weights).ravel(), theta.dtype)
    l_g, l_d = jax.vmap(lambda er, ef: game_losses(game, psi, er, theta + ef))(eps_r, eps_f)
    return jnp.sum(w * l_g), jnp.sum(w * l_d)


def losses(game_name: str, regulariser: str, weight, z: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(L_G, L_D) at z = (theta, psi) with ``regulariser`` of strength ``weight`` (see DEFAULT_WEIGHTS).

    r1 / r2: L_D + (gamma/2) E||grad_x D||^2 on real / fake samples (Mescheder et al. 2018 Sec. 4.1;
    here both are (gamma/2) psi^2). gp: L_D + (gamma/2) E(||grad_x D(x_hat)|| - 1)^2 (Gulrajani et al.
    2017 Eq. 3 with the paper's gamma/2; x_hat does not matter, grad_x D = psi everywhere). consensus
    (Mescheder et al. 2017, "The Numerics of GANs": w = v - gamma grad (1/2)||v||^2): both losses
    + (gamma/2)||v||^2, v the unregularised field. clip
    leaves the losses alone (``projection``).
    """
    game = games.get_game(game_name)
    theta, psi = z[0], z[1]
    if regulariser == "instance_noise":
        return noisy_losses(game, theta, psi, weight)
    l_g, l_d = game_losses(game, psi, jnp.zeros_like(theta), theta)
    x_real, x_fake = jnp.zeros((1, 1), z.dtype), jnp.reshape(theta, (1, 1))
    if regulariser == "r1":
        l_d = l_d + 0.5 * weight * regularisers.r1_penalty(critic(psi), x_real)
    elif regulariser == "r2":
        l_d = l_d + 0.5 * weight * regularisers.r2_penalty(critic(psi), x_fake)
    elif regulariser == "gp":
        penalty = regularisers.gradient_penalty(critic(psi), x_real, x_fake, jax.random.PRNGKey(0))
        l_d = l_d + 0.5 * weight * penalty
    elif regulariser == "consensus":
        sq_norm = 0.5 * weight * jnp.sum(jnp.square(field(game_name, "none", 0.0, z)))
        l_g, l_d = l_g + sq_norm, l_d + sq_norm
    elif regulariser not in ("none", "clip"):
        raise ValueError(f"unknown regulariser {regulariser!r}; choose one of: {', '.join(REGULARISERS)}")
    return l_g, l_d


def field(game_name: str, regulariser: str, weight, z: jax.Array) -> jax.Array:
    """v(z) = (-dL_G/dtheta, -dL_D/dpsi), shape [2] (Mescheder et al. 2018 Eq. 2, in loss form)."""
    grad_g = jax.grad(lambda w: losses(game_name, regulariser, weight, w)[0])(z)
    grad_d = jax.grad(lambda w: losses(game_name, regulariser, weight, w)[1])(z)
    return -jnp.stack([grad_g[0], grad_d[1]])


def projection(regulariser: str, weight, z: jax.Array) -> jax.Array:
    """WGAN weight clipping (Arjovsky et al. 2017, Alg. 1) of psi to [-c, c], c = weight, for 'clip';
    the identity otherwise."""
    if regulariser != "clip":
        return z
    return z.at[1].set(regularisers.clip_weights(z[1], weight))


def jacobian(game_name: str, regulariser: str, weight, z: jax.Array | None = None) -> jax.Array:
    """dv/dz at z (default the equilibrium (0, 0)) by forward-mode autodiff, [2, 2]."""
    z = jnp.zeros(2) if z is None else z
    return jax.jacfwd(functools.partial(field, game_name, regulariser, weight))(z)


def eigenvalues(matrix) -> np.ndarray:
    """Eigenvalues (complex128), sorted by imaginary then real part (so a conjugate pair reads -, +)."""
    values = np.linalg.eigvals(np.asarray(matrix, np.float64))
    return np.array(sorted(values, key=lambda c: (round(c.imag, 12), round(c.real, 12))))


class Carry(NamedTuple):
    """z, and the field at the previous iterate (optimistic GD's memory; the others carry it along)."""

    z: jax.Array
    v_prev: jax.Array


def simultaneous_step(v: Field, project: Projection, h, carry: Carry) -> Carry:
    """z <- z + h v(z): both players step from the same point."""
    return carry._replace(z=project(carry.z + h * v(carry.z)))


def alternating_step(v: Field, project: Projection, h, carry: Carry) -> Carry:
    """D first: psi <- psi + h v_psi(theta, psi), then G from the new psi: theta <- theta + h v_theta."""
    z = project(carry.z.at[1].add(h * v(carry.z)[1]))
    return carry._replace(z=project(z.at[0].add(h * v(z)[0])))


def extragradient_step(v: Field, project: Projection, h, carry: Carry) -> Carry:
    """Korpelevich (1976): a look-ahead z' = z + h v(z), then z <- z + h v(z')."""
    look_ahead = project(carry.z + h * v(carry.z))
    return carry._replace(z=project(carry.z + h * v(look_ahead)))


def optimistic_step(v: Field, project: Projection, h, carry: Carry) -> Carry:
    """Daskalakis et al. (2018): z_{t+1} = z_t + h (2 v(z_t) - v(z_{t-1})) (the paper's x_{t+1} =
    x_t - eta (2 g_t - g_{t-1}) with g = -v); v(z_{-1}) = v(z_0), so the first step is plain GD."""
    v_now = v(carry.z)
    return Carry(z=project(carry.z + h * (2.0 * v_now - carry.v_prev)), v_prev=v_now)


STEPS = {
    "simultaneous": simultaneous_step,
    "alternating": alternating_step,
    "extragradient": extragradient_step,
    "optimistic": optimistic_step,
}


def trajectory(v: Field, scheme: str, z0: jax.Array, h, num_steps: int, project: Projection | None = None):
    """The iterates z_0, ..., z_num_steps of ``scheme`` on the field ``v``, [num_steps + 1, 2]."""
    project = (lambda z: z) if project is None else project
    step = functools.partial(STEPS[scheme], v, project, h)

    def body(carry, _):
        carry = step(carry)
        return carry, carry.z

    z0 = project(z0)
    _, zs = jax.lax.scan(body, Carry(z0, v(z0)), length=num_steps)
    return jnp.concatenate([z0[None], zs])


@functools.partial(jax.jit, static_argnames=("game_name", "regulariser", "scheme", "num_steps"))
def simulate(game_name: str, regulariser: str, weight, scheme: str, z0: jax.Array, h, num_steps: int):
    """``trajectory`` of the Dirac-GAN ``game_name`` with ``regulariser``, jitted."""
    v = functools.partial(field, game_name, regulariser, weight)
    project = functools.partial(projection, regulariser, weight)
    return trajectory(v, scheme, z0, h, num_steps, project)
