"""The layers and helpers G and D share (gan_jax/networks/models.py's MLPs, gan_jax/networks/dcgan.py's
convolutional pairs): pylearn2's uniform init, maxout, spectral norm, minibatch standard deviation, batch
norm, and the conditional pieces (one-hot labels, the projection discriminator's class term)."""

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.errors import ConfigError
from gan_jax.networks import convolution

# the DCGAN convolutions' gradients: gan_jax.networks.convolution's canonical-layout ones, or lax's own
# autodiff
CONV_IMPLS = {"canonical": convolution.conv_general_dilated, "lax": jax.lax.conv_general_dilated}
DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def symmetric_uniform(scale: float):
    """pylearn2's ``irange``: W ~ U(-scale, scale)."""

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -scale, scale)

    return init


def one_hot_labels(labels, num_classes: int, module_name: str) -> jax.Array:
    """one_hot(labels) [B, K] for a conditional module; ConfigError when the labels do not fit it."""
    if num_classes and labels is None:
        raise ConfigError(f"{module_name} is conditional on {num_classes} classes: pass labels")
    if not num_classes and labels is not None:
        raise ConfigError(f"{module_name} is unconditional (config.model.num_classes=0): no labels")
    return None if labels is None else jax.nn.one_hot(labels, num_classes, dtype=jnp.float32)


def with_labels(x: jax.Array, one_hot) -> jax.Array:
    return x if one_hot is None else jnp.concatenate([x, one_hot.astype(x.dtype)], axis=-1)


class ClassProjection(nn.Module):
    """<E[y], phi> per example: the projection discriminator's class term (Miyato & Koyama 2018).
    ``spectral_norm``: E [classes, features] divided by its largest singular value, as the authors'
    code does (its ``SNEmbedID``), with its power iteration run when ``train`` (spectral_normed)."""

    num_classes: int
    spectral_norm: bool = False

    @nn.compact
    def __call__(self, features: jax.Array, labels: jax.Array, train: bool = False) -> jax.Array:
        embed = nn.Embed(self.num_classes, features.shape[-1], embedding_init=nn.initializers.normal(0.02))
        rows = spectral_normed(embed, self.spectral_norm, train)(labels)
        return jnp.sum(rows * features.astype(jnp.float32), axis=-1)


def d_logit(features, dense, labels, num_classes: int, conditioning: str, spectral_norm: bool, train: bool):
    """D's float32 logit from its last features: w . phi + b (+ <E[y], phi> for 'projection')."""
    logit = dense(features)[..., 0].astype(jnp.float32)
    if num_classes and conditioning == "projection":
        projection = ClassProjection(num_classes, spectral_norm, name="projection")
        logit += projection(features, labels, train)
    return logit


def kernel_init(std: float):
    """Weights N(0, std^2) (Blocks' IsotropicGaussian, as PacGAN's toy networks start) for ``std`` > 0;
    flax's default (LeCun normal, variance 1 / fan_in) for 0."""
    return nn.initializers.normal(std) if std else nn.initializers.lecun_normal()


MAXOUT_DENSE = "pieces"  # the Maxout layer's Dense, its columns piece-major
LEGACY_MAXOUT_DENSE = "Dense_0"  # its name when the columns were unit-major (restored: checkpoints.py)


class Maxout(nn.Module):
    """h_j = max_i (W x + b)_{i, j} over ``pieces`` linear pieces per unit, the Dense's columns laid
    out piece-major ([pieces, units]: column i * units + j is piece i of unit j), so the max is an
    element-wise maximum of ``pieces`` slabs of ``units`` contiguous columns per row (faster on the CPU than
    the unit-major layout: experiments/reports/BENCHMARKS.md). Checkpoints of the unit-major layout (its Dense
    named ``Dense_0``) are converted when restored (``checkpoints.restore_checkpoint``)."""

    units: int
    pieces: int
    init_scale: float  # > 0: weights U(-scale, scale)
    dtype: Any = jnp.float32
    spectral_norm: bool = False  # the Dense's kernel / sigma (spectral_normed): h is then 1-Lipschitz
    init_std: float = 0.0  # > 0 (with init_scale 0): weights N(0, std^2)

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        init = symmetric_uniform(self.init_scale) if self.init_scale else kernel_init(self.init_std)
        dense = nn.Dense(self.units * self.pieces, kernel_init=init, dtype=self.dtype, name=MAXOUT_DENSE)
        z = spectral_normed(dense, self.spectral_norm, train)(x)
        return jnp.max(z.reshape(*z.shape[:-1], self.pieces, self.units), axis=-2)


def spectral_normed(module: nn.Module, enabled: bool, train: bool):
    """``module`` with its weight divided by its largest singular value sigma(W) (a conv kernel as the
    matrix [kh*kw*in, out]), estimated by one power iteration per call from the stored vector u
    (Miyato et al. 2018); u and sigma live in the ``spectral`` collection, written when ``train``.
    ``module`` itself when not ``enabled``."""
    if not enabled:
        return module
    return functools.partial(nn.SpectralNorm(module, collection_name="spectral"), update_stats=train)


def minibatch_std(h: jax.Array) -> jax.Array:
    """``h`` [B, ..., C] with one more feature (channel): the standard deviation of each feature across
    the batch, averaged over features (Karras et al. 2018, Sec. 3, one group), the same for every
    example. D then sees how varied its batch is, and a collapsed G's batch gives itself away."""
    spread = jnp.mean(jnp.sqrt(jnp.var(h.astype(jnp.float32), axis=0) + 1e-8))
    return jnp.concatenate([h, jnp.full((*h.shape[:-1], 1), spread, h.dtype)], axis=-1)


def dcgan_bn_scale(key, shape, dtype=jnp.float32):
    """Batch-norm scale gamma ~ N(1, 0.02^2), as the PyTorch DCGAN reference initialises it."""
    return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


def batch_norm(train: bool) -> nn.Module:
    """Batch norm as in PyTorch (running average momentum 0.1, eps 1e-5): batch moments when
    ``train``, the running averages (``batch_stats``) otherwise."""
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, scale_init=dcgan_bn_scale)
