r"""The leading eigenvalues of the game's Jacobian at a train state, matrix-free.

The joint gradient field of a state is v(theta) = (grad_G L_G, grad_D L_D) (``steps.joint_gradients``:
both players' gradients, consensus included when ``config.reg.consensus`` > 0) as a function of the
flattened parameters theta = (theta_G, theta_D), at one FIXED minibatch, noise z and dropout masks, the
model states held fixed: a deterministic map R^n -> R^n. Gradient descent moves along -v.

Sign convention. The eigenvalues reported are those of J = d(-v)/d theta, the Jacobian of the descent field w
= -v, which is the field of Mescheder, Nowozin & Geiger 2017 ("The Numerics of GANs": their v is the players'
ascent directions of the payoffs they maximise) and of ``gan_jax.analysis.dirac``. Simultaneous steps theta <-
theta + h w(theta) have the linearised map I + h J at a fixed point, with eigenvalues 1 + h lambda: they
converge locally for small enough h if every eigenvalue of J has Re(lambda) < 0 (the paper's corollary), and a
step h needs |1 + h lambda| < 1, i.e. h < 2 |Re lambda| / |lambda|^2, for every lambda; an eigenvalue with
Re(lambda) > 0 is a direction that gradient flow leaves at any step size.

Arnoldi (``arnoldi``) needs only products J u, one forward-over-reverse pass each (``jvp``); its Ritz
values converge first to the eigenvalues on the outer edge of the spectrum. A shift J + sigma I does not
help it (the Krylov space of J + sigma I is that of J: the Ritz values merely shift), so the rightmost
eigenvalue is refined by explicit restarts (``leading_eigenvalues``; Saad 1980, "Variations on
Arnoldi's method for computing eigenelements of large unsymmetric matrices"): each restart begins from
the real part of the current rightmost Ritz vector, which filters the other directions out.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from gan_jax.game import games, optimizers, steps, updates
from gan_jax.game.state import make_setup
from gan_jax.game.updates import Context, g_forward
from gan_jax.networks import models

BREAKDOWN = 1e-12  # |h_{j+1,j}| below this x the column's size: an invariant subspace, stop


def flat_players(state):
    """(theta, unravel): the flattened (G params, D params) vector (G's first) and its inverse."""
    return ravel_pytree((state.g_params, state.d_params))


def field(ctx: Context, state, batch, keys) -> Callable:
    """``v(theta_flat) -> v_flat``: both players' gradients (``steps.joint_gradients``) at the flattened
    parameters theta, on the fixed ``batch`` = (x_real, y, z) and dropout ``keys``, with the state's
    model states and D update count."""
    _, unravel = flat_players(state)

    def v(theta):
        g_params, d_params = unravel(theta)
        p = updates.players(state)._replace(g_params=g_params, d_params=d_params)
        j = steps.joint_gradients(ctx, p, batch, keys)
        return ravel_pytree((j.g_grads, j.d_grads))[0]

    return v


def jvp(f: Callable, x) -> Callable:
    """``u -> J u``, J = df/dx at x, matrix-free and jitted: one ``jax.jvp`` per product (for a gradient
    field, a forward-over-reverse pass: 1.7 times the field's own cost for the paper model on a CPU)."""
    return jax.jit(lambda u: jax.jvp(f, (x,), (jnp.asarray(u, x.dtype),))[1])


def vjp(f: Callable, x) -> Callable:
    """``u -> J^T u``, J = df/dx at x, by ``jax.vjp`` (the primal pass done once), jitted."""
    _, pullback = jax.vjp(f, x)
    return jax.jit(lambda u: pullback(jnp.asarray(u, x.dtype))[0])


class Arnoldi(NamedTuple):
    """A k-step Arnoldi factorisation A V_k = V_{k+1} H (V's rows orthonormal) and its Ritz pairs."""

    values: np.ndarray  # [k] complex128: eigenvalues of H[:k, :k] (the Ritz values)
    residuals: np.ndarray  # [k]: ||A x - lambda x|| of each unit Ritz vector x = |h_{k+1,k}| |e_k^T y|
    coords: np.ndarray  # [k, k] complex: the unit eigenvectors y of H[:k, :k] (columns)
    hessenberg: np.ndarray  # [k + 1, k] float64
    basis: np.ndarray  # [k + 1, dim] (the last row is zero after a breakdown)


def orthogonalise(basis: np.ndarray, w: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """w minus its projections on ``basis[:count]`` (orthonormal rows), and the summed coefficients:
    classical Gram-Schmidt done twice (CGS2: ARPACK's DGKS reorthogonalisation; Giraud, Langou &
    Rozloznik 2005 show it keeps the basis orthogonal to working precision, as modified Gram-Schmidt
    with reorthogonalisation does), as two matrix-vector products per pass instead of 2 count vector
    operations: at the paper model's 3.7M parameters MGS's loop costs more than the products J u."""
    rows = basis[:count]
    coeffs = np.zeros(count)
    for _ in range(2):
        c = rows @ w
        w = w - c @ rows
        coeffs += c
    return w, coeffs


def arnoldi(matvec: Callable, dim: int, k: int, key, start=None, dtype=np.float32) -> Arnoldi:
    """k steps of Arnoldi's iteration on ``matvec`` (u -> A u, R^dim -> R^dim) from ``start`` (default a
    normal draw of ``key``): V's row j + 1 is A v_j orthogonalised against rows 0..j (``orthogonalise``)
    and normalised, h_{i,j} the coefficients (Saad, "Numerical Methods for Large Eigenvalue Problems",
    Ch. 6). Stops early on a breakdown (an invariant subspace: its Ritz values are eigenvalues of A).
    The Ritz values are the eigenvalues of H[:k, :k], computed in float64."""
    q = np.asarray(jax.random.normal(key, (dim,)) if start is None else start, dtype)
    basis = np.zeros((k + 1, dim), dtype)
    basis[0] = q / np.linalg.norm(q)
    h = np.zeros((k + 1, k))
    for j in range(k):
        w = np.asarray(matvec(basis[j]), dtype)
        w, h[: j + 1, j] = orthogonalise(basis, w, j + 1)
        h[j + 1, j] = np.linalg.norm(w)
        if h[j + 1, j] <= BREAKDOWN * max(np.max(np.abs(h[: j + 1, j])), np.finfo(float).tiny):
            h[j + 1, j] = 0.0
            k = j + 1
            break
        basis[j + 1] = w / h[j + 1, j]
    values, coords = np.linalg.eig(h[:k, :k])
    residuals = abs(h[k, k - 1]) * np.abs(coords[k - 1, :])
    return Arnoldi(values, residuals, coords, h[: k + 1, :k], basis[: k + 1])


def ritz_vectors(a: Arnoldi, indices) -> np.ndarray:
    """The unit Ritz vectors V_k y_i of ``indices``, [len(indices), dim] complex."""
    k = a.coords.shape[0]
    return np.stack([a.coords[:, i] @ a.basis[:k] for i in indices])


def _pick(a: Arnoldi, order: np.ndarray, num: int, split: int | None) -> dict:
    """The Ritz values ``order[:num]`` as lists (re, im, residual; ``g_share``: the fraction of each Ritz
    vector's squared norm in the first ``split`` coordinates, G's)."""
    idx = order[:num]
    out = {
        "re": a.values[idx].real.tolist(),
        "im": a.values[idx].imag.tolist(),
        "residual": a.residuals[idx].tolist(),
    }
    if split is not None:
        shares = []
        for i in idx:
            x = ritz_vectors(a, [i])[0]
            shares.append(float(np.sum(np.abs(x[:split]) ** 2) / np.sum(np.abs(x) ** 2)))
        out["g_share"] = shares
    return out


def leading_eigenvalues(
    matvec: Callable,
    dim: int,
    k: int,
    key,
    num: int = 6,
    restarts: int = 2,
    split: int | None = None,
    dtype=np.float32,
) -> dict:
    """The ``num`` largest-modulus Ritz values of a k-step Arnoldi run, and the ``num`` rightmost (largest
    real part) after ``restarts`` explicit restarts, each from the real part of the current rightmost
    Ritz vector (the module doc; a start summing several Ritz vectors converged more slowly on a test
    matrix, tests/test_spectrum.py); every list with its residual estimates. (restarts + 1) k products;
    the basis is kept in ``dtype``. Only the first rightmost value is refined; the others are the last
    run's."""
    first = arnoldi(matvec, dim, k, key, dtype=dtype)
    rightmost = first
    for _ in range(restarts):
        top = int(np.argmax(rightmost.values.real))
        k_done = rightmost.coords.shape[0]
        start = rightmost.coords[:, top].real @ rightmost.basis[:k_done]  # Re(V y) = V Re(y)
        rightmost = arnoldi(matvec, dim, k, key, start=start, dtype=dtype)
    return {
        "modulus": _pick(first, np.argsort(-np.abs(first.values)), num, split),
        "real": _pick(rightmost, np.argsort(-rightmost.values.real), num, split),
        "products": (restarts + 1) * k,
    }


def trap_signs(ctx: Context, state, batch, keys) -> dict:
    """The saturation trap's signs at ``state`` on the fixed batch (gan_jax/training/collapse.py), as arrays:
    G's and D's gradient norms and ``v_norm`` = ||v||, D's mean sigmoid on the real and the fake batch
    (``d_real``, ``d_fake``), and ``saturation``: the mean over G's output pixels of x (1 - x), the sigmoid's
    derivative at G's output, which falls to 0 as G's logits saturate (meaningful only for a sigmoid output;
    ``spectrum_at`` drops what does not apply)."""
    _, y, z = batch
    j = steps.joint_gradients_at(ctx, state, batch, keys)
    x_fake = g_forward(ctx, state.g_params, state.g_state, z, y)[0]
    g_norm, d_norm = optax.tree.norm(j.g_grads), optax.tree.norm(j.d_grads)
    return {
        "v_norm": jnp.hypot(g_norm, d_norm),
        "g_grad_norm": g_norm,
        "d_grad_norm": d_norm,
        "d_real": jnp.mean(jax.nn.sigmoid(j.logits[0])),
        "d_fake": jnp.mean(jax.nn.sigmoid(j.logits[1])),
        "saturation": jnp.mean(x_fake * (1.0 - x_fake)),
    }


class Probe(NamedTuple):
    """A config's measurements jitted with the state as an argument (not a baked-in constant), so one
    compilation serves every checkpoint of a run."""

    ctx: Context
    product: Callable  # (state, batch, keys, u) -> J u, J = d(-v)/d theta at the state's parameters
    signs: Callable  # (state, batch, keys) -> trap_signs


def make_probe(config, num_train: int) -> Probe:
    """``Probe`` of ``config`` for a training set of ``num_train`` rows."""
    ctx = Context(make_setup(config, num_train), games.get_game(config.game), config, num_train)

    def product(state, batch, keys, u):
        theta, _ = flat_players(state)
        v = field(ctx, state, batch, keys)
        return -jax.jvp(v, (theta,), (jnp.asarray(u, theta.dtype),))[1]

    return Probe(
        ctx, jax.jit(product), jax.jit(lambda state, batch, keys: trap_signs(ctx, state, batch, keys))
    )


def spectrum_at(
    config, state, dataset, k: int, key, num: int = 6, restarts: int = 2, probe: Probe | None = None
) -> dict:
    """The leading eigenvalues of J = d(-v)/d theta (the module doc) at ``state``, on the minibatch, z and
    dropout masks of its next step (``steps.joint_inputs``): ``leading_eigenvalues`` (with each Ritz
    vector's share in G's parameters, ``g_share``), the trap's signs (``trap_signs``; ``d_real`` and
    ``d_fake`` None for a critic, ``saturation`` None unless G's output is a sigmoid) and both optimizers'
    hyper-parameters now (``d_hyper``, ``g_hyper``: the learning rate h, momentum). ``probe``: a
    ``make_probe(config, ...)`` to reuse across states (built here when None)."""
    probe = probe or make_probe(config, int(state.data_perm.shape[0]))
    _, batch, keys = steps.joint_inputs(probe.ctx, state, dataset)
    theta, _ = flat_players(state)
    split = ravel_pytree(state.g_params)[0].size
    dtype = np.dtype(theta.dtype)  # the basis in the parameters' precision
    matvec = lambda u: probe.product(state, batch, keys, u)  # noqa: E731
    out = leading_eigenvalues(matvec, theta.size, k, key, num, restarts, split, dtype)
    out |= {"dim": int(theta.size), "g_dim": int(split)}
    out |= {name: float(x) for name, x in probe.signs(state, batch, keys).items()}
    if not probe.ctx.game.probability:
        out["d_real"] = out["d_fake"] = None
    if models.output_range(config.model) != (0.0, 1.0):
        out["saturation"] = None
    hyper = lambda opt_state: {n: float(x) for n, x in optimizers.hyperparams(opt_state).items()}  # noqa: E731
    return out | {"d_hyper": hyper(state.d_opt_state), "g_hyper": hyper(state.g_opt_state)}
