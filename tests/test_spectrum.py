"""gan_jax/analysis/spectrum.py against dense references: the matrix-free J u against jax.jacfwd and central
differences, Arnoldi's Ritz values against numpy's eigenvalues, and the Dirac-GAN's Jacobian by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from gan_jax import config as config_lib
from gan_jax.analysis import spectrum
from gan_jax.data import datasets
from gan_jax.game import games, steps
from gan_jax.game.state import create_train_state, make_setup
from gan_jax.game.updates import Context

KEY = jax.random.PRNGKey(0)


def sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def prescribed(values, seed: int) -> np.ndarray:
    """A real non-symmetric matrix S B S^-1 with eigenvalues ``values`` (a complex a + bi followed by its
    conjugate becomes the block [[a, b], [-b, a]]), S a well-conditioned random matrix."""
    n = len(values)
    b, i = np.zeros((n, n)), 0
    while i < n:
        lam = complex(values[i])
        if lam.imag:
            assert np.isclose(complex(values[i + 1]), lam.conjugate())
            b[i : i + 2, i : i + 2] = [[lam.real, lam.imag], [-lam.imag, lam.real]]
            i += 2
        else:
            b[i, i] = lam.real
            i += 1
    s = np.eye(n) + 0.3 * np.random.default_rng(seed).standard_normal((n, n)) / np.sqrt(n)
    return s @ b @ np.linalg.inv(s)


def matched_gap(a, b) -> float:
    """The largest distance between the sets a and b (len(a) <= len(b)) under the best one-to-one match."""
    d = np.abs(np.asarray(a)[:, None] - np.asarray(b)[None, :])
    rows, cols = linear_sum_assignment(d)
    return float(d[rows, cols].max())


def game_setup(config):
    """(ctx, state, dataset) of ``config``'s initial state, its parameters in float64 (call under x64)."""
    x = datasets.load_dataset(config.data)["train"][0]
    setup = make_setup(config, len(x))
    state = create_train_state(config, setup, np.zeros(config.model.data_dim, np.float32), len(x))
    f64 = lambda tree: jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), tree)  # noqa: E731
    state = state.replace(g_params=f64(state.g_params), d_params=f64(state.d_params))
    ctx = Context(setup, games.get_game(config.game), config, len(x))
    return ctx, state, jnp.asarray(x, jnp.float64)


def tiny_mlp_config():
    """The toy 'mlp' pair at widths 8 on the ring: 42 G and 33 D parameters."""
    c = config_lib.get_config()
    c.model = config_lib.model_config("mlp")
    c.model.g_hidden, c.model.d_hidden = (8,), (8,)
    c.data = config_lib.data_config("ring")
    c.data.num_train, c.batch_size = 64, 16
    return c


@pytest.fixture(scope="module")
def mlp_field():
    """(v, theta, dense J = dv/dtheta) of the tiny MLP game at its initial state, float64."""
    with jax.enable_x64(True):  # (left before returning: the other tests run in float32 as usual)
        ctx, state, dataset = game_setup(tiny_mlp_config())
        _, batch, keys = steps.joint_inputs(ctx, state, dataset)
        v = spectrum.field(ctx, state, batch, keys)
        theta, _ = spectrum.flat_players(state)
        return v, theta, np.asarray(jax.jacfwd(v)(theta))


# --- (a) the matrix-free products ------------------------------------------------------------------


def test_jvp_and_vjp_match_the_dense_jacobian_and_central_differences(mlp_field):
    v, theta, dense = mlp_field
    with jax.enable_x64(True):
        assert theta.dtype == jnp.float64 and dense.shape == (75, 75)
        u = np.random.default_rng(0).standard_normal(theta.size)
        ju = np.asarray(spectrum.jvp(v, theta)(u))
        np.testing.assert_allclose(ju, dense @ u, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(np.asarray(spectrum.vjp(v, theta)(u)), dense.T @ u, rtol=1e-10, atol=1e-13)
        # independent of autodiff: (v(theta + e u) - v(theta - e u)) / 2e = J u + O(e^2)
        eps = 1e-6
        central = (np.asarray(v(theta + eps * u)) - np.asarray(v(theta - eps * u))) / (2 * eps)
        np.testing.assert_allclose(central, ju, rtol=1e-5, atol=1e-8 * np.abs(ju).max())
        # a negative control: the product is not J^T u (the game's Jacobian is not symmetric)
        assert np.abs(ju - dense.T @ u).max() > 1e-3 * np.abs(ju).max()


# --- (b) Arnoldi against numpy's eigenvalues of the dense Jacobian ---------------------------------


def test_arnoldi_with_k_equal_dim_gives_the_dense_eigenvalues(mlp_field):
    v, theta, dense = mlp_field
    with jax.enable_x64(True):
        product = spectrum.jvp(v, theta)
        a = spectrum.arnoldi(lambda u: -product(u), theta.size, theta.size, KEY, dtype=np.float64)
    eigs = np.linalg.eigvals(-dense)
    scale = np.abs(eigs).max()
    # A Krylov space from one vector holds one eigenvector per eigenvalue, so an eigenvalue of geometric
    # multiplicity m costs m - 1 dimensions: Arnoldi stops at dim - (nullity - 1) when 0 is the only
    # repeated eigenvalue, and what it misses is that 0.
    nullity = theta.size - np.linalg.matrix_rank(dense)
    assert len(a.values) == theta.size - max(nullity - 1, 0)
    assert matched_gap(a.values, eigs) < 1e-12 * scale
    missing = len(eigs) - len(a.values)
    if missing:
        assert np.sort(np.abs(eigs))[:nullity].max() < 1e-12 * scale
    assert np.all(a.residuals < 1e-10 * scale)


def test_arnoldi_largest_modulus_converges_below_dim_with_a_spectral_gap():
    # eigenvalue 10 beside 199 in [-1, 1]: the error of the Ritz value shrinks like (1/10)^k
    n = 200
    values = [10.0] + list(np.random.default_rng(1).uniform(-1, 1, n - 1))
    a_mat = prescribed(values, 2)
    errors = []
    for k in (4, 8, 16):
        a = spectrum.arnoldi(lambda u: a_mat @ u, n, k, KEY, dtype=np.float64)
        i = np.argmax(np.abs(a.values))
        errors.append(abs(a.values[i] - 10.0))
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-9


# --- (c) the Dirac-GAN: the Jacobian by hand ------------------------------------------------------


def dirac_config(game: str, theta0: float, psi0: float, consensus: float = 0.0, d_scale: float = 1.0):
    c = config_lib.get_config()
    c.model = config_lib.model_config("dirac")
    c.data = config_lib.data_config("dirac")
    c.model.theta0, c.model.psi0 = theta0, psi0
    c.game, c.reg.consensus, c.d_loss_scale = game, consensus, d_scale
    return c


def dirac_spectrum(config) -> dict:
    with jax.enable_x64(True):
        _, state, dataset = game_setup(config)
        return spectrum.spectrum_at(config, state, dataset, 2, KEY, num=2, restarts=1)


def eigen(out: dict, which: str) -> np.ndarray:
    return np.sort_complex(np.array(out[which]["re"]) + 1j * np.array(out[which]["im"]))


@pytest.mark.parametrize("gamma", [0.0, 0.5])
def test_dirac_wasserstein_rotation_and_the_consensus_shift(gamma):
    # G(z) = theta, D(x) = psi x, p_data = delta_0, d_loss_scale s = 1: L_D = s psi theta, L_G = -psi theta,
    # v = (dL_G/dtheta, dL_D/dpsi) = (-psi, s theta), J_v = [[0, -1], [s, 0]], and J = -J_v has
    # lambda^2 + s = 0: lambda = +- i. Consensus adds gamma J_v^T v to v; J_v is constant, so
    # d(v + gamma J_v^T v) = J_v + gamma J_v^T J_v = J_v + gamma I (J_v^T J_v = I): lambda = -gamma +- i.
    out = dirac_spectrum(dirac_config("wasserstein", 1.0, 1.0, consensus=gamma))
    expected = np.array([-gamma - 1j, -gamma + 1j])
    for which in ("modulus", "real"):
        np.testing.assert_allclose(eigen(out, which), expected, atol=1e-12)
    # at (theta, psi) = (1, 1): v = (-1, 1) and J_v^T v = (theta, psi) = (1, 1), so the field with consensus
    # is (gamma - 1, 1 + gamma); a critic's output is no probability: no D(G(z))
    assert out["v_norm"] == pytest.approx(np.hypot(gamma - 1.0, 1.0 + gamma), rel=1e-12)
    assert out["g_grad_norm"] == pytest.approx(abs(gamma - 1.0), abs=1e-12)
    assert out["d_fake"] is None and out["saturation"] is None
    assert out["dim"] == 2 and out["g_dim"] == 1


@pytest.mark.parametrize("d_scale", [1.0, 0.5])
def test_dirac_nonsaturating_at_the_equilibrium(d_scale):
    # at (0, 0): dL_G/dtheta = -psi sigmoid(-psi theta) -> row (0, -1/2); dL_D/dpsi = s theta sigmoid(psi
    # theta) (the real term's derivative is 0 x ...) -> row (s/2, 0); J = -J_v: lambda = +- i sqrt(s)/2
    out = dirac_spectrum(dirac_config("nonsaturating", 0.0, 0.0, d_scale=d_scale))
    root = np.sqrt(d_scale) / 2
    np.testing.assert_allclose(eigen(out, "modulus"), [-1j * root, 1j * root], atol=1e-12)
    assert out["v_norm"] == pytest.approx(0.0, abs=1e-15)
    assert out["d_fake"] == pytest.approx(0.5, abs=1e-12)


def test_dirac_nonsaturating_trap_signs_off_the_equilibrium():
    # at (theta, psi) = (1, 1), s = 1: v = (-sigmoid(-1), sigmoid(1)) (G: -psi sigmoid(-psi theta);
    # D: s theta sigmoid(psi theta)); D(G(z)) = sigmoid(psi theta) = sigmoid(1)
    out = dirac_spectrum(dirac_config("nonsaturating", 1.0, 1.0))
    assert out["g_grad_norm"] == pytest.approx(sigmoid(-1.0), rel=1e-12)
    assert out["d_grad_norm"] == pytest.approx(sigmoid(1.0), rel=1e-12)
    assert out["v_norm"] == pytest.approx(np.hypot(sigmoid(-1.0), sigmoid(1.0)), rel=1e-12)
    assert out["d_fake"] == pytest.approx(sigmoid(1.0), rel=1e-12)


# --- (d) Arnoldi on known non-symmetric matrices ---------------------------------------------------


def test_arnoldi_recovers_prescribed_complex_eigenvalues_and_its_factorisation_holds():
    values = [5.0, -3.0, 2 + 1j, 2 - 1j, 0.5 + 4j, 0.5 - 4j] + list(np.linspace(-1, 1, 24))
    a_mat = prescribed(values, 0)
    n = len(values)
    full = spectrum.arnoldi(lambda u: a_mat @ u, n, n, KEY, dtype=np.float64)
    assert len(full.values) == n and matched_gap(full.values, values) < 1e-9
    part = spectrum.arnoldi(lambda u: a_mat @ u, n, 10, KEY, dtype=np.float64)
    v_k, v_k1 = part.basis[:10], part.basis
    np.testing.assert_allclose(v_k1 @ v_k1.T, np.eye(11), atol=1e-13)  # orthonormal rows
    np.testing.assert_allclose(a_mat @ v_k.T, v_k1.T @ part.hessenberg, atol=1e-12)  # A V_k = V_k+1 H
    assert np.allclose(np.tril(part.hessenberg, -2), 0.0)  # upper Hessenberg
    # the residual estimate |h_{k+1,k}| |e_k^T y| is the true ||A x - lambda x|| of each unit Ritz vector
    x = spectrum.ritz_vectors(part, range(10))
    true = np.linalg.norm(x @ a_mat.T - part.values[:, None] * x, axis=1)
    np.testing.assert_allclose(part.residuals, true, rtol=1e-8, atol=1e-13)


def test_restarts_converge_to_the_rightmost_eigenvalue_inside_the_spectrum():
    # rightmost 0.3, but |lambda| up to 8 on the pairs -1 +- 4i, 6i, 8i and a disk of 193 eigenvalues
    # (radius 1.25 around -1, reaching Re 0.25): plain Arnoldi's Ritz values favour the outer edge
    rng = np.random.default_rng(1)
    values = [0.3] + [c for b in (8, 6, 4) for c in (complex(-1, b), complex(-1, -b))]
    while len(values) < 199:
        z = -1 + 1.25 * np.sqrt(rng.uniform()) * np.exp(1j * rng.uniform(0, np.pi))
        values += [z, z.conjugate()]
    values.append(-1.0)
    a_mat = prescribed(values, 0)
    errors = []
    for restarts in (0, 2, 5):
        out = spectrum.leading_eigenvalues(
            lambda u: a_mat @ u, 200, 20, KEY, num=3, restarts=restarts, dtype=np.float64
        )
        errors.append(abs(out["real"]["re"][0] + 1j * out["real"]["im"][0] - 0.3))
        assert out["products"] == 20 * (restarts + 1)
    assert errors[0] > 100 * errors[2] and errors[2] < 1e-5
