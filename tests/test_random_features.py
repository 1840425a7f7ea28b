"""The random-Fourier-feature discriminator (gan_jax/networks/random_features.py): its logits against a
float64 numpy logistic model on the stored features, its features against the Gaussian kernel they
estimate (Rahimi & Recht 2007), and a D step that trains the head and leaves the features alone."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import tiny_config

from gan_jax.errors import ConfigError
from gan_jax.game import steps
from gan_jax.game.state import create_train_state, make_setup
from gan_jax.networks import models, random_features
from gan_jax.training import validation

FIXED = random_features.FIXED


def rff_config(features=64, bandwidth=3.0, **overrides):
    config = tiny_config(**overrides)
    config.model.discriminator = "random_fourier"
    config.model.rff_features, config.model.rff_bandwidth = features, bandwidth
    return config


def fixed_of(d_state):
    return {k: np.asarray(v) for k, v in d_state[FIXED].items()}


def test_logits_are_a_float64_logistic_model_on_the_stored_features():
    config = rff_config()
    _, d = models.build_models(config)
    variables = d.init(jax.random.PRNGKey(1), jnp.zeros((1, 784)), train=False)
    assert set(variables) == {"params", FIXED}  # W and b are no parameter
    rng = np.random.default_rng(0)
    head = {"kernel": rng.normal(size=(64, 1)).astype(np.float32), "bias": np.float32([0.3])}
    variables = {"params": {"out": head}, FIXED: variables[FIXED]}
    x = rng.uniform(size=(5, 784)).astype(np.float32)
    got = np.asarray(jax.nn.sigmoid(d.apply(variables, x, train=True)))

    w, b = (np.asarray(variables[FIXED][k], np.float64) for k in ("frequencies", "phases"))
    phi = np.sqrt(2.0 / 64) * np.cos(x.astype(np.float64) @ w + b)
    want = 1.0 / (1.0 + np.exp(-(phi @ head["kernel"].astype(np.float64)[:, 0] + 0.3)))
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert np.all((b >= 0) & (b < 2 * np.pi))
    assert abs(w.std() * 3.0 - 1.0) < 0.02  # entries N(0, 1/sigma^2), sigma = 3 (50,176 draws)


def test_conv_logits_are_a_float64_logistic_model_on_the_fixed_convolution():
    config = rff_config()
    config.model.discriminator = "random_conv"
    config.model.rconv_channels, config.model.rconv_kernel, config.model.rconv_stride = 4, 5, 2
    _, d = models.build_models(config)
    variables = d.init(jax.random.PRNGKey(2), jnp.zeros((1, 784)), train=False)
    k = np.asarray(variables[FIXED]["filters"], np.float64)  # [5, 5, 1, 4]
    assert k.shape == (5, 5, 1, 4) and set(variables) == {"params", FIXED}
    rng = np.random.default_rng(1)
    head = {"kernel": rng.normal(size=(14 * 14 * 4, 1)).astype(np.float32), "bias": np.float32([-0.2])}
    x = rng.uniform(size=(3, 784)).astype(np.float32)
    got = np.asarray(d.apply({"params": {"out": head}, FIXED: variables[FIXED]}, x, train=True))

    # 'SAME' at stride 2 on 28: 14 outputs, (14 - 1) 2 + 5 - 28 = 3 padded pixels, 1 before and 2 after
    padded = np.pad(x.astype(np.float64).reshape(3, 28, 28), ((0, 0), (1, 2), (1, 2)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (5, 5), axis=(1, 2))[:, ::2, ::2]
    phi = np.maximum(np.einsum("bijuv,uvf->bijf", windows, k[:, :, 0]), 0).reshape(3, -1)
    np.testing.assert_allclose(got, phi @ head["kernel"][:, 0].astype(np.float64) - 0.2, rtol=1e-4, atol=1e-5)
    assert abs(k.std() * 5.0 - 1.0) < 0.2  # N(0, 1/(k^2 C)) = N(0, 1/25), 100 draws


def test_features_estimate_the_gaussian_kernel_of_their_bandwidth():
    sigma, m = 1.5, 20_000
    d = random_features.RandomFourierDiscriminator(m, sigma)
    x = np.random.default_rng(1).normal(size=(6, 3)).astype(np.float32)
    fixed = d.init(jax.random.PRNGKey(0), jnp.zeros((1, 3)), train=False)[FIXED]
    w, b = (np.asarray(fixed[k], np.float64) for k in ("frequencies", "phases"))
    phi = np.sqrt(2.0 / m) * np.cos(x @ w + b)
    sq = np.sum((x[:, None] - x[None]) ** 2, axis=-1)
    np.testing.assert_allclose(phi @ phi.T, np.exp(-sq / (2 * sigma**2)), atol=0.03)


@pytest.mark.parametrize(
    "scheme, kind",
    [("simultaneous", "random_fourier"), ("alternating", "random_fourier"), ("alternating", "random_conv")],
)
def test_a_step_trains_the_head_and_leaves_the_features_alone(scheme, kind, images):
    config = rff_config(update_scheme=scheme)
    config.model.discriminator = kind
    setup = make_setup(config, 500)
    state = create_train_state(config, setup, images.mean(0), 500)
    assert jax.tree.structure(state.d_params) == jax.tree.structure({"out": {"kernel": 0, "bias": 0}})
    new, metrics = jax.jit(steps.make_step(config, setup, 500))(state, jnp.asarray(images))
    for k, v in fixed_of(state.d_state).items():
        np.testing.assert_array_equal(fixed_of(new.d_state)[k], v)
    assert np.any(np.asarray(new.d_params["out"]["kernel"]) != 0)  # the head moved off its zero start
    assert int(new.nonfinite_step) == -1 and all(np.isfinite(float(v)) for v in metrics.values())
    if scheme == "alternating":  # G's gradient reaches it through the fixed features
        moved = jax.tree.map(lambda a, b: bool(np.any(a != b)), state.g_params, new.g_params)
        assert any(jax.tree.leaves(moved))


def test_the_configs_build_and_bad_values_are_one_line():
    from experiments.configs import nonneural_mnist, nonneural_ring

    for module in (nonneural_mnist, nonneural_ring):
        validation.validate(module.get_config())
    for field, value, words in [
        ("discriminator", "kernel", "unknown config.model.discriminator"),
        ("num_classes", 10, "unconditional float32"),
        ("rff_bandwidth", 0.0, "rff_bandwidth > 0"),
        ("spectral_norm", True, "spectral_norm=False"),
    ]:
        config = rff_config()
        config.model[field] = value
        with pytest.raises(ConfigError, match=words):
            validation.validate(config)


def test_options_of_the_network_d_are_refused():
    config = rff_config()
    config.reg.r1_gamma, config.reg.penalty_dropout = 1.0, False
    with pytest.raises(ConfigError, match="does not have"):
        validation.validate(config)
    from experiments.configs import nonneural_ring

    config = nonneural_ring.get_config()
    config.model.d_minibatch_std = True
    with pytest.raises(ConfigError, match="d_minibatch_std"):
        validation.validate(config)
    config.model.d_minibatch_std, config.model.discriminator = False, "random_conv"
    with pytest.raises(ConfigError, match="convolves images"):
        validation.validate(config)
    config = rff_config(features=4096, bandwidth=1.0)  # (the rff_ fields at their defaults)
    config.model.discriminator, config.model.rconv_kernel = "random_conv", 0
    with pytest.raises(ConfigError, match="rconv_kernel and rconv_stride must be >= 1"):
        validation.validate(config)
    for field, value, owner in (
        ("rff_bandwidth", 3.0, "random_fourier"),
        ("rconv_channels", 8, "random_conv"),
    ):
        config = tiny_config()  # a field of a random D the config does not use is refused, not ignored
        config.model[field] = value
        with pytest.raises(
            ConfigError, match=f"{field} shapes config.model.discriminator='{owner}', not 'network'"
        ):
            validation.validate(config)
