"""G's noise functions (``model.noise``): the 2014 code's uniform, Gaussian and spherical draws, against
their closed-form moments, through the training step's own noise, and refused when unknown."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import tiny_config
from scipy.stats import truncnorm

from gan_jax import config as config_lib
from gan_jax.errors import ConfigError
from gan_jax.game import games, updates
from gan_jax.game.state import make_setup
from gan_jax.networks import latent
from gan_jax.training import validation

N, DIM = 200_000, 5
KEY = jax.random.PRNGKey(3)


def draws(noise, scale=0.0, dim=DIM):
    return np.asarray(latent.sample_noise(KEY, N, dim, noise, scale), np.float64)


def test_the_default_is_the_paper_models_uniform_draw_bit_for_bit():
    want = jax.random.uniform(KEY, (N, DIM), jnp.float32, -np.sqrt(3.0), np.sqrt(3.0))
    np.testing.assert_array_equal(latent.sample_noise(KEY, N, DIM), want)
    assert config_lib.model_config("paper_mlp").noise == "uniform"


@pytest.mark.parametrize("scale, half", [(0.0, np.sqrt(3.0)), (1.0, 1.0)])
def test_uniform_has_its_range_and_variance(scale, half):
    z = draws("uniform", scale)
    assert z.min() >= -half and z.max() <= half and z.max() > 0.99 * half
    se = half**2 * np.sqrt(4 / 45 / N)  # the std of a sample variance of U(-a, a): a^2 sqrt(4 / (45 N))
    np.testing.assert_allclose(z.var(axis=0), half**2 / 3, atol=5 * se)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=5 * half / np.sqrt(3 * N))


@pytest.mark.parametrize("scale, std", [(0.0, 1.0), (0.5, 0.5)])
def test_normal_has_its_moments(scale, std):
    z = draws("normal", scale)
    np.testing.assert_allclose(z.std(axis=0), std, atol=5 * std / np.sqrt(2 * N))
    kurtosis = np.mean((z / z.std(axis=0)) ** 4, axis=0)  # 3 for a Gaussian, 1.8 for a uniform
    np.testing.assert_allclose(kurtosis, 3.0, atol=0.05)


@pytest.mark.parametrize("scale, radius", [(0.0, 1.0), (10.0, 10.0)])
def test_spherical_lies_on_the_sphere_in_every_direction(scale, radius):
    z = draws("spherical", scale)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), radius, rtol=1e-6)
    # uniform on the sphere: each coordinate has mean 0 and second moment r^2 / dim
    np.testing.assert_allclose((z**2).mean(axis=0), radius**2 / DIM, rtol=0.02)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=5 * radius / np.sqrt(DIM * N))


def test_the_training_step_draws_the_configured_noise():
    config = tiny_config()
    config.model.noise, config.model.noise_scale = "spherical", 2.0
    ctx = updates.Context(make_setup(config, 100), games.get_game(config.game), config, 100)
    z = np.asarray(updates.noise(ctx, KEY))
    assert z.shape == (config.batch_size, config.model.z_dim)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 2.0, rtol=1e-6)


@pytest.mark.parametrize(
    "field, value, match",
    [("noise", "gaussian", "choose one of: uniform, normal, spherical"), ("noise_scale", -1.0, ">= 0")],
)
def test_a_bad_noise_is_refused(field, value, match):
    config = tiny_config()
    config.model[field] = value
    with pytest.raises(ConfigError, match=match):
        validation.validate(config)


def test_an_old_config_without_the_field_keeps_the_uniform_noise():
    saved = config_lib.get_config().to_dict()
    del saved["model"]["noise"], saved["model"]["noise_scale"]
    config = config_lib.upgrade(saved)
    assert (config.model.noise, config.model.noise_scale) == ("uniform", 0.0)


def test_spherical_interpolation_keeps_its_plane_and_angular_speed():
    k0, k1 = jax.random.split(KEY)
    z0, z1 = (np.asarray(jax.random.normal(k, (50,)), np.float64) for k in (k0, k1))
    path = np.asarray(latent.interpolate(jnp.asarray(z0), jnp.asarray(z1), 9, "normal"), np.float64)
    np.testing.assert_allclose(path[[0, -1]], [z0, z1], atol=1e-5)
    r0, r1 = np.linalg.norm(z0), np.linalg.norm(z1)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linspace(r0, r1, 9), rtol=1e-5)
    basis = np.linalg.qr(np.stack([z0, z1], axis=1))[0]  # the plane of z0 and z1
    np.testing.assert_allclose(path - path @ basis @ basis.T, 0.0, atol=1e-4)
    unit = path / np.linalg.norm(path, axis=1, keepdims=True)
    angles = np.arccos(np.clip(np.sum(unit[1:] * unit[:-1], axis=1), -1, 1))
    whole = np.arccos(np.dot(z0, z1) / (r0 * r1))
    np.testing.assert_allclose(angles, whole / 8, rtol=1e-3)


def test_uniform_interpolation_is_the_straight_line():
    z0, z1 = jnp.full((3,), -1.5), jnp.array([1.0, 0.0, 1.5])
    np.testing.assert_allclose(latent.interpolate(z0, z1, 3, "uniform")[1], [-0.25, -0.75, 0.0], atol=1e-7)


def test_truncated_draws_follow_the_truncated_normal():
    t, s = 0.7, 2.0
    z = np.asarray(latent.sample_truncated(KEY, N, DIM, t, s), np.float64)
    assert np.abs(z).max() <= t * s
    want = s * s * truncnorm(-t, t).var()  # about 0.15 s^2: not the N(0, s^2) draw clipped or rescaled
    np.testing.assert_allclose(z.var(axis=0), want, rtol=0.02)
    with pytest.raises(ConfigError, match="> 0"):
        latent.sample_truncated(KEY, 2, 2, 0.0)
