"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 28x28 grey images of ten kinds of clothing, MNIST's shape
and sizes, as a second image set beside MNIST.

Two sources (``config.data.source``) give the same arrays, byte for byte:

- ``debian`` (default, offline): fetched once from Debian's package ``dataset-fashion-mnist`` (``apt-get
  download``, no root needed, nothing installed): the .deb's SHA-256 is verified, then each of its four IDX
  files (``train-images-idx3-ubyte.gz``, ...) is taken out of its ``data.tar.xz`` and verified by SHA-256
  into the cache directory.
- ``tfds``: ``tfds.data_source('fashion_mnist')`` over a prepared TFDS ``data_dir`` (never downloads), put
  back into the IDX files' order (``tfds_storage_order``) and checked against their SHA-256
  (``ARRAY_SHA256``).

Read as MNIST is: float32 = uint8 / 256 flattened to 784, labels int32; the 60,000 training images split
as the 2014 paper split MNIST's, the first 50,000 to train and the last 10,000 to validate, and the 10,000
test images.
"""

import gzip
import hashlib
import io
import os
import subprocess
import tarfile
import tempfile

import numpy as np

from gan_jax.data import mnist
from gan_jax.data.mnist import DatasetError, default_cache_dir

PACKAGE = "dataset-fashion-mnist=0.0~git20200523.55506a9-1"
DEB_SHA256 = "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0"
MEMBER_DIR = "./usr/share/datasets/fashion-mnist/"
FILES = {  # name -> SHA-256 of the gzipped IDX file as the package ships it
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}
# SHA-256 of each split's decoded arrays (uint8 images [N, 28, 28], labels [N], in the IDX files' order):
# the bytes after each IDX header, the same in Debian's files and in those TFDS downloads
ARRAY_SHA256 = {
    "train": (
        "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
        "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
    ),
    "test": (
        "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
        "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
    ),
}
SOURCES = ("debian", "tfds")
SUBDIR = "fashion_mnist"
NUM_TRAIN, NUM_VALID, NUM_TEST = 50_000, 10_000, 10_000
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot")
HINT = "run `make data` (or `python -m gan_jax.data`) to fetch it"


def _ar_member(deb: bytes, prefix: str) -> bytes:
    """The first member of an ar archive (a .deb) whose name starts with ``prefix``."""
    if not deb.startswith(b"!<arch>\n"):
        raise DatasetError("the downloaded .deb is not an ar archive")
    pos = 8
    while pos + 60 <= len(deb):
        header = deb[pos : pos + 60]
        name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58].decode().strip())
        if name.startswith(prefix):
            return deb[pos + 60 : pos + 60 + size]
        pos += 60 + size + size % 2
    raise DatasetError(f"the downloaded .deb has no {prefix}* member")


def _download(tmp: str) -> bytes:
    try:
        proc = subprocess.run(["apt-get", "download", PACKAGE], cwd=tmp, capture_output=True, text=True)
    except FileNotFoundError:
        raise DatasetError(f"apt-get not found: {PACKAGE} comes from Debian's archive") from None
    debs = [f for f in os.listdir(tmp) if f.endswith(".deb")]
    if proc.returncode != 0 or len(debs) != 1:
        last = (proc.stderr.strip().splitlines() or ["no .deb"])[-1]
        raise DatasetError(f"could not download {PACKAGE} with apt-get ({last})")
    path = os.path.join(tmp, debs[0])
    if mnist.file_sha256(path) != DEB_SHA256:
        raise DatasetError(f"{debs[0]} does not match its SHA-256; refusing to use it")
    with open(path, "rb") as f:
        return f.read()


def fetch(cache_dir: str | None = None) -> str:
    """Downloads and verifies the package, writes its four IDX files into ``<cache>/fashion_mnist``;
    does nothing for the files already there and verified. Returns that directory."""
    target = os.path.join(cache_dir or default_cache_dir(), SUBDIR)
    if all(_verified(os.path.join(target, name)) for name in FILES):
        return target
    os.makedirs(target, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        data = _ar_member(_download(tmp), "data.tar")
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for name, digest in FILES.items():
                payload = tar.extractfile(MEMBER_DIR + name).read()
                partial = os.path.join(target, name + ".partial")
                with open(partial, "wb") as f:
                    f.write(payload)
                if mnist.file_sha256(partial) != digest:
                    raise DatasetError(f"{name} in {PACKAGE} does not match its SHA-256")
                os.replace(partial, os.path.join(target, name))
    return target


def _verified(path: str) -> bool:
    return os.path.exists(path) and mnist.file_sha256(path) == FILES[os.path.basename(path)]


def parse_idx(data: bytes) -> np.ndarray:
    """An IDX array (LeCun's format: two zero bytes, the type 0x08 = uint8, the rank, then each dimension
    as a big-endian int32) as uint8 numpy; DatasetError if the header and the length disagree."""
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise DatasetError("not an IDX file of unsigned bytes")
    rank = data[3]
    shape = tuple(int(d) for d in np.frombuffer(data, ">i4", count=rank, offset=4))
    offset = 4 + 4 * rank
    if len(data) - offset != int(np.prod(shape)):
        raise DatasetError(f"IDX header says {shape} but holds {len(data) - offset} bytes")
    return np.frombuffer(data, np.uint8, offset=offset).reshape(shape)


def _read(directory: str, name: str) -> np.ndarray:
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        raise DatasetError(f"Fashion-MNIST not found at {path}; {HINT}")
    if not _verified(path):
        raise DatasetError(f"{path} is truncated or modified (SHA-256 mismatch); delete it and {HINT}")
    with gzip.open(path, "rb") as f:
        return parse_idx(f.read())


def _float_splits(arrays: dict) -> dict:
    """{'train', 'test'} -> (uint8 images [N, 28, 28], labels [N]) as the three splits: x float32 = uint8 /
    256 flattened to 784, y int32; the first 50,000 training images train, the last 10,000 validate."""
    splits = {}
    for split, (x, y) in arrays.items():
        if x.shape[1:] != (28, 28) or x.shape[0] != y.shape[0]:
            raise DatasetError(f"Fashion-MNIST {split} images {x.shape} do not pair with labels {y.shape}")
        splits[split] = (x.reshape(len(x), 784).astype(np.float32) / 256.0, y.astype(np.int32))
    x, y = splits["train"]
    if len(x) != NUM_TRAIN + NUM_VALID or len(splits["test"][0]) != NUM_TEST:
        raise DatasetError(f"Fashion-MNIST has {len(x)} training and {len(splits['test'][0])} test images")
    splits["train"], splits["valid"] = (x[:NUM_TRAIN], y[:NUM_TRAIN]), (x[NUM_TRAIN:], y[NUM_TRAIN:])
    return splits


def load(cache_dir: str | None = None) -> dict:
    """Debian's files: {'train', 'valid', 'test'} -> (x float32 [N, 784] in [0, 1), y int32 [N])."""
    directory = os.path.join(cache_dir or default_cache_dir(), SUBDIR)
    arrays = {}
    for split, stem in (("train", "train"), ("test", "t10k")):
        x = _read(directory, f"{stem}-images-idx3-ubyte.gz")
        arrays[split] = (x, _read(directory, f"{stem}-labels-idx1-ubyte.gz"))
    return _float_splits(arrays)


def tfds_storage_order(split: str, n: int) -> np.ndarray:
    """The IDX index of the example at each position of a prepared TFDS ``fashion_mnist`` split.

    TFDS's fashion_mnist builder keys each example by its index in the IDX file, and TFDS's writer stores a
    split's examples sorted by the MD5 hash of the key salted with the split's name
    (tensorflow_datasets/core/shuffle.py and core/hashing.py, whose docstring holds the order stable: a
    change would bump every dataset's major version). The hash is TFDS's own ``hashing.Hasher``.
    """
    from tensorflow_datasets.core import hashing  # lazy: the GPU image does not ship it

    hasher = hashing.Hasher(split)
    return np.asarray(sorted(range(n), key=hasher.hash_key))


def _read_tfds(split: str, n: int, data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    """A prepared TFDS split as uint8 (images [n, 28, 28], labels [n]) in the IDX files' order, checked
    against ``ARRAY_SHA256``."""
    source = mnist.tfds_source("fashion_mnist", split, data_dir)
    if len(source) != n:
        raise DatasetError(f"TFDS fashion_mnist {split} has {len(source)} examples; expected {n}")
    shuffled = not source.dataset_info.disable_shuffling
    order = tfds_storage_order(split, n) if shuffled else np.arange(n)
    x, y = np.empty((n, 28, 28), np.uint8), np.empty(n, np.uint8)
    for position, index in enumerate(order):
        example = source[position]
        x[index] = np.asarray(example["image"], np.uint8).reshape(28, 28)
        y[index] = example["label"]
    digests = tuple(hashlib.sha256(a.tobytes()).hexdigest() for a in (x, y))
    if digests != ARRAY_SHA256[split]:
        raise DatasetError(
            f"TFDS fashion_mnist {split} in data_dir={data_dir!r} does not hold Fashion-MNIST's images and "
            "labels in the IDX files' order (SHA-256 mismatch); prepare it again, or use source='debian'"
        )
    return x, y


def load_tfds(data_dir: str | None = None) -> dict:
    """A prepared TFDS ``fashion_mnist`` (``data_dir``; '' or None: TFDS's default) as ``load`` gives
    Debian's files, the same arrays byte for byte: TFDS's train split in the IDX order, its first 50,000
    to train and last 10,000 to validate, and its test split."""
    arrays = {
        "train": _read_tfds("train", NUM_TRAIN + NUM_VALID, data_dir),
        "test": _read_tfds("test", NUM_TEST, data_dir),
    }
    return _float_splits(arrays)


def load_fashion_mnist(source: str = "debian", data_dir: str | None = None) -> dict:
    """Fashion-MNIST from ``source``: 'debian' (``load``, ``data_dir`` the cache) or 'tfds' (``load_tfds``,
    ``data_dir`` the TFDS data_dir)."""
    if source == "debian":
        return load(data_dir)
    if source == "tfds":
        return load_tfds(data_dir)
    raise DatasetError(f"unknown Fashion-MNIST source {source!r}; choose one of {', '.join(SOURCES)}")
