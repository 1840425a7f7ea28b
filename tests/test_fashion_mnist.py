"""Fashion-MNIST (gan_jax/data/fashion_mnist.py): the IDX reader against hand-built files, the cached set's
sizes, scaling and class balance (the published 6,000 / 1,000 images per class), faults in one line, one
training step of the paper model on it through the dataset registry, and its metrics through its own
classifier."""

import gzip

import numpy as np
import pytest
from conftest import tiny_config

from experiments.configs import dcgan_fashion_mnist, paper_fashion_mnist
from gan_jax.data import datasets, fashion_mnist
from gan_jax.errors import DataError
from gan_jax.metrics import evaluate
from gan_jax.training import train


def idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, ">i4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def test_idx_round_trips_and_refuses_a_bad_header():
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(fashion_mnist.parse_idx(idx(a)), a)
    with pytest.raises(DataError, match="holds 23 bytes"):
        fashion_mnist.parse_idx(idx(a)[:-1])
    with pytest.raises(DataError, match="not an IDX file"):
        fashion_mnist.parse_idx(b"\x00\x00\x0d\x01" + bytes(8))


@pytest.fixture(scope="module")
def splits():
    return fashion_mnist.load()


def test_the_cached_set_has_its_split_scaling_and_balanced_classes(splits):
    sizes = {k: (x.shape, y.shape) for k, (x, y) in splits.items()}
    assert sizes == {
        "train": ((50_000, 784), (50_000,)),
        "valid": ((10_000, 784), (10_000,)),
        "test": ((10_000, 784), (10_000,)),
    }
    for x, y in splits.values():
        assert x.dtype == np.float32 and y.dtype == np.int32
        assert x.min() == 0.0 and x.max() == 255 / 256  # uint8 / 256, as the MNIST pickle
    train_y = np.concatenate([splits["train"][1], splits["valid"][1]])
    np.testing.assert_array_equal(np.bincount(train_y), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(splits["test"][1]), [1000] * 10)
    assert len(fashion_mnist.CLASSES) == 10


def test_a_modified_file_is_refused_in_one_line(tmp_path):
    target = tmp_path / fashion_mnist.SUBDIR
    target.mkdir()
    for name in fashion_mnist.FILES:
        (target / name).write_bytes(gzip.compress(b"\x00\x00\x08\x01" + bytes(4)))
    with pytest.raises(DataError, match=r"\(SHA-256 mismatch\); delete it and run `make data`"):
        fashion_mnist.load(str(tmp_path))
    (target / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match="Fashion-MNIST not found at .*make data"):
        fashion_mnist.load(str(tmp_path))


def test_the_registry_loads_it_and_the_paper_model_trains_on_it(splits, tmp_path):
    config = paper_fashion_mnist.get_config()
    got = datasets.load_dataset(config.data)
    np.testing.assert_array_equal(got["train"][0][:5], splits["train"][0][:5])
    assert datasets.pixel_range(config.data) == (0.0, 1.0) and datasets.NUM_CLASSES["fashion_mnist"] == 10
    small = tiny_config(num_steps=2, log_every=1, ckpt_every=2, sample_every=2)
    small.data = config.data
    state = train.train(small, str(tmp_path))
    assert int(state.step) == 2 and int(state.nonfinite_step) == -1


N = 500  # images per set in the metric checks (the protocol's 10k: ~20x slower)


def test_its_metrics_go_through_its_own_classifier(splits):
    """Held-out Fashion-MNIST images score like its training images (the floors), one class of it does
    not, and the MNIST classifier, which reads clothes as digits, gives a different FCD: the metrics are
    Fashion-MNIST's own."""
    (xt, yt), (xv, _), (xs, ys) = splits["train"], splits["valid"], splits["test"]
    small = {"train": (xt[:N], yt[:N]), "valid": (xv[:1000], None), "test": (xs[:N], ys[:N])}
    held_out = xv[1000 : 1000 + N]
    floors = evaluate.real_data_floors(small, num=N, dataset="fashion_mnist")
    real = evaluate.mnist_metrics(held_out, small, min_samples=N, dataset="fashion_mnist")
    one_class = evaluate.mnist_metrics(xt[yt == 1][:N], small, min_samples=N, dataset="fashion_mnist")
    as_digits = evaluate.mnist_metrics(held_out, small, min_samples=N, dataset="mnist")
    assert abs(real["fcd"] - floors["fcd"]) < 0.3 * floors["fcd"] and one_class["fcd"] > 10 * floors["fcd"]
    assert real["classifier_score"] > 7.0 and one_class["classifier_score"] < 1.5
    assert one_class["class_kl"] > 2.0 > 50 * real["class_kl"]
    assert abs(as_digits["fcd"] - real["fcd"]) > 0.1 * real["fcd"]


def test_its_configs_evaluate_during_training():
    for module in (paper_fashion_mnist, dcgan_fashion_mnist):
        config = module.get_config()
        assert config.eval_every > 0 and evaluate.is_classified(config.data)
