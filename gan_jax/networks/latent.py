"""G's latent space: the noise z it eats (``model.noise``, ``model.noise_scale``), and the paths and
truncations through it that sampling tools draw."""

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.errors import ConfigError

NOISES = ("uniform", "normal", "spherical")  # the 2014 code's Generator.get_noise ('gaussian' is 'normal')


def sample_noise(
    key: jax.Array, batch: int, dim: int, noise: str = "uniform", scale: float = 0.0
) -> jax.Array:
    """[batch, dim] float32 draws of G's noise z (``model.noise`` and ``model.noise_scale``):

    - ``uniform``: z ~ U(-a, a)^dim, a = ``scale`` or sqrt 3 (zero mean, unit variance: the 2014 MNIST
      model's); DCGAN's and GMMN's U(-1, 1) is ``scale=1``;
    - ``normal``: z ~ N(0, s^2 I), s = ``scale`` or 1 (the 2014 code's default ``gaussian``);
    - ``spherical``: z = r u / ||u||, u ~ N(0, I), r = ``scale`` or 1: uniform on the sphere of radius r
      (the 2014 code's ``spherical``, radius 1).
    """
    if noise == "uniform":
        half = scale or np.sqrt(3.0)
        return jax.random.uniform(key, (batch, dim), jnp.float32, -half, half)
    u = jax.random.normal(key, (batch, dim), jnp.float32)
    if noise == "normal":
        return u * (scale or 1.0)
    if noise == "spherical":
        return u * ((scale or 1.0) / jnp.linalg.norm(u, axis=1, keepdims=True))
    raise ConfigError(f"unknown noise {noise!r}; choose one of: {', '.join(NOISES)}")


def noise_kwargs(model_config) -> dict:
    """``sample_noise``'s ``noise`` and ``scale`` from a model config."""
    return {"noise": model_config.noise, "scale": float(model_config.noise_scale)}


def interpolate(z0: jax.Array, z1: jax.Array, num: int, noise: str = "uniform") -> jax.Array:
    """[num, dim] points from z0 to z1 (both [dim]), ends included, along the path that stays in the
    noise's support and typical set: a straight line for ``uniform`` (its box is convex), the great circle
    for ``normal`` and ``spherical`` (spherical linear interpolation, White 2016: a straight line between
    two Gaussian draws passes through norms the prior almost never draws), with the norm interpolated
    linearly along it:

        z(t) = ((1 - t) |z0| + t |z1|) (sin((1 - t) w) u0 + sin(t w) u1) / sin w,  cos w = u0 . u1,

    u = z / |z|; a straight line where w is 0."""
    if noise not in NOISES:
        raise ConfigError(f"unknown noise {noise!r}; choose one of: {', '.join(NOISES)}")
    t = jnp.linspace(0.0, 1.0, num, dtype=jnp.float32)[:, None]
    if noise == "uniform":
        return (1 - t) * z0 + t * z1
    r0, r1 = jnp.linalg.norm(z0), jnp.linalg.norm(z1)
    u0, u1 = z0 / r0, z1 / r1
    omega = jnp.arccos(jnp.clip(jnp.dot(u0, u1), -1.0, 1.0))
    sin = jnp.sin(omega)
    safe = jnp.where(sin > 1e-6, sin, 1.0)
    along = jnp.where(
        sin > 1e-6, (jnp.sin((1 - t) * omega) * u0 + jnp.sin(t * omega) * u1) / safe, (1 - t) * u0 + t * u1
    )
    return ((1 - t) * r0 + t * r1) * along


def sample_truncated(key: jax.Array, batch: int, dim: int, threshold: float, scale: float = 0.0) -> jax.Array:
    """[batch, dim] draws of the truncation trick for ``normal`` noise (Brock et al. 2019): each coordinate
    from N(0, s^2) truncated to [-threshold s, threshold s] (the truncated normal itself, by
    ``jax.random.truncated_normal``, not a rescaled or clipped draw), s = ``scale`` or 1."""
    if not threshold > 0:
        raise ConfigError(f"the truncation threshold must be > 0, got {threshold}")
    s = scale or 1.0
    return s * jax.random.truncated_normal(key, -threshold, threshold, (batch, dim), jnp.float32)
