"""The DCGAN convolutional pairs (Radford et al. 2016): G from a dense projection through 4x4 stride-2
transposed convolutions, D through 4x4 stride-2 convolutions, with the options the games need
(spectral norm, batch/layer/no normalisation in D, minibatch std, conditioning, PacGAN's packed
channels). ``gan_jax.networks.models.build_models`` builds them from ``config.model``."""

import functools
import math
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.networks import convolution, layers


def dcgan_normal(key, shape, dtype=jnp.float32):
    """DCGAN's weight initialisation: W ~ N(0, 0.02^2) (Radford et al. 2016, Sec. 4). Drawn as one flat
    vector and reshaped: the same distribution, and XLA on the CPU compiles a rank-4 draw slowly."""
    return 0.02 * jax.random.normal(key, (math.prod(shape),), dtype).reshape(shape)


OUTPUTS = {"sigmoid": nn.sigmoid, "tanh": jnp.tanh}
OUTPUT_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


class DCGANGenerator(nn.Module):
    """x = G(z): Dense -> [s, s, channels[0]] -> 4x4 stride-2 transposed convs through ``channels[1:]``
    -> 4x4 stride-2 transposed conv to the image's channels -> ``output`` (sigmoid for data in [0, 1],
    tanh for [-1, 1]). Batch norm + ReLU on every hidden layer, none on the output (Radford et al. 2016);
    s = H / 2^len(channels). Returns flat images [B, H*W*C]."""

    image_shape: tuple[int, int, int]
    channels: Sequence[int]
    output: str = "tanh"
    num_classes: int = 0  # > 0: one_hot(y) concatenated to z
    dtype: Any = jnp.float32
    conv_impl: str = "canonical"  # layers.CONV_IMPLS: the same math; 'canonical' is what XLA's CPU runs fast

    @nn.compact
    def __call__(self, z: jax.Array, labels=None, *, train: bool = False) -> jax.Array:
        height, width, colours = self.image_shape
        scale = 2 ** len(self.channels)
        side = (height // scale, width // scale)
        z = layers.with_labels(z, layers.one_hot_labels(labels, self.num_classes, "G"))
        dense = nn.Dense(
            side[0] * side[1] * self.channels[0], use_bias=False, kernel_init=dcgan_normal, dtype=self.dtype
        )
        h = nn.relu(layers.batch_norm(train)(dense(z).reshape(-1, *side, self.channels[0])))
        # nn.ConvTranspose(4x4, stride 2, 'SAME') written as the convolution it is (input dilated by 2), so
        # that its gradients take gan_jax.networks.convolution's fast CPU layout; the same parameters and math
        conv = functools.partial(
            nn.Conv,
            kernel_size=(4, 4),
            padding=(convolution.transpose_same_padding(4, 2),) * 2,
            input_dilation=(2, 2),
            kernel_init=dcgan_normal,
            dtype=self.dtype,
            conv_general_dilated=layers.CONV_IMPLS[self.conv_impl],
        )
        for i, c in enumerate(self.channels[1:]):
            h = nn.relu(layers.batch_norm(train)(conv(c, use_bias=False, name=f"ConvTranspose_{i}")(h)))
        h = OUTPUTS[self.output](conv(colours, name="out")(h).astype(jnp.float32))
        return h.reshape(h.shape[0], -1)


class DCGANDiscriminator(nn.Module):
    """l(x): 4x4 stride-2 convs through ``channels``, LeakyReLU(0.2), batch norm on all but the first
    (none on the input), then Dense 1 (Radford et al. 2016).

    ``spectral_norm``: every conv and the dense layer divide their weight (a conv kernel as the matrix
    [kh*kw*in, out]) by its largest singular value sigma(W), estimated by one power iteration per call
    from the stored vector u (Miyato et al. 2018); u and sigma live in the ``spectral`` collection and
    are written when ``train`` (the train step keeps only D's own training passes' writes). An SN
    discriminator has no batch norm, as in Miyato et al. (its Lipschitz bound holds only without it).

    ``norm``: what follows the hidden convs: 'batch' (DCGAN's; D's output for one example then depends
    on the rest of its batch), 'layer' (over each example's C, H, W with per-channel scale and offset,
    as Gulrajani et al. 2017's WGAN-GP critic: per example, so gradient penalties are well defined) or
    'none'. Spectral norm implies 'none'.
    """

    image_shape: tuple[int, int, int]
    channels: Sequence[int]
    spectral_norm: bool = False
    num_classes: int = 0  # > 0: 'concat' adds one_hot(y) as K constant input channels; 'projection'
    conditioning: str = "concat"  # adds <E[y], phi(x)> on the flattened last conv features phi(x)
    dtype: Any = jnp.float32
    conv_impl: str = "canonical"  # as DCGANGenerator's
    norm: str = "batch"
    minibatch_std: bool = False  # the batch's feature spread as one more channel after the last conv

    @nn.compact
    def __call__(self, x: jax.Array, labels=None, *, train: bool) -> jax.Array:
        def normalise(h):
            if self.norm == "layer":
                return nn.LayerNorm(epsilon=1e-5, reduction_axes=(1, 2, 3), feature_axes=-1)(h)
            return layers.batch_norm(train)(h)

        def layer(module):
            return layers.spectral_normed(module, self.spectral_norm, train)

        one_hot = layers.one_hot_labels(labels, self.num_classes, "D")
        h = x.reshape(-1, *self.image_shape)
        if one_hot is not None and self.conditioning == "concat":
            planes = jnp.broadcast_to(one_hot[:, None, None, :], (*h.shape[:3], self.num_classes))
            h = jnp.concatenate([h, planes.astype(h.dtype)], axis=-1)
        for i, c in enumerate(self.channels):
            bn = i > 0 and not self.spectral_norm and self.norm != "none"
            conv = nn.Conv(
                c,
                (4, 4),
                strides=(2, 2),
                padding="SAME",
                use_bias=not bn,
                kernel_init=dcgan_normal,
                dtype=self.dtype,
                conv_general_dilated=layers.CONV_IMPLS[self.conv_impl],
            )
            h = layer(conv)(h)
            h = nn.leaky_relu(normalise(h) if bn else h, 0.2)
        h = layers.minibatch_std(h) if self.minibatch_std else h
        h = h.reshape(h.shape[0], -1)
        self.sow("intermediates", "features", h)
        dense = layer(nn.Dense(1, kernel_init=dcgan_normal, dtype=self.dtype, name="out"))
        return layers.d_logit(
            h, dense, labels, self.num_classes, self.conditioning, self.spectral_norm, train
        )


# image side -> G's channels as multiples of ngf from the first layer (D mirrors them); which pair makes
# which side is config.DCGAN_SHAPES
MULTIPLIERS = {28: (2, 1), 32: (8, 4, 2), 64: (8, 4, 2, 1)}
DCGAN_FIELDS = ("image_shape", "ngf", "ndf", "d_norm", "d_minibatch_std")  # a DCGAN config.model's
D_NORMS = ("batch", "layer", "none")
