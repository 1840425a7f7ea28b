"""Unrolled GAN (Metz et al. 2017): G's update through a look-ahead D, against a hand-assembled unroll."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import ring
from gan_jax import config as config_lib
from gan_jax.data import batches
from gan_jax.game import games, steps
from gan_jax.game.state import DATA_STREAM, create_train_state, make_setup
from gan_jax.networks import latent
from gan_jax.training import validation

ETA = 0.1


def sgd_config(unroll_steps: int):
    config = ring.get_config()
    config.update_scheme, config.unroll_steps, config.batch_size = "alternating", unroll_steps, 16
    config.model.g_hidden = config.model.d_hidden = (8,)
    config.optim = config_lib.optim_config("paper_sgd")
    config.optim.learning_rate, config.optim.lr_decay, config.optim.min_lr = ETA, 1.0, 0.0
    config.optim.momentum_init = config.optim.momentum_final = 0.0
    validation.validate(config)
    return config


def hand_g_params(config, setup, state, x, unroll_steps: int):
    """Step 0 by hand: D's own update, then G's loss through D after ``unroll_steps`` more SGD steps of
    D's loss on the same real minibatch and G's own fakes (plain SGD: theta - eta grad)."""
    game = games.GAMES[config.game]
    d_keys, g_keys = steps.player_keys(steps.step_key(state), 1, 1)
    k_zd = jax.random.split(d_keys[0], 3)[0]
    k_zg = jax.random.split(g_keys[0])[0]
    _, idx = batches.next_batch_indices(
        jax.random.fold_in(state.rng, DATA_STREAM), state.data_perm, 0, len(x), 16
    )
    real = jnp.asarray(x)[idx]

    def gen(g, z):
        return setup.generator.apply({"params": g}, z)

    def d_loss(d, fake):
        logits = [setup.discriminator.apply({"params": d}, v, train=True) for v in (real, fake)]
        return config.d_loss_scale * game.d_loss(real_logits=logits[0], fake_logits=logits[1])

    def sgd(params, grads):
        return jax.tree.map(lambda p, g: p - ETA * g, params, grads)

    z_d, z_g = latent.sample_noise(k_zd, 16, 2), latent.sample_noise(k_zg, 16, 2)
    d1 = sgd(state.d_params, jax.grad(d_loss)(state.d_params, gen(state.g_params, z_d)))

    def g_loss(g):
        fake, d = gen(g, z_g), d1
        for _ in range(unroll_steps):
            d = sgd(d, jax.grad(d_loss)(d, fake))
        return game.g_loss(fake_logits=setup.discriminator.apply({"params": d}, fake, train=True))

    return sgd(state.g_params, jax.grad(g_loss)(state.g_params))


@pytest.mark.parametrize("unroll_steps", [1, pytest.param(3, marks=pytest.mark.slow)])
def test_g_steps_through_the_unrolled_discriminator(unroll_steps):
    x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    config = sgd_config(unroll_steps)
    setup = make_setup(config, len(x))
    state = create_train_state(config, setup, x.mean(0), len(x))
    new, _ = jax.jit(steps.make_step(config, setup, len(x)))(state, jnp.asarray(x))
    want = hand_g_params(config, setup, state, x, unroll_steps)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6), new.g_params, want)
    plain = hand_g_params(config, setup, state, x, 0)
    gap = max(float(jnp.abs(a - b).max()) for a, b in zip(*map(jax.tree.leaves, (want, plain)), strict=True))
    assert gap > 1e-5  # the unrolled G update is not the ordinary one


def test_unrolling_needs_alternating_updates():
    config = sgd_config(1)
    config.update_scheme = "simultaneous"
    with pytest.raises(ValueError, match="--update=alternating"):
        validation.validate(config)


def test_unrolling_adam_through_a_maxout_d_stays_finite():
    """A maxout piece that never wins has all-zero gradients, so Adam's nu is 0 there; G differentiates
    through sqrt(nu) in the look-ahead, finite only with eps_root > 0 (updates.UNROLL_EPS_ROOT)."""
    from experiments.configs import pacgan_ring

    config = pacgan_ring.get_config()
    config.unroll_steps, config.batch_size, config.update_scheme = 2, 16, "alternating"
    config.model.g_hidden, config.model.d_hidden, config.model.d_pieces = (8,), (8, 8), 3
    validation.validate(config)
    x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    setup = make_setup(config, len(x))
    state = create_train_state(config, setup, x.mean(0), len(x))
    step = jax.jit(steps.make_step(config, setup, len(x)))
    for _ in range(3):
        state, metrics = step(state, jnp.asarray(x))
    assert int(state.nonfinite_step) == -1 and np.isfinite(float(metrics["g_grad_norm"]))
