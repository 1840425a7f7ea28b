"""Fashion-MNIST's second source, a prepared TFDS ``fashion_mnist`` (gan_jax/data/fashion_mnist.py,
``source='tfds'``): the same arrays as Debian's files, byte for byte.

No prepared TFDS copy of the real set is available offline, so the checks here lay Debian's examples out as
TFDS's writer would: in the order of TFDS's own ``Shuffler`` (tensorflow_datasets/core/shuffle.py, the code
that orders a split when TFDS prepares it), served by ``tfds.data_source`` under ``tfds.testing.mock_data``
in TFDS's feature format (image uint8 [28, 28, 1], label int64). The IDX files are read here with numpy
alone. With ``GAN_JAX_TFDS_DIR`` naming a prepared TFDS data_dir, the last test reads the real one."""

import gzip
import os
import tempfile
import types

import numpy as np
import pytest

from gan_jax import config as config_lib
from gan_jax.data import datasets, fashion_mnist
from gan_jax.data.mnist import DatasetError, default_cache_dir
from gan_jax.metrics import image_sets

tfds = pytest.importorskip("tensorflow_datasets")
shuffle = pytest.importorskip("tensorflow_datasets.core.shuffle")


def read_idx(name: str, header: int) -> np.ndarray:
    """An IDX file of the Debian cache as uint8, its ``header`` bytes skipped."""
    with gzip.open(os.path.join(default_cache_dir(), fashion_mnist.SUBDIR, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=header)


@pytest.fixture(scope="module")
def idx():
    """{'train', 'test'} -> (images uint8 [N, 28, 28], labels uint8 [N]) in the IDX files' order."""
    return {
        split: (
            read_idx(f"{stem}-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28),
            read_idx(f"{stem}-labels-idx1-ubyte.gz", 8),
        )
        for split, stem in (("train", "train"), ("test", "t10k"))
    }


def writer_order(split: str, n: int) -> np.ndarray:
    """The IDX index at each stored position, as TFDS's Shuffler orders keys 0..n-1 of ``split``."""
    with tempfile.TemporaryDirectory() as tmp:
        shuffler = shuffle.Shuffler(tmp, hash_salt=split)
        for key in range(n):
            shuffler.add(key, key.to_bytes(4, "big"))
        return np.asarray([int.from_bytes(data, "big") for _, data in shuffler])


class Source:
    """A prepared split as ``tfds.data_source`` serves it: example ``position`` is IDX example
    ``order[position]``."""

    def __init__(self, images, labels, order, disable_shuffling=False):
        self.images, self.labels, self.order = images, labels, order
        self.dataset_info = types.SimpleNamespace(disable_shuffling=disable_shuffling)

    def __len__(self):
        return len(self.order)

    def __getitem__(self, position):
        index = self.order[position]
        return {"image": self.images[index].reshape(28, 28, 1), "label": np.int64(self.labels[index])}


def mocked_tfds(idx, layout="writer", changed_pixel=False):
    """``tfds.data_source('fashion_mnist', ...)`` serving Debian's examples: in the writer's order
    ('writer'), or in the IDX order, marked unshuffled ('unshuffled') or not ('idx')."""

    def as_data_source(builder, split, **kwargs):
        images, labels = idx[split]
        if changed_pixel:
            images = images.copy()
            images[7, 14, 14] ^= 1
        n = len(labels)
        order = writer_order(split, n) if layout == "writer" else np.arange(n)
        return Source(images, labels, order, disable_shuffling=layout == "unshuffled")

    return tfds.testing.mock_data(as_data_source_fn=as_data_source)


def tfds_config():
    config = config_lib.data_config("fashion_mnist")
    config.source = "tfds"
    return config


@pytest.mark.parametrize("layout", ["writer", "unshuffled"])
def test_tfds_gives_debians_arrays_byte_for_byte(idx, layout):
    with mocked_tfds(idx, layout):
        got = datasets.load_dataset(tfds_config())
        stored = tfds.data_source("fashion_mnist", split="train", download=False)
        first = stored[0]  # the raw example at TFDS's first position
    want = fashion_mnist.load()
    assert sorted(got) == sorted(want) == ["test", "train", "valid"]
    for split in want:
        for a, b in zip(got[split], want[split], strict=True):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)
    assert {k: (x.shape, x.dtype, y.dtype) for k, (x, y) in got.items()} == {
        "train": ((50_000, 784), np.float32, np.int32),
        "valid": ((10_000, 784), np.float32, np.int32),
        "test": ((10_000, 784), np.float32, np.int32),
    }
    # positions: the split's rows are the IDX files' (float64 reference), wherever TFDS stored them
    train_x = np.concatenate([got["train"][0], got["valid"][0]])
    np.testing.assert_array_equal(got["valid"][0][0], idx["train"][0][50_000].reshape(784) / np.float64(256))
    index = writer_order("train", 60_000)[0] if layout == "writer" else 0
    np.testing.assert_array_equal(train_x[index], first["image"].reshape(784) / np.float64(256))
    assert got["train"][1][index] == first["label"]


@pytest.mark.parametrize("layout, changed_pixel", [("idx", False), ("writer", True)])
def test_a_tfds_copy_out_of_order_or_changed_is_refused_in_one_line(idx, layout, changed_pixel):
    with mocked_tfds(idx, layout, changed_pixel), pytest.raises(DatasetError) as info:
        fashion_mnist.load_tfds()
    assert "\n" not in str(info.value)
    assert "TFDS fashion_mnist train" in str(info.value) and "SHA-256 mismatch" in str(info.value)


def test_random_mock_data_of_another_size_is_refused_in_one_line():
    with tfds.testing.mock_data(num_examples=10, policy=tfds.testing.MockPolicy.USE_CODE):
        with pytest.raises(DatasetError, match=r"^TFDS fashion_mnist train has 10 examples; expected 60000$"):
            fashion_mnist.load_tfds()


def test_a_missing_tfds_dir_or_an_unknown_source_is_a_one_line_error(tmp_path):
    config = tfds_config()
    config.dir = str(tmp_path)
    with pytest.raises(
        DatasetError, match=f"^no prepared TFDS fashion_mnist train split in data_dir='{tmp_path}'"
    ):
        datasets.load_dataset(config)
    config.source = "keras"
    with pytest.raises(
        DatasetError, match=r"^unknown Fashion-MNIST source 'keras'; choose one of debian, tfds$"
    ):
        datasets.load_dataset(config)


def test_the_source_defaults_to_debian_and_old_configs_gain_it():
    assert config_lib.data_config("fashion_mnist").source == "debian"
    old = config_lib.upgrade({"data": {"name": "fashion_mnist", "dir": "/data"}})
    assert old.data.source == "debian" and old.data.dir == "/data"


def test_the_reference_split_reads_the_configs_source(idx):
    ref = image_sets.ReferenceSplit("fashion_mnist", "test", 5)
    with mocked_tfds(idx):
        from_tfds = image_sets.load_reference_split(ref, tfds_config())
    default = image_sets.load_reference_split(ref)
    assert from_tfds.source == "fashion_mnist (tfds) test[:5]" and default.source == "fashion_mnist test[:5]"
    np.testing.assert_array_equal(from_tfds.images[..., 0], idx["test"][0][:5])
    np.testing.assert_array_equal(default.images, from_tfds.images)


@pytest.mark.skipif(not os.environ.get("GAN_JAX_TFDS_DIR"), reason="needs a prepared TFDS data_dir")
def test_a_prepared_tfds_dir_holds_debians_arrays():
    got = fashion_mnist.load_tfds(os.environ["GAN_JAX_TFDS_DIR"])
    for split, (x, y) in fashion_mnist.load().items():
        np.testing.assert_array_equal(got[split][0], x)
        np.testing.assert_array_equal(got[split][1], y)
