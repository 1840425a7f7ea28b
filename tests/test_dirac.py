"""The Dirac-GAN (Mescheder, Geiger & Nowozin 2018) against hand-derived closed forms.

Convention (gan_jax.analysis.dirac): z = (theta, psi), v = (-dL_G/dtheta, -dL_D/dpsi), D(x) = psi x a logit of
"real". With the paper's f(t) = -log(1 + e^-t) (f'(0) = 1/2, f''(0) = -1/4) the minimax game is
L_D = softplus(psi theta) + log 2, L_G = -softplus(psi theta), so by hand

    v = sigmoid(psi theta) (psi, -theta),      J(0) = [[0, a], [-a, 0]],  a = f'(0) = 1/2,

the paper's [[0, -f'(0)], [f'(0), 0]] (Sec. 2.2) with psi -> -psi: S J_paper S, S = diag(1, -1), same
eigenvalues +- i a. The non-saturating G loss softplus(-psi theta) gives v_theta = psi sigmoid(-psi theta),
the same J(0). Wasserstein: L_D = psi theta, L_G = -psi theta, v = (psi, -theta), a = 1.
"""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from gan_jax.analysis import dirac

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
H, STEPS, TOL = 0.2, 2000, 1e-3  # the authors' notebook step size; the script's defaults
Z0 = jnp.asarray([1.0, 1.0])


def jac64(game, reg, weight):
    with jax.enable_x64(True):
        return np.asarray(dirac.jacobian(game, reg, weight, jnp.zeros(2, jnp.float64)))


def pair(mean, root):
    """mean -+ root, sorted as dirac.eigenvalues sorts (imaginary, then real part)."""
    values = [complex(mean) - root, complex(mean) + root]
    return np.array(sorted(values, key=lambda c: (round(c.imag, 12), round(c.real, 12))))


# --- (a) the Jacobian at the equilibrium -----------------------------------------------------------


@pytest.mark.parametrize("game", ["minimax", "nonsaturating"])
def test_unregularised_gan_jacobian_is_the_papers_up_to_the_sign_of_psi(game):
    a = 0.5
    j_paper = np.array([[0.0, -a], [a, 0.0]])
    s = np.diag([1.0, -1.0])
    j = jac64(game, "none", 0.0)
    np.testing.assert_allclose(j, s @ j_paper @ s, atol=1e-12)
    np.testing.assert_allclose(dirac.eigenvalues(j), [-0.5j, 0.5j], atol=1e-12)  # purely imaginary


@pytest.mark.parametrize("reg", ["r1", "r2"])
@pytest.mark.parametrize("gamma", [0.3, 1.0, 2.5])  # complex, critical (gamma = 2a: double), real
def test_zero_centred_penalty_jacobian(reg, gamma):
    # (gamma/2) E||grad_x D||^2 = (gamma/2) psi^2 on real and on fake samples alike, so
    # v_psi gains -gamma psi: J = [[0, a], [-a, -gamma]], det(J - l) = l^2 + gamma l + a^2,
    # l = -gamma/2 +- sqrt(gamma^2/4 - a^2) (the paper's Sec. 3 eigenvalues).
    a = 0.5
    j = jac64("minimax", reg, gamma)
    np.testing.assert_allclose(j, [[0.0, a], [-a, -gamma]], atol=1e-12)
    root = np.sqrt(complex(gamma**2 / 4 - a**2))
    np.testing.assert_allclose(dirac.eigenvalues(j), pair(-gamma / 2, root), atol=1e-7)


def test_wasserstein_jacobian_has_f_prime_one():
    # f(t) = t: f'(0) = 1, J = [[0, 1], [-1, 0]], eigenvalues +- i; with R1, -gamma/2 +- sqrt(gamma^2/4 - 1).
    np.testing.assert_allclose(jac64("wasserstein", "none", 0.0), [[0.0, 1.0], [-1.0, 0.0]], atol=1e-12)
    gamma = 0.3
    j = jac64("wasserstein", "r1", gamma)
    np.testing.assert_allclose(
        dirac.eigenvalues(j), pair(-gamma / 2, np.sqrt(complex(gamma**2 / 4 - 1))), atol=1e-12
    )


@pytest.mark.parametrize("sigma", [0.7, 1.5])
def test_instance_noise_jacobian(sigma):
    # L_D = E softplus(-psi e_r) + E softplus(psi (theta + e_f)), e ~ N(0, sigma^2):
    # d2 L_D / dpsi2 at 0 = sigmoid'(0) (E e_r^2 + E e_f^2) = 2 sigma^2 / 4 = -2 f''(0) sigma^2,
    # the cross terms are sigmoid(0) = a as before, so J = [[0, a], [-a, 2 f''(0) sigma^2]] and
    # l = f''(0) sigma^2 +- sqrt(f''(0)^2 sigma^4 - f'(0)^2) (the paper's instance-noise lemma, Sec. 3).
    a, f2 = 0.5, -0.25
    j = jac64("minimax", "instance_noise", sigma)
    np.testing.assert_allclose(j, [[0.0, a], [-a, 2 * f2 * sigma**2]], atol=1e-12)
    root = np.sqrt(complex(f2**2 * sigma**4 - a**2))
    np.testing.assert_allclose(dirac.eigenvalues(j), pair(f2 * sigma**2, root), atol=1e-7)


@pytest.mark.parametrize("game, a", [("minimax", 0.5), ("wasserstein", 1.0)])
def test_consensus_jacobian(game, a):
    # w = v - gamma J^T v, so at v = 0: J_w = J - gamma J^T J = J - gamma a^2 I (J^T J = a^2 I):
    # l = -gamma a^2 +- i a (the paper's consensus-optimisation eigenvalues, Sec. 3).
    gamma = 1.0
    j = jac64(game, "consensus", gamma)
    np.testing.assert_allclose(j, [[-gamma * a**2, a], [-a, -gamma * a**2]], atol=1e-12)
    np.testing.assert_allclose(dirac.eigenvalues(j), pair(-gamma * a**2, 1j * a), atol=1e-12)


# --- the field away from the equilibrium -----------------------------------------------------------


def test_field_closed_forms():
    # minimax: z.v = 0 (theta^2 + psi^2 is constant along the flow, the paper's Sec. 2.2);
    # non-saturating: z.v = psi theta (sigmoid(-t) - sigmoid(t)) = -t tanh(t/2), t = psi theta;
    # gp on WGAN, (gamma/2)(|psi| - 1)^2: v = (psi, -theta - gamma (|psi| - 1) sign psi), which the
    # authors' notebook writes as v2 = theta - reg (|psi| - target) sign psi in the paper's sign of psi.
    points = np.array([[0.3, -1.2], [1.5, 0.7], [-0.8, -0.4]])
    with jax.enable_x64(True):
        for theta, psi in points:
            z = jnp.asarray([theta, psi])
            t = psi * theta
            assert float(z @ dirac.field("minimax", "none", 0.0, z)) == pytest.approx(0.0, abs=1e-14)
            ns = float(z @ dirac.field("nonsaturating", "none", 0.0, z))
            assert ns == pytest.approx(-t * np.tanh(t / 2), abs=1e-14)
            gp = np.asarray(dirac.field("wasserstein", "gp", 0.7, z))
            np.testing.assert_allclose(gp, [psi, -theta - 0.7 * (abs(psi) - 1) * np.sign(psi)], atol=1e-12)


def test_instance_noise_expectation_matches_numerical_integration():
    theta, psi, sigma = 0.7, -0.4, 0.7
    pdf = lambda e: np.exp(-0.5 * (e / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))  # noqa: E731
    real = integrate.quad(lambda e: pdf(e) * np.logaddexp(0.0, -psi * e), -np.inf, np.inf)[0]
    fake = integrate.quad(lambda e: pdf(e) * np.logaddexp(0.0, psi * (theta + e)), -np.inf, np.inf)[0]
    with jax.enable_x64(True):
        _, l_d = dirac.losses("minimax", "instance_noise", sigma, jnp.asarray([theta, psi]))
    assert float(l_d) == pytest.approx(real + fake, abs=1e-10)


# --- (b) the bilinear game f(x, y) = x y: x descends f, y ascends it, v = (-y, x) -----------------
# As a complex number w = x + i y, v(w) = i w, so every scheme is a linear recurrence in w.


def bilinear(z):
    return jnp.stack([-z[1], z[0]])


def run64(v, scheme, eta, steps, z0=(1.0, 0.5)):
    with jax.enable_x64(True):
        zs = dirac.trajectory(v, scheme, jnp.asarray(z0, jnp.float64), eta, steps)
        return np.asarray(zs)


@pytest.mark.parametrize("eta", [0.1, 0.3])
def test_bilinear_simultaneous_and_extragradient_norm_factors(eta):
    # simultaneous: w <- (1 + i eta) w, |.| = sqrt(1 + eta^2) > 1;
    # extragradient: w <- w + i eta (w + i eta w) = (1 - eta^2 + i eta) w,
    # |.| = sqrt((1 - eta^2)^2 + eta^2) < 1.
    for scheme, factor in [
        ("simultaneous", np.sqrt(1 + eta**2)),
        ("extragradient", np.hypot(1 - eta**2, eta)),
    ]:
        norms = np.linalg.norm(run64(bilinear, scheme, eta, 200), axis=1)
        np.testing.assert_allclose(norms[1:] / norms[:-1], factor, rtol=1e-12)


@pytest.mark.parametrize("eta", [0.1, 0.5])
def test_bilinear_alternating_conserves_its_invariant(eta):
    # D (y) first: y' = y + eta x, then x' = x - eta y' = (1 - eta^2) x - eta y. With
    # x'^2 = (1-eta^2)^2 x^2 - 2 eta (1-eta^2) x y + eta^2 y^2, y'^2 = eta^2 x^2 + 2 eta x y + y^2 and
    # x' y' = eta (1-eta^2) x^2 + (1 - 2 eta^2) x y - eta y^2, Q = x^2 + y^2 + eta x y has
    # Q' coefficients: x^2: (1-eta^2)^2 + eta^2 + eta^2 (1-eta^2) = 1; y^2: eta^2 + 1 - eta^2 = 1;
    # x y: -2 eta (1-eta^2) + 2 eta + eta (1 - 2 eta^2) = eta. So Q' = Q: a bounded orbit, no convergence.
    zs = run64(bilinear, "alternating", eta, 1000)
    x, y = zs[:, 0], zs[:, 1]
    invariant = x**2 + y**2 + eta * x * y
    np.testing.assert_allclose(invariant, invariant[0], rtol=1e-12)
    assert np.ptp(x**2 + y**2) > 0.02 * eta  # negative control: the plain norm is not conserved


@pytest.mark.parametrize("eta", [0.1, 0.3])
def test_bilinear_optimistic_closed_form(eta):
    # w_{t+1} = w_t + i eta (2 w_t - w_{t-1}), w_{-1} = w_0: lambda^2 - (1 + 2 i eta) lambda + i eta = 0,
    # discriminant (1 + 2 i eta)^2 - 4 i eta = 1 - 4 eta^2, so lambda_+- = (1 + 2 i eta +- s) / 2,
    # s = sqrt(1 - 4 eta^2); |lambda_+|^2 = ((1 + s)/2)^2 + eta^2 = (1 + s)/2 < 1: the iterates converge.
    s = np.sqrt(1 - 4 * eta**2)
    lp, lm = (1 + 2j * eta + s) / 2, (1 + 2j * eta - s) / 2
    w0 = 1.0 + 0.5j
    w1 = (1 + 1j * eta) * w0
    amp = (w1 - lm * w0) / (lp - lm)
    t = np.arange(301)
    expected = amp * lp**t + (w0 - amp) * lm**t
    zs = run64(bilinear, "optimistic", eta, 300)
    np.testing.assert_allclose(zs[:, 0] + 1j * zs[:, 1], expected, atol=1e-12)
    assert abs(lp) == pytest.approx(np.sqrt((1 + s) / 2)) and abs(lp) < 1
    assert np.linalg.norm(zs[-1]) < 0.5 * abs(w0)


# --- the Dirac-GAN under the schemes: exact per-step closed forms ----------------------------------


def test_dirac_simultaneous_growth_is_exact():
    # minimax: z' = z + h s (psi, -theta), s = sigmoid(psi theta): z.v = 0, |v| = s |z|, so
    # |z'|^2 = |z|^2 (1 + h^2 s^2) every step (the norm grows monotonically, the paper's Sec. 2.2);
    # wasserstein: s = 1, |z'| = sqrt(1 + h^2) |z|.
    zs = np.asarray(dirac.simulate("minimax", "none", 0.0, "simultaneous", Z0, H, STEPS), np.float64)
    sq = np.sum(zs**2, axis=1)
    s = 1.0 / (1.0 + np.exp(-zs[:-1, 0] * zs[:-1, 1]))
    np.testing.assert_allclose(sq[1:] / sq[:-1], 1 + H**2 * s**2, rtol=1e-5)
    zs = np.asarray(dirac.simulate("wasserstein", "none", 0.0, "simultaneous", Z0, H, 50), np.float64)
    norms = np.linalg.norm(zs, axis=1)
    np.testing.assert_allclose(norms[1:] / norms[:-1], np.sqrt(1 + H**2), rtol=1e-5)


def test_dirac_wasserstein_alternating_and_extragradient_closed_forms():
    # v = (psi, -theta) is the bilinear game with x = theta, y = psi and eta -> -h (D first:
    # psi' = psi - h theta, theta' = theta + h psi'): theta^2 + psi^2 - h theta psi is conserved, the
    # orbit neither converges nor diverges; extragradient contracts by sqrt((1 - h^2)^2 + h^2) per step.
    zs = np.asarray(dirac.simulate("wasserstein", "none", 0.0, "alternating", Z0, H, STEPS), np.float64)
    q = zs[:, 0] ** 2 + zs[:, 1] ** 2 - H * zs[:, 0] * zs[:, 1]
    np.testing.assert_allclose(q, q[0], rtol=1e-4)
    zs = np.asarray(dirac.simulate("wasserstein", "none", 0.0, "extragradient", Z0, H, 50), np.float64)
    norms = np.linalg.norm(zs, axis=1)
    np.testing.assert_allclose(norms[1:] / norms[:-1], np.hypot(1 - H**2, H), rtol=1e-5)


# --- (c) the paper's qualitative results (Mescheder et al. 2018; abstract, Sec. 2-4, Fig. 3) -------


def final_distance(game, reg, scheme):
    zs = dirac.simulate(game, reg, dirac.DEFAULT_WEIGHTS[reg], scheme, Z0, H, STEPS)
    return float(jnp.linalg.norm(zs[-1]))


@pytest.mark.parametrize("game", ["minimax", "wasserstein"])
def test_unregularised_training_does_not_converge(game):
    # Unregularised GAN and WGAN: neither simultaneous nor alternating GD converges (Sec. 2.2, 3.1).
    for scheme in ("simultaneous", "alternating"):
        assert final_distance(game, "none", scheme) > 0.5


@pytest.mark.parametrize("reg", ["r1", "r2", "instance_noise", "consensus"])
def test_regularised_gan_converges(reg):
    # Instance noise, zero-centred gradient penalties and consensus optimisation converge (Sec. 3-4).
    for scheme in ("simultaneous", "alternating"):
        assert final_distance("minimax", reg, scheme) < TOL


@pytest.mark.parametrize("reg", ["gp", "clip"])
def test_wgan_gp_and_clipped_wgan_do_not_converge(reg):
    # "WGAN and WGAN-GP with a finite number of discriminator updates per generator update do not
    # always converge to the equilibrium point" (abstract; Sec. 3).
    for scheme in ("simultaneous", "alternating"):
        assert final_distance("wasserstein", reg, scheme) > 0.5


# --- the script, end to end ---------------------------------------------------------------------


def test_script_writes_eigenvalues_and_convergence(tmp_path):
    regs = ["none", "r1"]
    cmd = [
        sys.executable,
        "experiments/scripts/dirac_gan.py",
        f"--out={tmp_path}",
        "--games=wasserstein",
        f"--regularisers={','.join(regs)}",
        "--num_steps=3",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(tmp_path / "eigenvalues.json") as f:
        table = json.load(f)
    assert set(table) == {"wasserstein/none", "wasserstein/r1"}
    for reg in regs:
        entry = table[f"wasserstein/{reg}"]
        assert set(entry) == {"weight", "eigenvalues"} and entry["weight"] == dirac.DEFAULT_WEIGHTS[reg]
        values = np.array([complex(re, im) for re, im in entry["eigenvalues"]])
        np.testing.assert_array_equal(
            values, dirac.eigenvalues(dirac.jacobian("wasserstein", reg, entry["weight"]))
        )
    gamma = dirac.DEFAULT_WEIGHTS["r1"]
    got = [complex(*p) for p in table["wasserstein/r1"]["eigenvalues"]]
    np.testing.assert_allclose(got, pair(-gamma / 2, np.sqrt(complex(gamma**2 / 4 - 1))), atol=1e-6)
    with open(tmp_path / "convergence.json") as f:
        runs = json.load(f)["runs"]
    assert set(runs) == {f"wasserstein/{r}/{s}" for r in regs for s in dirac.SCHEMES}
    assert all(set(r) == {"converged", "final_distance"} for r in runs.values())
    assert not runs["wasserstein/none/simultaneous"]["converged"]  # 3 steps: nothing has converged
    assert (tmp_path / "wasserstein.png").stat().st_size > 10_000
