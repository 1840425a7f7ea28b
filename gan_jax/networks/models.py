"""G and D: the 2014 MNIST generator and maxout discriminator (goodfeli/adversarial, mnist.yaml), plain
MLPs for the low-dimensional benchmarks, the Dirac-GAN pair, and the DCGAN convolutional pairs
(Radford et al. 2016; gan_jax/networks/dcgan.py). ``config.model.name`` picks the pair (``build_models``);
the shared layers are in gan_jax/networks/layers.py.

Every G is called as ``G(z, train=...)`` and every D as ``D(x, train=...)``; images flow in and out
as flat vectors [B, H*W*C] and the convolutional modules reshape them to ``image_shape`` inside.
Non-param variables (batch norm running averages in ``batch_stats``, spectral-norm power-iteration
vectors in ``spectral``) are the model's state: ``TrainState.g_state`` / ``d_state``.

Conditional GANs (Mirza & Osindero 2014; the paper's Sec. 7, first extension): with
``config.model.num_classes`` = K > 0, G and D take integer ``labels`` [B] too, ``G(z, labels)`` and
``D(x, labels)``. G sees one_hot(y) concatenated to z. D's ``conditioning``: 'concat' feeds one_hot(y)
beside the input (the MLP: next to the pixels; DCGAN: as K constant image channels), 'projection'
(Miyato & Koyama 2018) adds <E[y], phi(x)> to the logit, phi(x) D's last hidden features and E a
learned class embedding: l(x, y) = w . phi(x) + b + E[y] . phi(x); with ``spectral_norm`` E is divided
by its top singular value too, as in the authors' code.

``config.model.dtype`` 'bfloat16' runs every matmul and convolution in bfloat16, the output layers
included (D's logit and G's pre-activation output are bf16-rounded, then cast to float32); parameters,
losses, G's output activation and batch-norm statistics are float32.
"""

import math
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import config as config_lib
from gan_jax.errors import ConfigError
from gan_jax.networks import autoencoder, dcgan, layers, random_features
from gan_jax.networks.mlp import MLPDiscriminator, MLPGenerator

CONDITIONINGS = ("concat", "projection")
MLP_OUTPUTS = ("linear", "sigmoid")  # the 'mlp' G's output activations


class Generator(nn.Module):
    """x = G(z): ReLU MLP with a sigmoid output; noise enters only the bottom layer."""

    hidden: Sequence[int] = (1200, 1200)
    out_dim: int = 784
    init_scale: float = 0.05
    num_classes: int = 0  # > 0: x = G(z, y), one_hot(y) concatenated to z
    dtype: Any = jnp.float32  # the matmuls' dtype

    @nn.compact
    def __call__(self, z: jax.Array, labels=None, *, train: bool = False) -> jax.Array:
        del train  # no batch statistics: the same function in training and sampling
        init = layers.symmetric_uniform(self.init_scale)
        h = layers.with_labels(z, layers.one_hot_labels(labels, self.num_classes, "G"))
        for width in self.hidden:
            h = nn.relu(nn.Dense(width, kernel_init=init, dtype=self.dtype)(h))
        out = nn.Dense(self.out_dim, kernel_init=init, dtype=self.dtype, name="out")(h)
        return nn.sigmoid(out.astype(jnp.float32))


class Discriminator(nn.Module):
    """l(x), the logit of D(x): dropout -> maxout -> dropout -> maxout -> dropout -> Dense 1.

    Dropout keeps ``input_keep`` of the pixels and ``hidden_keep`` of each hidden layer's inputs
    (scaled by 1/keep, as pylearn2 does); it is active only when ``train=True``. Conditional
    (``num_classes`` > 0): 'concat' puts one_hot(y) beside the dropped-out pixels; 'projection' adds
    <E[y], phi(x)>, phi(x) the last dropout's output (sown as ``intermediates/features``).
    """

    units: int = 240
    pieces: int = 5
    num_layers: int = 2
    init_scale: float = 0.005
    input_keep: float = 0.8
    hidden_keep: float = 0.5
    num_classes: int = 0
    conditioning: str = "concat"
    dtype: Any = jnp.float32
    spectral_norm: bool = False  # every Dense spectrally normalised (``layers.spectral_normed``)

    @nn.compact
    def __call__(self, x: jax.Array, labels=None, *, train: bool) -> jax.Array:
        one_hot = layers.one_hot_labels(labels, self.num_classes, "D")
        h = nn.Dropout(1.0 - self.input_keep, deterministic=not train)(x)
        if self.conditioning == "concat":
            h = layers.with_labels(h, one_hot)
        for _ in range(self.num_layers):
            maxout = layers.Maxout(self.units, self.pieces, self.init_scale, self.dtype, self.spectral_norm)
            h = maxout(h, train=train)
            h = nn.Dropout(1.0 - self.hidden_keep, deterministic=not train)(h)
        self.sow("intermediates", "features", h)
        init = layers.symmetric_uniform(self.init_scale)
        dense = layers.spectral_normed(
            nn.Dense(1, kernel_init=init, dtype=self.dtype, name="out"), self.spectral_norm, train
        )
        return layers.d_logit(
            h, dense, labels, self.num_classes, self.conditioning, self.spectral_norm, train
        )


def variables(params, model_state) -> dict:
    """The flax variables of a model: its params and its state collections (none when state is None)."""
    return {"params": params} | (model_state or {})


def split_variables(variables: dict) -> tuple[dict, dict | None]:
    """(params, state): the state is every collection but 'params' (and the sown, per-call
    'intermediates'), None when there is none."""
    state = {k: v for k, v in variables.items() if k not in ("params", "intermediates")}
    return variables["params"], state or None


def marginal_logit(mean_pixel: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """logit(clip(mean pixel, eps, 1 - eps)): G's output bias so sigmoid(bias) = E[x] per pixel."""
    p = np.clip(np.asarray(mean_pixel, np.float64), eps, 1.0 - eps)
    return np.log(p / (1.0 - p)).astype(np.float32)


class DiracGenerator(nn.Module):
    """The Dirac-GAN's G (Mescheder et al. 2018, Sec. 2.2): G(z) = theta for every z, theta in R^1."""

    theta0: float = 1.0

    @nn.compact
    def __call__(self, z: jax.Array, *, train: bool = False) -> jax.Array:
        del train
        theta = self.param("theta", nn.initializers.constant(self.theta0), (1,))
        return jnp.broadcast_to(theta, (z.shape[0], 1))


class LinearDiscriminator(nn.Module):
    """The Dirac-GAN's D: l(x) = psi . x, no bias."""

    psi0: float = 1.0

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        del train
        psi = self.param("psi", nn.initializers.constant(self.psi0), (x.shape[-1],))
        return x @ psi


def d_mixes_batch(model_config) -> bool:
    """Whether D's output for one example depends on the others of its batch (batch norm in a DCGAN D
    without spectral norm, the minibatch std feature of the models that have it): a penalty on its input
    gradient is then not per example."""
    m = model_config
    if m.discriminator != "network":  # a per-example logistic head on fixed features
        return False
    batch_norm = m.name in config_lib.DCGAN_SHAPES and not m.spectral_norm and m.d_norm == "batch"
    return batch_norm or bool(m.get("d_minibatch_std", False))  # (a field of the models that have it)


def image_shape(model_config) -> tuple[int, ...] | None:
    """(H, W, C) of the model's images: ``model.image_shape``, (28, 28, 1) for a 784-dim model without
    it (the paper's MNIST MLP), None for vector data."""
    if "image_shape" in model_config:
        return tuple(int(d) for d in model_config.image_shape)
    return (28, 28, 1) if model_config.data_dim == 784 else None


def output_range(model_config) -> tuple[float, float] | None:
    """The range of G's output activation: [0, 1] for the paper's sigmoid, the DCGAN ``output``'s, None
    for the linear 'mlp'."""
    name = model_config.name
    if name in config_lib.DCGAN_SHAPES:
        return dcgan.OUTPUT_RANGES.get(model_config.output)
    sigmoid = name in ("paper_mlp", "autoencoder", "gmmn_ae")
    sigmoid |= name == "mlp" and model_config.get("g_output") == "sigmoid"
    return (0.0, 1.0) if sigmoid else None


def init_reads_mean(model_config) -> bool:
    """Whether the model's initial state reads the training data's mean pixel: the paper MLP's G starts
    its sigmoid output bias at the data's marginal logits (``marginal_logit``); no other model does."""
    return model_config.name == "paper_mlp"


def init_mean_pixel(model_config, x_train) -> np.ndarray:
    """``create_train_state``'s ``mean_pixel``: the training data's mean where the model reads it, else
    zeros with nothing computed (the data may be 8 GB, or a host may hold none of its rows)."""
    if init_reads_mean(model_config):
        return np.asarray(x_train).mean(axis=0)
    return np.zeros(model_config.data_dim, np.float32)


def num_classes(model_config) -> int:
    """K of a conditional model (``model.num_classes``), 0 for an unconditional one."""
    return int(model_config.num_classes)


def compute_dtype(model_config):
    """The matmul/convolution dtype ``model.dtype`` ('float32' or 'bfloat16')."""
    name = model_config.dtype
    if name not in layers.DTYPES:
        raise ConfigError(f"unknown config.model.dtype {name!r}; choose one of: {', '.join(layers.DTYPES)}")
    return layers.DTYPES[name]


def conditioning(model_config) -> str:
    """D's conditioning ``model.conditioning``: 'concat' or 'projection' (see the module doc)."""
    name = model_config.conditioning
    if name not in CONDITIONINGS:
        raise ConfigError(
            f"unknown config.model.conditioning {name!r}; choose one of: {', '.join(CONDITIONINGS)}"
        )
    if num_classes(model_config) < 0:
        raise ConfigError(
            f"config.model.num_classes must be >= 0 (0: unconditional), got {num_classes(model_config)}"
        )
    return name


def conv_impl(model_config) -> str:
    """The DCGAN convolutions' gradients, ``model.conv_impl``: 'canonical' (gan_jax/networks/convolution.py),
    'lax' (lax's autodiff), or 'auto' (the default): canonical on the CPU backend, where it is the
    faster (experiments/reports/BENCHMARKS.md), lax elsewhere."""
    name = model_config.conv_impl
    if name != "auto" and name not in layers.CONV_IMPLS:
        raise ConfigError(
            f"unknown config.model.conv_impl {name!r}; choose one of: auto, {', '.join(layers.CONV_IMPLS)}"
        )
    if name == "auto":
        return "canonical" if jax.default_backend() == "cpu" else "lax"
    return name


def build_dcgan(m, pack: int = 1) -> tuple[nn.Module, nn.Module]:
    """The DCGAN pair ``m.name``: G's channels ngf * multipliers, D's the mirror with ndf."""
    (side, _, _), _ = config_lib.DCGAN_SHAPES[m.name]
    multipliers = dcgan.MULTIPLIERS[side]
    missing = [f for f in dcgan.DCGAN_FIELDS if f not in m]
    if missing:  # e.g. the name set on the paper MLP's config
        raise ConfigError(
            f"model {m.name!r} needs config.model.{', '.join(missing)}: start from a DCGAN config "
            "(--config=experiments/configs/dcgan_mnist.py, dcgan_cifar10.py or dcgan_celeba.py)"
        )
    shape = image_shape(m)
    if shape is None or shape[:2] != (side, side):
        raise ConfigError(f"model {m.name!r} makes {side}x{side} images; config.model.image_shape={shape}")
    if math.prod(shape) != m.data_dim:
        raise ConfigError(
            f"config.model.data_dim={m.data_dim} but image_shape {shape} has {math.prod(shape)}"
        )
    output = m.output
    if output not in dcgan.OUTPUTS:
        raise ConfigError(
            f"unknown config.model.output {output!r}; choose one of: {', '.join(dcgan.OUTPUTS)}"
        )
    classes, dtype = num_classes(m), compute_dtype(m)
    impl = conv_impl(m)
    g = dcgan.DCGANGenerator(shape, tuple(m.ngf * k for k in multipliers), output, classes, dtype, impl)
    d_channels = tuple(m.ndf * k for k in reversed(multipliers))
    spectral = bool(m.spectral_norm)
    if m.d_norm not in dcgan.D_NORMS:
        raise ConfigError(
            f"unknown config.model.d_norm {m.d_norm!r}; choose one of: {', '.join(dcgan.D_NORMS)}"
        )
    d_shape = (*shape[:2], shape[2] * pack)  # PacGAN: m images along the channels
    d = dcgan.DCGANDiscriminator(
        d_shape, d_channels, spectral, classes, conditioning(m), dtype, impl, m.d_norm, m.d_minibatch_std
    )
    return g, d


def build_models(config) -> tuple[nn.Module, nn.Module]:
    """(G, D) for ``config.model.name``: 'paper_mlp' (the 2014 MNIST pair), 'mlp', or a DCGAN pair
    ('dcgan28' for 28x28 MNIST, 'dcgan32', 'dcgan64'; fields ``image_shape``, ``ngf``, ``ndf``, ``output``,
    ``spectral_norm``, ``conv_impl``). 'paper_mlp' and the DCGAN pairs also take ``num_classes``,
    ``conditioning`` and ``dtype`` (see the module doc). ``model.discriminator`` other than
    'network' replaces the family's D by a logistic head on fixed random features
    (gan_jax/networks/random_features.py)."""
    g, d = family_models(config)
    shape = image_shape(config.model)
    d_shape = None if shape is None else (*shape[:2], shape[2] * config.pack)  # PacGAN: along the channels
    return g, random_features.build(config.model, d_shape) or d


def family_models(config) -> tuple[nn.Module, nn.Module]:
    """(G, D) of the family ``config.model.name``, D its own network."""
    m = config.model
    name = m.name
    if name in config_lib.DCGAN_SHAPES:
        return build_dcgan(m, config.pack)
    if name == "dirac":
        if num_classes(m) or m.dtype != "float32" or m.spectral_norm or m.data_dim != 1:
            raise ConfigError(
                "model 'dirac' is 1-D, unconditional, float32, without spectral norm: set "
                "config.model.data_dim=1, num_classes=0, dtype=float32, spectral_norm=False"
            )
        return DiracGenerator(m.theta0), LinearDiscriminator(m.psi0)
    if name == "mlp":
        if num_classes(m) or m.dtype != "float32":
            raise ConfigError(
                "model 'mlp' is unconditional and float32: set config.model.num_classes=0, dtype=float32"
            )
        std = float(m.init_std)
        if not std >= 0:
            raise ConfigError(
                f"config.model.init_std must be >= 0 (0: flax's LeCun normal), got {m.init_std}"
            )
        if m.g_output not in MLP_OUTPUTS or int(m.d_features) < 0:
            raise ConfigError(
                f"config.model.g_output must be one of {', '.join(MLP_OUTPUTS)} (got {m.g_output!r}) and "
                f"config.model.d_features >= 0 (got {m.d_features})"
            )
        d = MLPDiscriminator(
            tuple(m.d_hidden),
            bool(m.spectral_norm),
            bool(m.d_minibatch_std),
            m.d_pieces,
            std,
            int(m.d_features),
        )
        g = MLPGenerator(tuple(m.g_hidden), m.data_dim, bool(m.g_batch_norm), std, m.g_output)
        return g, d
    if name in ("autoencoder", "gmmn_ae"):  # GMMN+AE's, G alone (no D)
        if name == "autoencoder":
            ae = autoencoder.Autoencoder(m.data_dim, m.ae_hidden, m.z_dim, m.ae_input_drop, m.ae_hidden_drop)
            return ae, None
        g = autoencoder.CodeGenerator(tuple(m.g_hidden), m.code_dim, m.ae_hidden, m.data_dim, m.init_std)
        return g, None
    if name != "paper_mlp":
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(config_lib.MODELS)}")
    k, dtype = num_classes(m), compute_dtype(m)
    g = Generator(
        hidden=tuple(m.g_hidden), out_dim=m.data_dim, init_scale=m.g_init_scale, num_classes=k, dtype=dtype
    )
    d = Discriminator(
        units=m.d_units,
        pieces=m.d_pieces,
        num_layers=m.d_layers,
        init_scale=m.d_init_scale,
        input_keep=m.d_input_keep,
        hidden_keep=m.d_hidden_keep,
        num_classes=k,
        conditioning=conditioning(m),
        dtype=dtype,
        spectral_norm=bool(m.spectral_norm),
    )
    return g, d


def label_kwargs(labels) -> dict:
    """``{'labels': labels}`` for a conditional call, ``{}`` for an unconditional one (labels None)."""
    return {} if labels is None else {"labels": labels}
