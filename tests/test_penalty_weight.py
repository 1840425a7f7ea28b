"""A penalty weighs its lambda or gamma / 2 against the game's D loss as its paper writes it, whatever
``d_loss_scale``: L_D = d_loss_scale * (L_game + penalties) (docs/games.md). Checked by value on the
Dirac-GAN (G(z) = theta, D(x) = psi x, data at 0), where every term is a closed form."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import config as config_lib
from gan_jax.game import steps
from gan_jax.game.state import create_train_state, make_setup
from gan_jax.training import validation

THETA, PSI, LR, SCALE = 0.5, 2.0, 0.01, 0.5


def softplus(x: float) -> float:
    return float(np.log1p(np.exp(x)))


def sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def dirac_step(game: str, **reg):
    """D's loss and its new psi after one simultaneous step of plain SGD from (THETA, PSI)."""
    c = config_lib.get_config()
    c.model, c.data = config_lib.model_config("dirac"), config_lib.data_config("dirac")
    c.model.theta0, c.model.psi0 = THETA, PSI
    c.game, c.d_loss_scale, c.batch_size, c.eval_every = game, SCALE, 10, 0
    c.optim.learning_rate, c.optim.lr_decay, c.optim.min_lr = LR, 1.0, 0.0
    c.optim.momentum_init = c.optim.momentum_final = 0.0
    c.reg.update(reg)
    validation.validate(c)
    x = np.zeros((c.data.num_train, 1), np.float32)
    setup = make_setup(c, len(x))
    state = create_train_state(c, setup, x.mean(0), len(x))
    new, metrics = jax.jit(steps.make_step(c, setup, len(x)))(state, jnp.asarray(x))
    return float(metrics["d_loss"]), float(new.d_params["psi"][0])


# Real logits psi * 0 = 0, fake logits psi * theta; D's input gradient is psi at every point:
# R1 = R2 = psi^2, GP = (|psi| - 1)^2. (loss, dloss/dpsi) of the game, by hand:
NONSATURATING = (np.log(2.0) + softplus(PSI * THETA), THETA * sigmoid(PSI * THETA))
WASSERSTEIN = (PSI * THETA, THETA)  # E l_f - E l_r
CASES = {
    "r1 gamma 4": ("nonsaturating", {"r1_gamma": 4.0}, NONSATURATING, (2.0 * PSI**2, 4.0 * PSI)),
    "r1 + r2 gamma 2, 6": (
        "nonsaturating",
        {"r1_gamma": 2.0, "r2_gamma": 6.0},
        NONSATURATING,
        (4.0 * PSI**2, 8.0 * PSI),
    ),
    "gp lambda 10": (
        "wasserstein",
        {"gp_weight": 10.0},
        WASSERSTEIN,
        (10.0 * (PSI - 1) ** 2, 20.0 * (PSI - 1)),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_penalty_weighs_its_documented_weight_against_the_game(name):
    game, reg, (game_loss, game_grad), (penalty, penalty_grad) = CASES[name]
    d_loss, psi = dirac_step(game, **reg)
    np.testing.assert_allclose(d_loss, SCALE * (game_loss + penalty), rtol=1e-6)
    np.testing.assert_allclose(psi, PSI - LR * SCALE * (game_grad + penalty_grad), rtol=1e-6)
    # the previous convention, the penalty added after the scale (twice its weight at 0.5), is not it
    assert abs(d_loss - (SCALE * game_loss + penalty)) > 0.1
