"""The 2014 code's instance noise (``noise_both``) and G-gradient rescaling (``scale_grads``), by value on
the Dirac-GAN pair (G(z) = theta, D(x) = psi x, data at 0): D's logits are psi times its noised inputs,
and G's one-parameter gradient is written out in numpy (goodfeli/adversarial __init__.py, AdversaryCost2)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import config as config_lib
from gan_jax.errors import ConfigError
from gan_jax.game import games, options, steps, updates
from gan_jax.game.state import create_train_state, make_setup
from gan_jax.training import validation

THETA, PSI, BATCH = 0.5, 2.0, 10


def dirac_config(**overrides):
    c = config_lib.get_config()
    c.data, c.model = config_lib.data_config("dirac"), config_lib.model_config("dirac")
    c.model.theta0, c.model.psi0 = THETA, PSI
    c.batch_size, c.eval_every, c.num_steps = BATCH, 0, 10
    for key, value in overrides.items():
        c[key] = value
    return c


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def ctx_and_state(config):
    setup = make_setup(config, 100)
    state = create_train_state(config, setup, np.zeros(1), 100)
    return updates.Context(setup, games.get_game(config.game), config, 100), state


def normal(key, index, shape):
    """eps of noised input ``index`` (0 real, 1 fake): N(0, I) from split(key, 2)[index], as documented."""
    return np.asarray(jax.random.normal(jax.random.split(key)[index], shape), np.float64)


@pytest.mark.parametrize("steps_n, count, factor", [(0, 0, 1.0), (8, 2, 0.75), (8, 8, 0.0), (8, 11, 0.0)])
def test_d_sees_both_inputs_noised_by_the_annealed_std(steps_n, count, factor):
    config = dirac_config(instance_noise=0.3, instance_noise_steps=steps_n)
    ctx, state = ctx_and_state(config)
    x_real, x_fake = np.zeros((BATCH, 1), np.float32), np.full((BATCH, 1), THETA, np.float32)
    keys = tuple(jax.random.split(jax.random.PRNGKey(3), 3))
    _, ((real, fake), _) = updates.d_objective(
        ctx, state.d_params, None, x_real, x_fake, None, keys, jnp.int32(count)
    )
    key = jax.random.fold_in(keys[2], options.INSTANCE_NOISE_KEY)
    std = 0.3 * factor
    np.testing.assert_allclose(real, PSI * (0 + std * normal(key, 0, (BATCH, 1)))[:, 0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(fake, PSI * (THETA + std * normal(key, 1, (BATCH, 1)))[:, 0], rtol=1e-6)
    if factor == 0.0:  # annealed away: exactly the clean inputs
        np.testing.assert_array_equal(np.asarray(fake), np.full(BATCH, PSI * THETA, np.float32))


def test_g_loss_sees_the_noised_fakes():
    config = dirac_config(instance_noise=0.3, game="wasserstein", reg=config_lib.reg_config())
    ctx, state = ctx_and_state(config)
    keys = tuple(jax.random.split(jax.random.PRNGKey(4), 3))
    d = (state.d_params, None, state.d_opt_state)
    z, x_real = jnp.zeros((BATCH, 1)), jnp.zeros((BATCH, 1))
    loss, _ = updates.g_objective(ctx, state.g_params, None, d, z, None, x_real, keys)
    key = jax.random.fold_in(keys[1], options.INSTANCE_NOISE_KEY)
    np.testing.assert_allclose(loss, -np.mean(PSI * (THETA + 0.3 * normal(key, 1, (BATCH, 1)))), rtol=1e-6)


def test_std_zero_returns_the_inputs_themselves():
    x, y = jnp.ones((2, 3)), jnp.zeros((2, 3))
    got = options.instance_noise(dirac_config(), jax.random.PRNGKey(0), jnp.int32(0), x, y)
    assert got[0] is x and got[1] is y


def g_step(config):
    ctx, state = ctx_and_state(config)
    new, metrics = jax.jit(steps.make_step(config, ctx.setup, 100))(state, jnp.zeros((100, 1)))
    return float(new.g_params["theta"][0]), float(metrics["g_grad_norm"])


@pytest.mark.parametrize("target", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("scheme", ["simultaneous", "alternating"])
def test_g_gradient_rescaling_follows_the_2014_rule(target, scheme):
    config = dirac_config(g_grad_target=target, update_scheme=scheme, order="g_first")
    if scheme == "simultaneous":
        config.order = "d_first"
    theta, norm = g_step(config)
    # non-saturating L = mean_i softplus(-psi S_i), S_i = theta: dL/dS_i = -psi sigmoid(-psi theta) / B
    grad_s = np.full(BATCH, -PSI * sigmoid(-PSI * THETA) / BATCH)
    grad_theta = grad_s.sum()
    scale = max(1.0, target / np.sqrt(np.sum(grad_s**2))) if target else 1.0
    assert (scale > 1) == (target == 1.0)  # 0.1 is below ||dL/dS|| = 0.17, 1.0 above it
    np.testing.assert_allclose(norm, abs(scale * grad_theta), rtol=1e-6)
    np.testing.assert_allclose(theta, THETA - 0.1 * scale * grad_theta, rtol=1e-6)  # first SGD step: -lr g


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"instance_noise": -0.1}, "instance_noise must be >= 0"),
        ({"instance_noise_steps": 100}, "set config.instance_noise > 0"),
        ({"g_grad_target": -1.0}, "g_grad_target must be >= 0"),
    ],
)
def test_bad_values_are_one_line(overrides, words):
    with pytest.raises(ConfigError, match=words):
        validation.validate(dirac_config(**overrides))


def test_rescaling_is_refused_beside_consensus():
    config = dirac_config(g_grad_target=0.1)
    config.reg.consensus = 1.0
    with pytest.raises(ConfigError, match="use one of them"):
        validation.validate(config)
