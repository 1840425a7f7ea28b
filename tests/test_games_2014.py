"""The 2014 code's other game formulations (goodfeli/adversarial: ThresholdedAdversaryCost,
LazyAdversaryCost, AdversaryCost2's blend_obj) against their losses written out in float64 numpy, and
their gradients: what each mask keeps moves, what it drops does not."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax.game import games

REAL = np.array([-2.0, -0.5, 0.3, 1.7])
FAKE = np.array([-1.2, -0.1, 0.4, 2.2])


def softplus(x):
    return np.log1p(np.exp(x))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def values(name):
    game = games.GAMES[name]
    with jax.enable_x64():
        r, f = jnp.asarray(REAL), jnp.asarray(FAKE)
        d = float(game.d_loss(real_logits=r, fake_logits=f))
        g, (g_real, g_fake) = jax.value_and_grad(
            lambda r, f: game.g_loss(real_logits=r, fake_logits=f), argnums=(0, 1)
        )(r, f)
        d_grads = jax.grad(lambda r, f: game.d_loss(real_logits=r, fake_logits=f), argnums=(0, 1))(r, f)
    return d, float(g), np.asarray(g_fake), [np.asarray(x) for x in d_grads], np.asarray(g_real)


def test_thresholded_g_learns_only_from_rejected_fakes():
    d, g, g_fake, _, _ = values("thresholded")
    rejected = FAKE < 0  # D(G(z)) < 1/2
    np.testing.assert_allclose(g, np.sum(softplus(-FAKE[rejected])) / len(FAKE), rtol=1e-12)
    np.testing.assert_allclose(g_fake, np.where(rejected, (sigmoid(FAKE) - 1) / len(FAKE), 0.0), rtol=1e-12)
    np.testing.assert_allclose(d, np.mean(softplus(-REAL)) + np.mean(softplus(FAKE)), rtol=1e-12)


def test_lazy_d_learns_only_from_its_mistakes():
    d, g, _, (d_real, d_fake), _ = values("lazy")
    wrong_real, wrong_fake = REAL < 0, FAKE > 0
    want = np.sum(softplus(-REAL[wrong_real])) / len(REAL) + np.sum(softplus(FAKE[wrong_fake])) / len(FAKE)
    np.testing.assert_allclose(d, want, rtol=1e-12)
    np.testing.assert_allclose(d_real, np.where(wrong_real, (sigmoid(REAL) - 1) / len(REAL), 0.0), rtol=1e-12)
    np.testing.assert_allclose(d_fake, np.where(wrong_fake, sigmoid(FAKE) / len(FAKE), 0.0), rtol=1e-12)
    np.testing.assert_allclose(g, np.sum(softplus(-FAKE[FAKE < 0])) / len(FAKE), rtol=1e-12)


def test_blend_mixes_the_non_saturating_and_minimax_gradients():
    _, g, g_fake, _, g_real = values("blend")
    d_objective = 0.5 * (np.mean(softplus(-REAL)) + np.mean(softplus(FAKE)))
    np.testing.assert_allclose(g, 0.5 * (np.mean(softplus(-FAKE)) - d_objective), rtol=1e-12)
    # d/dl_f: (NS's sigmoid - 1 and minus half of D's sigmoid) / 2, per fake
    want = 0.5 * ((sigmoid(FAKE) - 1) - 0.5 * sigmoid(FAKE)) / len(FAKE)
    np.testing.assert_allclose(g_fake, want, rtol=1e-12)
    assert np.all(g_real != 0)  # the value reads the real logits; G's parameters never reach them


@pytest.mark.parametrize("name", ["thresholded", "lazy", "blend"])
def test_the_new_games_train_a_step(name):
    from conftest import tiny_config

    from gan_jax.game import steps
    from gan_jax.game.state import create_train_state, make_setup

    config = tiny_config(game=name)
    images = np.random.default_rng(0).uniform(size=(200, config.model.data_dim)).astype(np.float32)
    setup = make_setup(config, 200)
    state = create_train_state(config, setup, images.mean(0), 200)
    new, metrics = jax.jit(steps.make_step(config, setup, 200))(state, jnp.asarray(images))
    assert int(new.step) == 1 and int(new.nonfinite_step) == -1
    assert all(np.isfinite(float(v)) for v in metrics.values())
