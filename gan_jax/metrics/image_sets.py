"""Image sets for the two-set evaluation (``set_metrics``): a user's array checked and read as images,
and a dataset's reference split.

An array is accepted as

- images [N, H, W, C] with C = 1 (grey) or 3 (RGB), or [N, H, W] (grey);
- flat rows [N, D] of square channels-last images, as gan_jax's data flows: D = s^2 (grey, MNIST's
  and Fashion-MNIST's 784 = 28 x 28) or D = 3 s^2 (RGB); D is never both (3 is not a square);

with pixels uint8 in [0, 255] (read as x / 255, the convention of pytorch-fid and clean-fid, which read
8-bit image files) or float in [0, 1]. Anything else is an ``EvalError`` in one line, raised before
any feature is computed. The network's own requirements (grey tiled to RGB, 299 x 299 input) are met by
``gan_jax.metrics.inception``; an extractor that does not resize takes 299 x 299 images only.
"""

import math
import re
from typing import NamedTuple

import numpy as np

from gan_jax import config as config_lib
from gan_jax.data import datasets
from gan_jax.errors import EvalError

NETWORK_SIZE = 299  # Inception-v3's input side
REFERENCE_DATASETS = ("mnist", "fashion_mnist")  # the datasets with a reference split here
REFERENCE_SPLITS = ("train", "test")
DATASET_SCALE = 256.0  # gan_jax's MNIST and Fashion-MNIST floats are uint8 / 256 (gan_jax/data/mnist.py)


class ImageSet(NamedTuple):
    """A checked set: ``images`` [N, H, W, C] in their stored dtype (uint8 or float), ``source`` the
    file path or dataset split it came from, ``pixels`` how its values are read ('uint8 / 255' or
    'float in [0, 1]')."""

    images: np.ndarray
    source: str
    pixels: str


def _square_side(d: int) -> int | None:
    side = math.isqrt(d)
    return side if side * side == d else None


def _as_nhwc(array: np.ndarray, name: str) -> np.ndarray:
    """[N, H, W, C] view of an accepted shape; EvalError for any other."""
    if array.ndim == 2:
        d = array.shape[1]
        grey, rgb = _square_side(d), (_square_side(d // 3) if d % 3 == 0 else None)
        if grey is None and rgb is None:
            raise EvalError(
                f"{name}: flat rows of {d} values are not square images (D = s*s grey, e.g. 784 = 28x28, or "
                "3*s*s RGB); save images as [N, H, W, C]"
            )
        return array.reshape(len(array), grey, grey, 1) if grey else array.reshape(len(array), rgb, rgb, 3)
    if array.ndim == 3:
        return array[..., None]
    if array.ndim == 4:
        return array
    raise EvalError(f"{name}: shape {array.shape} is not images [N, H, W, C], [N, H, W] or flat rows [N, D]")


def check_images(array, name: str, source: str) -> ImageSet:
    """``array`` as an ``ImageSet`` (see the module docstring for what is accepted); EvalError, naming
    ``name``, for an empty set, a shape or channel count the network cannot take, a dtype that is
    neither uint8 nor float, NaN/Inf, or float pixels outside [0, 1]."""
    array = np.asarray(array)
    if array.dtype.kind == "f":
        pixels = "float in [0, 1]"
    elif array.dtype == np.uint8:
        pixels = "uint8 / 255"
    else:
        raise EvalError(f"{name}: pixels of dtype {array.dtype}; give uint8 in [0, 255] or float in [0, 1]")
    images = _as_nhwc(array, name)
    n, h, w, c = images.shape
    if n == 0 or h == 0 or w == 0:
        raise EvalError(f"{name}: an empty set (shape {array.shape})")
    if c not in (1, 3):
        raise EvalError(f"{name}: {c} channels; the network takes 1 (grey, tiled to RGB) or 3 (RGB)")
    if pixels.startswith("float"):
        if not np.isfinite(images).all():
            raise EvalError(f"{name}: {int(np.sum(~np.isfinite(images)))} pixels are NaN or Inf")
        low, high = float(images.min()), float(images.max())
        if low < 0.0 or high > 1.0:
            hint = "; map tanh outputs in [-1, 1] by (x + 1) / 2" if low >= -1.0 and high <= 1.0 else ""
            raise EvalError(f"{name}: float pixels in [{low:g}, {high:g}], outside [0, 1]{hint}")
    return ImageSet(images, source, pixels)


def check_network_size(image_set: ImageSet, name: str, side: int | None, channels=(1, 3)) -> None:
    """EvalError when a network that does not resize (``side``: the one side it takes) gets other sizes,
    or one that takes only ``channels`` gets another count."""
    h, w, c = image_set.images.shape[1:]
    if c not in channels:
        raise EvalError(f"{name}: {c} channels; these features take {' or '.join(map(str, channels))}")
    if side is not None and (h, w) != (side, side):
        raise EvalError(f"{name}: {h}x{w} images; without a resize the network takes {side}x{side} only")


def to_float(images: np.ndarray) -> np.ndarray:
    """float32 pixels in [0, 1]: uint8 / 255, floats as they are."""
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255.0)
    return images.astype(np.float32, copy=False)


class ReferenceSplit(NamedTuple):
    """A dataset's split as a reference set: its first ``count`` images (0: all)."""

    dataset: str
    split: str
    count: int


_SPEC = re.compile(r"^(?:(?P<dataset>[a-z0-9_]+):)?(?P<split>train|test)(?::(?P<count>\d+))?$")


def parse_reference(spec: str, default_dataset: str) -> ReferenceSplit | None:
    """``[dataset:]split[:count]`` (e.g. ``test``, ``fashion_mnist:train:10000``) as a ReferenceSplit,
    the dataset defaulting to ``default_dataset``; None when ``spec`` is not of that form (a file path).
    EvalError for a dataset without a reference split."""
    match = _SPEC.match(spec)
    if match is None:
        return None
    dataset = match["dataset"] or default_dataset
    if dataset not in REFERENCE_DATASETS:
        raise EvalError(
            f"--reference={spec}: dataset {dataset!r} has no reference split here; choose one of "
            f"{', '.join(REFERENCE_DATASETS)} (or give a .npy of images)"
        )
    return ReferenceSplit(dataset, match["split"], int(match["count"] or 0))


def load_reference_split(ref: ReferenceSplit, data_config=None) -> ImageSet:
    """The first ``ref.count`` images (0: all) of the dataset's split as uint8 [N, 28, 28, 1]: the train
    split is gan_jax's 50,000 training rows, test the 10,000 test images. Read as ``data_config`` says
    when it is that dataset's (its source and directory; a source other than the default is named in the
    set's ``source``), else with the dataset's defaults. gan_jax stores the pixels as uint8 / 256 (exact
    in float32), so x * 256 gives the original bytes back."""
    if data_config is None or data_config.name != ref.dataset:
        data_config = config_lib.data_config(ref.dataset)
    x = datasets.load_dataset(data_config)[ref.split][0]
    if ref.count > len(x):
        raise EvalError(f"--reference asks for {ref.count} {ref.dataset} {ref.split} images; it has {len(x)}")
    x = x[: ref.count or len(x)]
    pixels = np.rint(np.asarray(x, np.float64) * DATASET_SCALE).astype(np.uint8)
    default = config_lib.data_config(ref.dataset).source
    source = data_config.get("source", default)
    name = f"{ref.dataset} ({source})" if source != default else ref.dataset
    return check_images(pixels.reshape(len(x), 28, 28, 1), "reference", f"{name} {ref.split}[:{len(x)}]")
