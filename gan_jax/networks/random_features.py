"""A discriminator that is not a trained network: logistic regression on fixed random features.

``model.discriminator='random_fourier'`` or ``'random_conv'`` replaces a family's D. 'random_fourier':

    l(x) = w . phi(x) + c,    phi(x) = sqrt(2 / M) cos(W^T x + b),    D(x) = sigmoid(l(x)),

phi the random Fourier features of Rahimi & Recht 2007 (Eq. 2 and Alg. 1): W [d, M] with entries
N(0, 1 / sigma^2) and b [M] from U(0, 2 pi), so that phi(x) . phi(y) estimates the Gaussian kernel
exp(-|x - y|^2 / (2 sigma^2)) (M = ``model.rff_features``, sigma = ``model.rff_bandwidth``). Only w and c
are parameters (flax's 'params', trained by D's optimizer, starting at 0: D(x) = 1/2, the convex logistic
problem's usual start). W and b are drawn once, from D's init key, into the ``FIXED`` collection: the train
state's ``d_state``, which no optimizer reads and no pass writes. D's gradient in x reaches G through the
fixed features, so G trains against a kernel classifier in the same game and update schemes as any D.

'random_conv' (images only): the same head on phi(x) = relu(K * x), one fixed random convolution of the
image (F = ``model.rconv_channels`` filters of ``rconv_kernel`` x ``rconv_kernel``, stride
``rconv_stride``, 'SAME' padding, entries N(0, 1 / (k^2 C)) so that a unit's input keeps the pixels'
scale; no bias), flattened: the random-weight convolutional features of Jarrett et al. 2009 and Saxe et al.
2011, a logistic classifier on a frozen one-layer CNN.
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.errors import ConfigError

FIXED = "random_features"  # the variable collection of the fixed features (the train state's d_state)
DISCRIMINATORS = ("network", "random_fourier", "random_conv")  # the family's own D, or one of these


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


class RandomConvDiscriminator(nn.Module):
    """l(x) = w . relu(K * x) + c, K [k, k, C, F] ~ N(0, 1/(k^2 C)) fixed at init, x an (H, W, C) image
    given flat."""

    image_shape: tuple[int, int, int]
    channels: int = 32
    kernel: int = 5
    stride: int = 2

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        del train
        k, c = self.kernel, self.image_shape[-1]
        shape = (k, k, c, self.channels)
        init = lambda: jax.random.normal(self.make_rng("params"), shape) / math.sqrt(k * k * c)  # noqa: E731
        filters = self.variable(FIXED, "filters", init)
        images = x.astype(jnp.float32).reshape(x.shape[0], *self.image_shape)
        h = jax.lax.conv_general_dilated(
            images,
            filters.value,
            (self.stride, self.stride),
            "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        phi = nn.relu(h).reshape(x.shape[0], -1)
        return nn.Dense(1, kernel_init=nn.initializers.zeros, name="out")(phi)[..., 0]


def build(model_config, image_shape=None) -> nn.Module | None:
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
    if name == "random_fourier" and (int(m.rff_features) < 1 or not float(m.rff_bandwidth) > 0):
        raise ConfigError(
            f"config.model.rff_features must be >= 1 and rff_bandwidth > 0, got {m.rff_features} and "
            f"{m.rff_bandwidth}"
        )
    if name == "random_fourier":
        return RandomFourierDiscriminator(int(m.rff_features), float(m.rff_bandwidth))
    if image_shape is None:
        raise ConfigError(
            f"config.model.discriminator={name!r} convolves images; this model's data are vectors"
        )
    sizes = (int(m.rconv_channels), int(m.rconv_kernel), int(m.rconv_stride))
    if min(sizes) < 1:
        raise ConfigError(
            f"config.model.rconv_channels, rconv_kernel and rconv_stride must be >= 1, got {sizes}"
        )
    return RandomConvDiscriminator(tuple(image_shape), *sizes)
