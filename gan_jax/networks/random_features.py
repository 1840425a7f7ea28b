"""A discriminator that is not a trained network: logistic regression on fixed random features.

``model.discriminator='random_fourier'`` replaces any family's D by

    l(x) = w . phi(x) + c,    phi(x) = sqrt(2 / M) cos(W^T x + b),    D(x) = sigmoid(l(x)),

phi the random Fourier features of Rahimi & Recht 2007 (Eq. 2 and Alg. 1): W [d, M] with entries
N(0, 1 / sigma^2) and b [M] from U(0, 2 pi), so that phi(x) . phi(y) estimates the Gaussian kernel
exp(-|x - y|^2 / (2 sigma^2)) (M = ``model.rff_features``, sigma = ``model.rff_bandwidth``). Only w and c
are parameters (flax's 'params', trained by D's optimizer, starting at 0: D(x) = 1/2, the convex logistic
problem's usual start). W and b are drawn once, from D's init key, into the ``FIXED`` collection: the train
state's ``d_state``, which no optimizer reads and no pass writes. D's gradient in x reaches G through the
fixed features, so G trains against a kernel classifier in the same game and update schemes as any D.
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.errors import ConfigError

FIXED = "random_features"  # the variable collection of the fixed features (the train state's d_state)
DISCRIMINATORS = ("network", "random_fourier")  # model.discriminator: the family's own D, or this one


class RandomFourierDiscriminator(nn.Module):
    """l(x) = w . sqrt(2/M) cos(W^T x + b) + c with W ~ N(0, 1/sigma^2), b ~ U(0, 2 pi) fixed at init."""

    num_features: int = 4096
    bandwidth: float = 1.0

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        del train  # no dropout, no statistics: one function in training and evaluation
        dim, m = x.shape[-1], self.num_features
        rng = lambda: self.make_rng("params")  # noqa: E731 (drawn only by init)
        w = self.variable(FIXED, "frequencies", lambda: jax.random.normal(rng(), (dim, m)) / self.bandwidth)
        b = self.variable(FIXED, "phases", lambda: jax.random.uniform(rng(), (m,), maxval=2 * math.pi))
        phi = math.sqrt(2.0 / m) * jnp.cos(x.astype(jnp.float32) @ w.value + b.value)
        head = nn.Dense(1, kernel_init=nn.initializers.zeros, name="out")
        return head(phi)[..., 0]


def build(model_config) -> nn.Module | None:
    """The random-feature D that ``model.discriminator`` names, None for the family's own network; a
    ConfigError (one line) for an unknown name, bad sizes, or a family option it cannot carry."""
    m = model_config
    name = m.discriminator
    if name not in DISCRIMINATORS:
        raise ConfigError(
            f"unknown config.model.discriminator {name!r}; choose one of: {', '.join(DISCRIMINATORS)}"
        )
    if name == "network":
        return None
    if int(m.num_classes) or m.spectral_norm or m.dtype != "float32":
        raise ConfigError(
            f"config.model.discriminator={name!r} is an unconditional float32 logistic head on fixed "
            "features: set config.model.num_classes=0, spectral_norm=False, dtype=float32"
        )
    if int(m.rff_features) < 1 or not float(m.rff_bandwidth) > 0:
        raise ConfigError(
            f"config.model.rff_features must be >= 1 and rff_bandwidth > 0, got {m.rff_features} and "
            f"{m.rff_bandwidth}"
        )
    return RandomFourierDiscriminator(int(m.rff_features), float(m.rff_bandwidth))
