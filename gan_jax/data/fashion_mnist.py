"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 28x28 grey images of ten kinds of clothing, MNIST's shape
and sizes, as a second image set beside MNIST.

Fetched once from Debian's package ``dataset-fashion-mnist`` (``apt-get download``, no root needed, nothing
installed): the .deb's SHA-256 is verified, then each of its four IDX files (``train-images-idx3-ubyte.gz``,
...) is taken out of its ``data.tar.xz`` and verified by SHA-256 into the cache directory. Read as MNIST is:
float32 = uint8 / 256 flattened to 784, labels int32; the 60,000 training images split as the 2014 paper
split MNIST's, the first 50,000 to train and the last 10,000 to validate, and the 10,000 test images.
"""

import gzip
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


def load(cache_dir: str | None = None) -> dict:
    """{'train', 'valid', 'test'} -> (x float32 [N, 784] in [0, 1), y int32 [N])."""
    directory = os.path.join(cache_dir or default_cache_dir(), SUBDIR)
    splits = {}
    for split, stem in (("train", "train"), ("test", "t10k")):
        x = _read(directory, f"{stem}-images-idx3-ubyte.gz")
        y = _read(directory, f"{stem}-labels-idx1-ubyte.gz")
        if x.shape[1:] != (28, 28) or x.shape[0] != y.shape[0]:
            raise DatasetError(f"Fashion-MNIST {split} images {x.shape} do not pair with labels {y.shape}")
        splits[split] = (x.reshape(len(x), 784).astype(np.float32) / 256.0, y.astype(np.int32))
    x, y = splits["train"]
    if len(x) != NUM_TRAIN + NUM_VALID or len(splits["test"][0]) != NUM_TEST:
        raise DatasetError(f"Fashion-MNIST has {len(x)} training and {len(splits['test'][0])} test images")
    splits["train"], splits["valid"] = (x[:NUM_TRAIN], y[:NUM_TRAIN]), (x[NUM_TRAIN:], y[NUM_TRAIN:])
    return splits
