"""Plain MLPs: a G with ReLU hidden layers for low-dimensional data (and GMMN's MNIST G) and a ReLU or
maxout D (optionally spectrally normalised, with minibatch std, or a feature map for MMD-GAN). Used by
``models.family_models`` ('mlp') and by the autoencoder models (gan_jax/networks/autoencoder.py)."""

from collections.abc import Sequence

import flax.linen as nn
import jax

from gan_jax.networks import layers


class MLPGenerator(nn.Module):
    """x = G(z) with ReLU hidden layers and a linear output (data on the real line or plane);
    ``batch_norm``: batch norm before each ReLU (PacGAN's toy G). Weights N(0, ``init_std``^2) when
    it is > 0 (``layers.kernel_init``), biases 0."""

    hidden: Sequence[int] = (128, 128)
    out_dim: int = 2
    batch_norm: bool = False
    init_std: float = 0.0
    output: str = "linear"  # or 'sigmoid' (data in [0, 1]: GMMN's MNIST G)

    @nn.compact
    def __call__(self, z: jax.Array, *, train: bool = False) -> jax.Array:
        init, h = layers.kernel_init(self.init_std), z
        for width in self.hidden:
            h = nn.Dense(width, kernel_init=init)(h)
            h = nn.relu(layers.batch_norm(train)(h) if self.batch_norm else h)
        out = nn.Dense(self.out_dim, kernel_init=init, name="out")(h)
        return nn.sigmoid(out) if self.output == "sigmoid" else out


class MLPDiscriminator(nn.Module):
    """l(x) with ReLU hidden layers; no dropout. ``spectral_norm``: every Dense spectrally normalised
    (``layers.spectral_normed``; its power iteration runs when ``train``), so l is 1-Lipschitz.
    ``minibatch_std``: the batch's feature spread appended before the output layer
    (``layers.minibatch_std``). Weights N(0, ``init_std``^2) when it is > 0, biases 0."""

    hidden: Sequence[int] = (128, 128)
    spectral_norm: bool = False
    minibatch_std: bool = False
    pieces: int = 0  # > 0: maxout hidden layers of that many pieces a unit (PacGAN's toy D) for ReLU
    init_std: float = 0.0
    features: int = 0  # > 0: the output is [B, features] (MMD-GAN's learned feature map), not a logit

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        init, sn, h = layers.kernel_init(self.init_std), self.spectral_norm, x
        for width in self.hidden:
            if self.pieces:
                h = layers.Maxout(width, self.pieces, 0.0, spectral_norm=sn, init_std=self.init_std)(
                    h, train=train
                )
            else:
                h = nn.relu(layers.spectral_normed(nn.Dense(width, kernel_init=init), sn, train)(h))
        h = layers.minibatch_std(h) if self.minibatch_std else h
        out = layers.spectral_normed(nn.Dense(self.features or 1, kernel_init=init, name="out"), sn, train)(h)
        return out if self.features else out[..., 0]
