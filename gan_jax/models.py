"""G and D: the 2014 MNIST generator and maxout discriminator (goodfeli/adversarial, mnist.yaml), plain
MLPs for the low-dimensional benchmarks, and the DCGAN convolutional pairs (Radford et al. 2016).
``config.model.name`` picks the pair.

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

import functools
import math
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import convolution
from gan_jax.errors import ConfigError

CONDITIONINGS = ("concat", "projection")
# the DCGAN convolutions' gradients: gan_jax.convolution's canonical-layout ones, or lax's own autodiff
CONV_IMPLS = {"canonical": convolution.conv_general_dilated, "lax": jax.lax.conv_general_dilated}
DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def symmetric_uniform(scale: float):
    """pylearn2's ``irange``: W ~ U(-scale, scale)."""

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -scale, scale)

    return init


def sample_noise(key: jax.Array, batch: int, dim: int) -> jax.Array:
    """z ~ U(-sqrt 3, sqrt 3)^dim: zero mean, unit variance per dimension."""
    return jax.random.uniform(key, (batch, dim), jnp.float32, -np.sqrt(3.0), np.sqrt(3.0))


def _one_hot(labels, num_classes: int, module_name: str) -> jax.Array:
    """one_hot(labels) [B, K] for a conditional module; ValueError when the labels do not fit it."""
    if num_classes and labels is None:
        raise ConfigError(f"{module_name} is conditional on {num_classes} classes: pass labels")
    if not num_classes and labels is not None:
        raise ConfigError(f"{module_name} is unconditional (config.model.num_classes=0): no labels")
    return None if labels is None else jax.nn.one_hot(labels, num_classes, dtype=jnp.float32)


def _with_labels(x: jax.Array, one_hot) -> jax.Array:
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


def _logit(features, dense, labels, num_classes: int, conditioning: str, spectral_norm: bool, train: bool):
    """D's float32 logit from its last features: w . phi + b (+ <E[y], phi> for 'projection')."""
    logit = dense(features)[..., 0].astype(jnp.float32)
    if num_classes and conditioning == "projection":
        projection = ClassProjection(num_classes, spectral_norm, name="projection")
        logit += projection(features, labels, train)
    return logit


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
        init = symmetric_uniform(self.init_scale)
        h = _with_labels(z, _one_hot(labels, self.num_classes, "G"))
        for width in self.hidden:
            h = nn.relu(nn.Dense(width, kernel_init=init, dtype=self.dtype)(h))
        out = nn.Dense(self.out_dim, kernel_init=init, dtype=self.dtype, name="out")(h)
        return nn.sigmoid(out.astype(jnp.float32))


MAXOUT_DENSE = "pieces"  # the Maxout layer's Dense, its columns piece-major
LEGACY_MAXOUT_DENSE = "Dense_0"  # its name when the columns were unit-major (restored: checkpoints.py)


class Maxout(nn.Module):
    """h_j = max_i (W x + b)_{i, j} over ``pieces`` linear pieces per unit, the Dense's columns laid
    out piece-major ([pieces, units]: column i * units + j is piece i of unit j), so the max is an
    element-wise maximum of ``pieces`` slabs of ``units`` contiguous columns per row (faster on the CPU
    than the unit-major layout: BENCHMARKS.md). Checkpoints of the unit-major layout (its Dense named
    ``Dense_0``) are converted when restored (``checkpoints.restore_checkpoint``)."""

    units: int
    pieces: int
    init_scale: float
    dtype: Any = jnp.float32
    spectral_norm: bool = False  # the Dense's kernel / sigma (spectral_normed): h is then 1-Lipschitz

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        # init_scale 0: flax's default (LeCun normal) instead of U(-scale, scale)
        init = symmetric_uniform(self.init_scale) if self.init_scale else nn.initializers.lecun_normal()
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
    spectral_norm: bool = False  # every Dense spectrally normalised (spectral_normed)

    @nn.compact
    def __call__(self, x: jax.Array, labels=None, *, train: bool) -> jax.Array:
        one_hot = _one_hot(labels, self.num_classes, "D")
        h = nn.Dropout(1.0 - self.input_keep, deterministic=not train)(x)
        if self.conditioning == "concat":
            h = _with_labels(h, one_hot)
        for _ in range(self.num_layers):
            maxout = Maxout(self.units, self.pieces, self.init_scale, self.dtype, self.spectral_norm)
            h = maxout(h, train=train)
            h = nn.Dropout(1.0 - self.hidden_keep, deterministic=not train)(h)
        self.sow("intermediates", "features", h)
        init = symmetric_uniform(self.init_scale)
        dense = spectral_normed(
            nn.Dense(1, kernel_init=init, dtype=self.dtype, name="out"), self.spectral_norm, train
        )
        return _logit(h, dense, labels, self.num_classes, self.conditioning, self.spectral_norm, train)


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


class MLPGenerator(nn.Module):
    """x = G(z) with ReLU hidden layers and a linear output (data on the real line or plane);
    ``batch_norm``: batch norm before each ReLU (PacGAN's toy G)."""

    hidden: Sequence[int] = (128, 128)
    out_dim: int = 2
    batch_norm: bool = False

    @nn.compact
    def __call__(self, z: jax.Array, *, train: bool = False) -> jax.Array:
        h = z
        for width in self.hidden:
            h = nn.Dense(width)(h)
            h = nn.relu(_batch_norm(train)(h) if self.batch_norm else h)
        return nn.Dense(self.out_dim, name="out")(h)


def minibatch_std(h: jax.Array) -> jax.Array:
    """``h`` [B, ..., C] with one more feature (channel): the standard deviation of each feature across
    the batch, averaged over features (Karras et al. 2018, Sec. 3, one group), the same for every
    example. D then sees how varied its batch is, and a collapsed G's batch gives itself away."""
    spread = jnp.mean(jnp.sqrt(jnp.var(h.astype(jnp.float32), axis=0) + 1e-8))
    return jnp.concatenate([h, jnp.full((*h.shape[:-1], 1), spread, h.dtype)], axis=-1)


class MLPDiscriminator(nn.Module):
    """l(x) with ReLU hidden layers; no dropout. ``spectral_norm``: every Dense spectrally normalised
    (``spectral_normed``; its power iteration runs when ``train``), so l is 1-Lipschitz.
    ``minibatch_std``: the batch's feature spread appended before the output layer (``minibatch_std``)."""

    hidden: Sequence[int] = (128, 128)
    spectral_norm: bool = False
    minibatch_std: bool = False
    pieces: int = 0  # > 0: maxout hidden layers of that many pieces a unit (PacGAN's toy D) for ReLU

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        h = x
        for width in self.hidden:
            if self.pieces:
                h = Maxout(width, self.pieces, 0.0, spectral_norm=self.spectral_norm)(h, train=train)
            else:
                h = nn.relu(spectral_normed(nn.Dense(width), self.spectral_norm, train)(h))
        h = minibatch_std(h) if self.minibatch_std else h
        return spectral_normed(nn.Dense(1, name="out"), self.spectral_norm, train)(h)[..., 0]


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


def dcgan_normal(key, shape, dtype=jnp.float32):
    """DCGAN's weight initialisation: W ~ N(0, 0.02^2) (Radford et al. 2016, Sec. 4). Drawn as one flat
    vector and reshaped: the same distribution, and XLA on the CPU compiles a rank-4 draw slowly."""
    return 0.02 * jax.random.normal(key, (math.prod(shape),), dtype).reshape(shape)


def dcgan_bn_scale(key, shape, dtype=jnp.float32):
    """Batch-norm scale gamma ~ N(1, 0.02^2), as the PyTorch DCGAN reference initialises it."""
    return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


def _batch_norm(train: bool) -> nn.Module:
    """Batch norm as in PyTorch (running average momentum 0.1, eps 1e-5): batch moments when
    ``train``, the running averages (``batch_stats``) otherwise."""
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, scale_init=dcgan_bn_scale)


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
    conv_impl: str = "canonical"  # CONV_IMPLS: the same math; 'canonical' is what XLA's CPU runs fast

    @nn.compact
    def __call__(self, z: jax.Array, labels=None, *, train: bool = False) -> jax.Array:
        height, width, colours = self.image_shape
        scale = 2 ** len(self.channels)
        side = (height // scale, width // scale)
        z = _with_labels(z, _one_hot(labels, self.num_classes, "G"))
        dense = nn.Dense(
            side[0] * side[1] * self.channels[0], use_bias=False, kernel_init=dcgan_normal, dtype=self.dtype
        )
        h = nn.relu(_batch_norm(train)(dense(z).reshape(-1, *side, self.channels[0])))
        # nn.ConvTranspose(4x4, stride 2, 'SAME') written as the convolution it is (input dilated by 2),
        # so that its gradients take gan_jax.convolution's fast CPU layout; the same parameters and math
        conv = functools.partial(
            nn.Conv,
            kernel_size=(4, 4),
            padding=(convolution.transpose_same_padding(4, 2),) * 2,
            input_dilation=(2, 2),
            kernel_init=dcgan_normal,
            dtype=self.dtype,
            conv_general_dilated=CONV_IMPLS[self.conv_impl],
        )
        for i, c in enumerate(self.channels[1:]):
            h = nn.relu(_batch_norm(train)(conv(c, use_bias=False, name=f"ConvTranspose_{i}")(h)))
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
            return _batch_norm(train)(h)

        def layer(module):
            return spectral_normed(module, self.spectral_norm, train)

        one_hot = _one_hot(labels, self.num_classes, "D")
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
                conv_general_dilated=CONV_IMPLS[self.conv_impl],
            )
            h = layer(conv)(h)
            h = nn.leaky_relu(normalise(h) if bn else h, 0.2)
        h = minibatch_std(h) if self.minibatch_std else h
        h = h.reshape(h.shape[0], -1)
        self.sow("intermediates", "features", h)
        dense = layer(nn.Dense(1, kernel_init=dcgan_normal, dtype=self.dtype, name="out"))
        return _logit(h, dense, labels, self.num_classes, self.conditioning, self.spectral_norm, train)


# name -> (the image side it makes, G's channels as multiples of ngf from the first layer; D mirrors them)
DCGAN = {"dcgan28": (28, (2, 1)), "dcgan32": (32, (8, 4, 2)), "dcgan64": (64, (8, 4, 2, 1))}
MODELS = ("paper_mlp", "mlp", "dirac", *DCGAN)
DCGAN_FIELDS = ("image_shape", "ngf", "ndf", "d_norm", "d_minibatch_std")  # a DCGAN config.model's
D_NORMS = ("batch", "layer", "none")


def d_mixes_batch(model_config) -> bool:
    """Whether D's output for one example depends on the others of its batch (batch norm in a DCGAN D
    without spectral norm, the minibatch std feature of the models that have it): a penalty on its input
    gradient is then not per example."""
    m = model_config
    batch_norm = m.name in DCGAN and not m.spectral_norm and m.d_norm == "batch"
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
    if name in DCGAN:
        return OUTPUT_RANGES.get(model_config.output)
    return (0.0, 1.0) if name == "paper_mlp" else None


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
    if name not in DTYPES:
        raise ConfigError(f"unknown config.model.dtype {name!r}; choose one of: {', '.join(DTYPES)}")
    return DTYPES[name]


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
    """The DCGAN convolutions' gradients, ``model.conv_impl``: 'canonical' (gan_jax/convolution.py),
    'lax' (lax's autodiff), or 'auto' (the default): canonical on the CPU backend, where it is the
    faster (BENCHMARKS.md), lax elsewhere."""
    name = model_config.conv_impl
    if name != "auto" and name not in CONV_IMPLS:
        raise ConfigError(
            f"unknown config.model.conv_impl {name!r}; choose one of: auto, {', '.join(CONV_IMPLS)}"
        )
    if name == "auto":
        return "canonical" if jax.default_backend() == "cpu" else "lax"
    return name


def build_dcgan(m, pack: int = 1) -> tuple[nn.Module, nn.Module]:
    """The DCGAN pair ``m.name``: G's channels ngf * multipliers, D's the mirror with ndf."""
    side, multipliers = DCGAN[m.name]
    missing = [f for f in DCGAN_FIELDS if f not in m]
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
    if output not in OUTPUTS:
        raise ConfigError(f"unknown config.model.output {output!r}; choose one of: {', '.join(OUTPUTS)}")
    classes, dtype = num_classes(m), compute_dtype(m)
    impl = conv_impl(m)
    g = DCGANGenerator(shape, tuple(m.ngf * k for k in multipliers), output, classes, dtype, impl)
    d_channels = tuple(m.ndf * k for k in reversed(multipliers))
    spectral = bool(m.spectral_norm)
    if m.d_norm not in D_NORMS:
        raise ConfigError(f"unknown config.model.d_norm {m.d_norm!r}; choose one of: {', '.join(D_NORMS)}")
    d_shape = (*shape[:2], shape[2] * pack)  # PacGAN: m images along the channels
    d = DCGANDiscriminator(
        d_shape, d_channels, spectral, classes, conditioning(m), dtype, impl, m.d_norm, m.d_minibatch_std
    )
    return g, d


def build_models(config) -> tuple[nn.Module, nn.Module]:
    """(G, D) for ``config.model.name``: 'paper_mlp' (the 2014 MNIST pair), 'mlp', or a DCGAN pair
    ('dcgan28' for 28x28 MNIST, 'dcgan32', 'dcgan64'; fields ``image_shape``, ``ngf``, ``ndf``, ``output``,
    ``spectral_norm``, ``conv_impl``). 'paper_mlp' and the DCGAN pairs also take ``num_classes``,
    ``conditioning`` and ``dtype`` (see the module doc)."""
    m = config.model
    name = m.name
    if name in DCGAN:
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
        d = MLPDiscriminator(tuple(m.d_hidden), bool(m.spectral_norm), bool(m.d_minibatch_std), m.d_pieces)
        return MLPGenerator(tuple(m.g_hidden), m.data_dim, bool(m.g_batch_norm)), d
    if name != "paper_mlp":
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
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
