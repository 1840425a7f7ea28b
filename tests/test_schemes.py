"""The update schemes of gan_jax/game/steps.py against closed forms on a bilinear game.

The Dirac-GAN model (G(z) = theta, D(x) = psi x, data at 0) under the Wasserstein game is the bilinear
game: D's loss E D(G(z)) - E D(x) = psi theta, G's loss -psi theta; D descends theta, G descends -psi.
With plain SGD (paper_sgd without decay or momentum) of step eta each scheme is a linear map of
(theta, psi), written out by hand here in float64 (Gidel et al. 2019, Sec. 3; Daskalakis et al. 2018):

- simultaneous: theta += eta psi, psi -= eta theta; |lambda| = sqrt(1 + eta^2), spiralling out;
- alternating (D first): psi -= eta theta, then theta += eta psi_new; det = 1, a bounded orbit;
- extragradient: the same step from the look-ahead point; |lambda| = sqrt((1 - eta^2)^2 + eta^2) < 1;
- optimistic: 2 g_t - g_{t-1} (g_{-1} = g_0); converges;
- consensus (gamma): gradients + gamma (theta, psi); |lambda| = sqrt((1 - eta gamma)^2 + eta^2);
- alternating with negative momentum beta (heavy ball): converges, where beta = 0 does not.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import tiny_config
from test_train import launch, rows

from gan_jax import config as config_lib
from gan_jax.game import steps
from gan_jax.game.state import create_train_state, make_setup
from gan_jax.training import validation

ETA, STEPS = 0.1, 40


def dirac_config(scheme: str, momentum: float = 0.0, consensus: float = 0.0):
    c = config_lib.get_config()
    c.model, c.data = config_lib.model_config("dirac"), config_lib.data_config("dirac")
    c.game, c.update_scheme, c.d_loss_scale, c.batch_size = "wasserstein", scheme, 1.0, 10
    c.reg.clip = 1e3  # the game needs a Lipschitz constraint; this one never binds here
    c.eval_every = 0  # the Dirac-GAN has no metrics
    c.reg.consensus = consensus
    c.optim.learning_rate, c.optim.lr_decay, c.optim.min_lr = ETA, 1.0, 0.0
    c.optim.momentum_init = c.optim.momentum_final = momentum
    validation.validate(c)
    return c


def trajectory(config, steps_: int = STEPS) -> np.ndarray:
    """(theta, psi) after each of ``steps_`` steps of the real step machinery."""
    x = np.zeros((config.data.num_train, 1), np.float32)
    setup = make_setup(config, len(x))
    state = create_train_state(config, setup, x.mean(0), len(x))
    step = jax.jit(steps.make_step(config, setup, len(x)))
    out = []
    for _ in range(steps_):
        state, _ = step(state, jnp.asarray(x))
        out.append((float(state.g_params["theta"][0]), float(state.d_params["psi"][0])))
    return np.asarray(out)


def reference(update, steps_: int = STEPS) -> np.ndarray:
    """Iterates of ``update(theta, psi, memory) -> (theta, psi, memory)`` from (1, 1) in float64."""
    theta, psi, memory, out = 1.0, 1.0, None, []
    for _ in range(steps_):
        theta, psi, memory = update(theta, psi, memory)
        out.append((theta, psi))
    return np.asarray(out)


def simultaneous(theta, psi, _):
    return theta + ETA * psi, psi - ETA * theta, None


def alternating(theta, psi, _):
    psi = psi - ETA * theta
    return theta + ETA * psi, psi, None


def extragradient(theta, psi, _):
    look_theta, look_psi = theta + ETA * psi, psi - ETA * theta
    return theta + ETA * look_psi, psi - ETA * look_theta, None


def optimistic(theta, psi, prev):
    g = (-psi, theta)  # (dL_G/dtheta, dL_D/dpsi)
    prev = g if prev is None else prev
    return theta - ETA * (2 * g[0] - prev[0]), psi - ETA * (2 * g[1] - prev[1]), g


@pytest.mark.parametrize(
    "scheme, update",
    [("simultaneous", simultaneous), ("alternating", alternating), ("extragradient", extragradient)]
    + [("optimistic", optimistic)],
)
def test_each_scheme_is_its_closed_form_on_the_bilinear_game(scheme, update):
    got, want = trajectory(dirac_config(scheme)), reference(update)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)
    radius = np.hypot(*want.T)
    if scheme == "simultaneous":  # each step multiplies the distance by sqrt(1 + eta^2)
        np.testing.assert_allclose(radius, np.sqrt(2) * (1 + ETA**2) ** (np.arange(1, STEPS + 1) / 2))
    if scheme == "extragradient":
        factor = np.sqrt((1 - ETA**2) ** 2 + ETA**2)
        np.testing.assert_allclose(radius, np.sqrt(2) * factor ** np.arange(1, STEPS + 1))
    if scheme == "alternating":  # det 1: theta^2 + psi^2 - eta theta psi is conserved (D first)
        theta, psi = want.T
        np.testing.assert_allclose(theta**2 + psi**2 - ETA * theta * psi, 2 - ETA, rtol=1e-12)


def test_schemes_diverge_cycle_or_converge_as_the_theory_says():
    ends = {s: np.hypot(*trajectory(dirac_config(s), 300)[-1]) for s in steps.UPDATES}
    assert ends["simultaneous"] > 3 * np.sqrt(2)  # spirals out
    assert 0.5 < ends["alternating"] < 2.5  # stays on its orbit
    assert ends["extragradient"] < 0.4 and ends["optimistic"] < 0.4  # converge (from sqrt(2))


def test_consensus_adds_gamma_times_the_gradient_of_half_the_field_norm():
    gamma = 0.5

    def consensus(theta, psi, _):
        return theta + ETA * (psi - gamma * theta), psi - ETA * (theta + gamma * psi), None

    got = trajectory(dirac_config("simultaneous", consensus=gamma))
    np.testing.assert_allclose(got, reference(consensus), rtol=2e-5, atol=1e-6)
    assert np.hypot(*got[-1]) < 0.5 * np.sqrt(2)  # (1 - eta gamma)^2 + eta^2 < 1: it converges


@pytest.mark.parametrize("beta", [0.0, -0.5])
def test_negative_momentum_makes_alternating_updates_converge(beta):
    """Heavy ball on each player (pylearn2's momentum: inc = beta inc - eta g; param += inc), D first."""

    def heavy_ball(theta, psi, memory):
        inc_theta, inc_psi = memory or (0.0, 0.0)
        inc_psi = beta * inc_psi - ETA * theta
        psi = psi + inc_psi
        inc_theta = beta * inc_theta + ETA * psi
        return theta + inc_theta, psi, (inc_theta, inc_psi)

    got = trajectory(dirac_config("alternating", momentum=beta), 300)
    np.testing.assert_allclose(got, reference(heavy_ball, 300), rtol=1e-4, atol=1e-5)
    end = np.hypot(*got[-1])
    assert (end < 1.0) if beta < 0 else (end > 1.2)


def test_consensus_on_alternating_updates_is_refused():
    with pytest.raises(ValueError, match="joint gradient field"):
        dirac_config("alternating", consensus=0.5)


@pytest.mark.slow  # (the default suite stays under 15 min on 2 cores; `pytest -m slow`)
def test_the_smoke_config_trains_under_extragradient_and_resumes_exactly_under_optimistic(tmp_path):
    """The paper model (smoke size) trains finitely under each new scheme; an optimistic run stopped at
    step 10 and resumed (its previous gradients are in the checkpoint) equals a straight 20-step run."""
    extra = str(tmp_path / "extragradient")
    assert launch(f"--workdir={extra}", "--update=extragradient").returncode == 0
    assert all(np.isfinite(r["d_loss"]) and np.isfinite(r["g_loss"]) for r in rows(extra))
    straight, resumed = str(tmp_path / "straight"), str(tmp_path / "resumed")
    assert launch(f"--workdir={straight}", "--update=optimistic").returncode == 0
    assert launch(f"--workdir={resumed}", "--update=optimistic", "--config.num_steps=10").returncode == 0
    proc = launch(f"--workdir={resumed}", "--update=optimistic")
    assert proc.returncode == 0, proc.stderr
    assert rows(resumed) == rows(straight)


def test_unknown_scheme_names_the_choices():
    config = tiny_config(update_scheme="gradient_ascent")
    with pytest.raises(ValueError, match="simultaneous, alternating, extragradient, optimistic"):
        validation.validate(config)
