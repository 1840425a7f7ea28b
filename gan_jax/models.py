"""G and D: the 2014 MNIST generator and maxout discriminator (goodfeli/adversarial, mnist.yaml), and
plain MLPs for the low-dimensional benchmarks. ``config.model.name`` picks the pair."""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


def symmetric_uniform(scale: float):
    """pylearn2's ``irange``: W ~ U(-scale, scale)."""

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -scale, scale)

    return init


def sample_noise(key: jax.Array, batch: int, dim: int) -> jax.Array:
    """z ~ U(-sqrt 3, sqrt 3)^dim: zero mean, unit variance per dimension."""
    return jax.random.uniform(key, (batch, dim), jnp.float32, -np.sqrt(3.0), np.sqrt(3.0))


class Generator(nn.Module):
    """x = G(z): ReLU MLP with a sigmoid output; noise enters only the bottom layer."""

    hidden: Sequence[int] = (1200, 1200)
    out_dim: int = 784
    init_scale: float = 0.05

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        init = symmetric_uniform(self.init_scale)
        h = z
        for width in self.hidden:
            h = nn.relu(nn.Dense(width, kernel_init=init)(h))
        return nn.sigmoid(nn.Dense(self.out_dim, kernel_init=init, name="out")(h))


class Maxout(nn.Module):
    """h_j = max_i (W x + b)_{j, i} over ``pieces`` linear pieces per unit."""

    units: int
    pieces: int
    init_scale: float

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        z = nn.Dense(self.units * self.pieces, kernel_init=symmetric_uniform(self.init_scale))(x)
        return jnp.max(z.reshape(*z.shape[:-1], self.units, self.pieces), axis=-1)


class Discriminator(nn.Module):
    """l(x), the logit of D(x): dropout -> maxout -> dropout -> maxout -> dropout -> Dense 1.

    Dropout keeps ``input_keep`` of the pixels and ``hidden_keep`` of each hidden layer's inputs
    (scaled by 1/keep, as pylearn2 does); it is active only when ``train=True``.
    """

    units: int = 240
    pieces: int = 5
    num_layers: int = 2
    init_scale: float = 0.005
    input_keep: float = 0.8
    hidden_keep: float = 0.5

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        h = nn.Dropout(1.0 - self.input_keep, deterministic=not train)(x)
        for _ in range(self.num_layers):
            h = Maxout(self.units, self.pieces, self.init_scale)(h)
            h = nn.Dropout(1.0 - self.hidden_keep, deterministic=not train)(h)
        init = symmetric_uniform(self.init_scale)
        return nn.Dense(1, kernel_init=init, name="out")(h)[..., 0]


def marginal_logit(mean_pixel: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """logit(clip(mean pixel, eps, 1 - eps)): G's output bias so sigmoid(bias) = E[x] per pixel."""
    p = np.clip(np.asarray(mean_pixel, np.float64), eps, 1.0 - eps)
    return np.log(p / (1.0 - p)).astype(np.float32)


class MLPGenerator(nn.Module):
    """x = G(z) with ReLU hidden layers and a linear output (data on the real line or plane)."""

    hidden: Sequence[int] = (128, 128)
    out_dim: int = 2

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        h = z
        for width in self.hidden:
            h = nn.relu(nn.Dense(width)(h))
        return nn.Dense(self.out_dim, name="out")(h)


class MLPDiscriminator(nn.Module):
    """l(x) with ReLU hidden layers; no dropout (``train`` is accepted for a common signature)."""

    hidden: Sequence[int] = (128, 128)

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        del train
        h = x
        for width in self.hidden:
            h = nn.relu(nn.Dense(width)(h))
        return nn.Dense(1, name="out")(h)[..., 0]


MODELS = ("paper_mlp", "mlp")


def build_models(config) -> tuple[nn.Module, nn.Module]:
    """(G, D) for ``config.model.name``: 'paper_mlp' (the 2014 MNIST pair) or 'mlp'."""
    m = config.model
    name = m.get("name", "paper_mlp")
    if name == "mlp":
        return MLPGenerator(tuple(m.g_hidden), m.data_dim), MLPDiscriminator(tuple(m.d_hidden))
    if name != "paper_mlp":
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    g = Generator(hidden=tuple(m.g_hidden), out_dim=m.data_dim, init_scale=m.g_init_scale)
    d = Discriminator(
        units=m.d_units,
        pieces=m.d_pieces,
        num_layers=m.d_layers,
        init_scale=m.d_init_scale,
        input_keep=m.d_input_keep,
        hidden_keep=m.d_hidden_keep,
    )
    return g, d
