import gzip
import os
import pickle

import ml_collections
import numpy as np
import pytest

from gan_jax import config as config_lib
from gan_jax.data import datasets
from gan_jax.data import mnist as mnist_io
from gan_jax.training import evaluation


# A pickle whose loading would run a shell command: the unpickler must refuse it.
class _Exploit:  # noqa: E302
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.fixture(scope="session")
def mnist():
    """The real dataset from the cache that `make data` fills (CI runs it before the tests)."""
    return mnist_io.load_hub()


def test_split_sizes_ranges_and_scaling(mnist):
    sizes = {name: (x.shape, y.shape) for name, (x, y) in mnist.items()}
    assert sizes == {
        "train": ((50_000, 784), (50_000,)),
        "valid": ((10_000, 784), (10_000,)),
        "test": ((10_000, 784), (10_000,)),
    }
    for x, y in mnist.values():
        assert x.dtype == np.float32 and x.min() == 0.0 and x.max() <= 255 / 256
        np.testing.assert_array_equal(x * 256, np.round(x * 256))  # real-valued uint8 / 256
        assert set(np.unique(y)) == set(range(10))
    train_x, _ = mnist["train"]
    assert 0.12 < train_x.mean() < 0.14  # MNIST's mean pixel


def test_safe_unpickler_accepts_arrays_and_rejects_code():
    arrays = ((np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2])),)
    loaded = mnist_io.safe_unpickle(pickle.dumps(arrays, protocol=3))
    np.testing.assert_array_equal(loaded[0][0], arrays[0][0])
    with pytest.raises(pickle.UnpicklingError, match="posix.system|os.system|refusing"):
        mnist_io.safe_unpickle(pickle.dumps(_Exploit(), protocol=2))


def one_line_error(fn, *args):
    with pytest.raises(mnist_io.DatasetError) as info:
        fn(*args)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_truncated_and_tampered_files_are_one_line_errors(tmp_path):
    assert "make data" in one_line_error(mnist_io.load_hub, str(tmp_path))
    good = os.path.join(mnist_io.default_cache_dir(), mnist_io.PICKLE_NAME)
    with open(good, "rb") as f:
        payload = f.read()
    (tmp_path / mnist_io.PICKLE_NAME).write_bytes(payload[: len(payload) // 2])
    assert "SHA-256" in one_line_error(mnist_io.load_hub, str(tmp_path))
    (tmp_path / mnist_io.PICKLE_NAME).write_bytes(gzip.compress(pickle.dumps(_Exploit(), protocol=2)))
    assert "SHA-256" in one_line_error(mnist_io.load_hub, str(tmp_path))


def test_a_pickle_with_code_is_refused_even_past_the_hash(tmp_path, monkeypatch):
    """Defence in depth: were the hash check bypassed, the unpickler still refuses."""
    (tmp_path / mnist_io.PICKLE_NAME).write_bytes(gzip.compress(pickle.dumps(_Exploit(), protocol=2)))
    monkeypatch.setattr(mnist_io, "file_sha256", lambda path: mnist_io.PICKLE_SHA256)
    assert "refusing" in one_line_error(mnist_io.load_hub, str(tmp_path))


def test_unknown_source_names_the_choices():
    assert "hub, tfds" in one_line_error(mnist_io.load_mnist, "bogus")


def test_tfds_source_gives_the_same_split_and_scaling():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=60_000, policy=tfds.testing.MockPolicy.USE_CODE):
        splits = mnist_io.load_tfds()
        source = tfds.data_source("mnist", split="train", download=False)
        first_valid = np.asarray(source[50_000]["image"], np.float32).reshape(784) / 256
    assert {k: v[0].shape for k, v in splits.items()} == {
        "train": (50_000, 784),
        "valid": (10_000, 784),
        "test": (10_000, 784),
    }
    np.testing.assert_array_equal(splits["valid"][0][0], first_valid)
    for x, y in splits.values():
        assert x.dtype == np.float32 and y.dtype == np.int32 and x.max() <= 255 / 256


@pytest.mark.skipif(not os.environ.get("GAN_JAX_TFDS_DIR"), reason="needs a prepared TFDS data_dir")
def test_tfds_and_hub_hold_the_same_images(mnist):
    """Same images, same scaling; TFDS's own storage order decides train vs valid membership."""
    splits = mnist_io.load_tfds(os.environ["GAN_JAX_TFDS_DIR"])
    for name in ("test",):
        a = np.sort(splits[name][0].view(np.uint32).sum(1))
        b = np.sort(mnist[name][0].view(np.uint32).sum(1))
        np.testing.assert_array_equal(a, b)
    both = lambda s: np.concatenate([s["train"][0], s["valid"][0]])  # noqa: E731
    np.testing.assert_array_equal(np.sort(both(splits).sum(1)), np.sort(both(mnist).sum(1)))


def test_missing_tfds_dir_is_a_one_line_error(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    assert "TFDS" in one_line_error(mnist_io.load_tfds, str(tmp_path))


@pytest.mark.parametrize("name, shape", [("cifar10", (32, 32, 3)), ("celeb_a", (64, 64, 3))])
def test_tfds_colour_images_are_flat_in_minus_one_one(name, shape):
    """CIFAR-10 as it is, CelebA's 218x178 photos center-cropped to 108 and resized to 64; pixels
    x / 127.5 - 1, flattened HWC; load_dataset dispatches on the name, num_train caps the count."""
    tfds = pytest.importorskip("tensorflow_datasets")
    config = ml_collections.ConfigDict({"name": name, "dir": "", "num_train": 5})
    with tfds.testing.mock_data(num_examples=7, policy=tfds.testing.MockPolicy.USE_CODE):
        x, y = datasets.load_dataset(config)["train"]
        example = tfds.data_source(name, split="train", download=False)[1]
    assert x.shape == (5, int(np.prod(shape))) and x.dtype == np.float32 and y.shape == (5,)
    assert -1.0 <= x.min() < -0.5 and 0.5 < x.max() <= 1.0
    image = np.asarray(example["image"], np.uint8)
    if name == "celeb_a":
        assert image.shape == (218, 178, 3)
        image = datasets.center_crop_resize(image, 108, 64)
        assert y.max() == 0
    else:
        assert y[1] == example["label"]
    np.testing.assert_allclose(x[1], image.reshape(-1) / 127.5 - 1.0, atol=1e-6)
    assert datasets.pixel_range(config) == (-1.0, 1.0) and datasets.pixel_range(
        config_lib.data_config("mnist")
    ) == (
        0.0,
        1.0,
    )


@pytest.mark.parametrize("name", ["cifar10", "celeb_a"])
def test_tfds_colour_rows_read_alone(name):
    """rows=[first, end) reads those training rows alone (a host of a multi-host run); train_size
    counts the split without reading it, capped by num_train; rows= of another set is refused."""
    tfds = pytest.importorskip("tensorflow_datasets")
    config = ml_collections.ConfigDict({"name": name, "dir": "", "num_train": 0})
    with tfds.testing.mock_data(num_examples=7, policy=tfds.testing.MockPolicy.USE_CODE):
        x, y = datasets.load_dataset(config)["train"]
        part_x, part_y = datasets.load_dataset(config, rows=(2, 9))["train"]  # end past the 7: clipped
        sizes = [datasets.train_size(config)]
        config.num_train = 5
        sizes.append(datasets.train_size(config))
        capped = datasets.load_dataset(config, rows=(3, 6))["train"][0]
    np.testing.assert_array_equal(part_x, x[2:7])
    np.testing.assert_array_equal(part_y, y[2:7])
    np.testing.assert_array_equal(capped, x[3:5])
    assert sizes == [7, 5]
    with pytest.raises(ValueError, match="^rows= reads part of cifar10, celeb_a only, not mnist$"):
        datasets.load_dataset(ml_collections.ConfigDict({"name": "mnist"}), rows=(0, 1))


def test_run_data_reads_no_colour_images_to_evaluate_a_dcgan(monkeypatch):
    """Restoring a DCGAN run on CIFAR-10 for --mode=sample/evaluate needs the training set's size
    alone: no image is read (CelebA's are 8 GB). A paper-MLP run's are (its initial state reads the mean)."""
    tfds = pytest.importorskip("tensorflow_datasets")
    from experiments.configs import dcgan_cifar10

    config = dcgan_cifar10.get_config()
    config.data.num_train = 6
    monkeypatch.setattr(datasets, "load_tfds_images", lambda *a, **k: pytest.fail("read the images"))
    with tfds.testing.mock_data(num_examples=7, policy=tfds.testing.MockPolicy.USE_CODE):
        splits, num_train, mean = evaluation.run_data(config)
    assert splits is None and num_train == 6
    np.testing.assert_array_equal(mean, np.zeros(32 * 32 * 3, np.float32))
    config.model.name = "paper_mlp"  # its initial state reads the data's mean: the images are loaded
    with pytest.raises(pytest.fail.Exception, match="read the images"):
        evaluation.run_data(config)


def test_center_crop_resize_keeps_the_centre():
    image = np.zeros((218, 178, 3), np.uint8)
    image[55:163, 35:143] = 200  # exactly the central 108x108
    out = datasets.center_crop_resize(image, 108, 64)
    assert out.shape == (64, 64, 3) and (out == 200).all()
