"""The shipped MNIST and Fashion-MNIST classifiers: the hash check, accuracy on real test images, output
shapes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax.data import fashion_mnist, mnist
from gan_jax.metrics import classifier

NUM_EVAL = 10_000  # the whole test set: about 3 s of forward passes on 2 CPU cores
# Measured with the shipped weights: MNIST 99.42 % (9,942 / 10,000), Fashion-MNIST 90.21 % (9,021 / 10,000)
# (experiments/scripts/train_classifier.py); the 0.1 % margin (10 images) absorbs predictions that
# another CPU's or a GPU's float rounding may flip.
MIN_ACCURACY = {"mnist": 0.9932, "fashion_mnist": 0.9011}


@pytest.fixture(scope="module")
def params():
    return classifier.load_classifier()


@pytest.fixture(scope="module")
def mnist_test():
    x, y = mnist.load_hub()["test"]
    return x[:NUM_EVAL], y[:NUM_EVAL]


def test_tampered_weights_are_refused(tmp_path, monkeypatch):
    payload = bytearray(open(classifier.weights_path("mnist"), "rb").read())
    payload[len(payload) // 2] ^= 0x01
    tampered = tmp_path / "mnist_classifier.msgpack"
    tampered.write_bytes(bytes(payload))
    monkeypatch.setattr(classifier, "ASSETS", str(tmp_path))
    with pytest.raises(ValueError, match="SHA-256") as info:
        classifier.load_classifier()
    assert "\n" not in str(info.value)


def test_missing_weights_are_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr(classifier, "ASSETS", str(tmp_path))
    with pytest.raises(ValueError, match="not found") as info:
        classifier.load_classifier()
    assert "\n" not in str(info.value)


def test_a_dataset_without_a_classifier_is_one_line_error():
    with pytest.raises(ValueError, match="no shipped classifier for 'cifar10'") as info:
        classifier.load_classifier("cifar10")
    assert "\n" not in str(info.value)


def test_shipped_weights_match_the_module(params):
    x = jnp.zeros((1, 784), jnp.float32)
    expected = jax.eval_shape(classifier.Classifier().init, jax.random.PRNGKey(0), x)["params"]
    assert jax.tree.map(lambda a: (a.shape, a.dtype), params) == jax.tree.map(
        lambda a: (a.shape, a.dtype), expected
    )


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist"])
def test_accuracy_on_test_images(dataset):
    x, y = {"mnist": mnist.load_hub, "fashion_mnist": fashion_mnist.load}[dataset]()["test"]
    _, probs = classifier.features_and_probs(classifier.load_classifier(dataset), x[:NUM_EVAL])
    accuracy = float((probs.argmax(-1) == y[:NUM_EVAL]).mean())
    assert accuracy >= MIN_ACCURACY[dataset], accuracy


def test_shapes_probabilities_and_batching(params, mnist_test):
    x = mnist_test[0][:37]
    feats, probs = classifier.features_and_probs(params, x, batch_size=16)  # 3 batches, last padded
    assert feats.shape == (37, classifier.NUM_FEATURES) and probs.shape == (37, classifier.NUM_CLASSES)
    assert feats.dtype == probs.dtype == np.float32
    assert feats.min() >= 0.0  # post-ReLU features
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
    assert probs.min() >= 0.0
    feats_one, probs_one = classifier.features_and_probs(params, x, batch_size=37)
    np.testing.assert_allclose(feats, feats_one, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(probs, probs_one, rtol=1e-5, atol=1e-6)
    empty_feats, empty_probs = classifier.features_and_probs(params, x[:0])
    assert empty_feats.shape == (0, 128) and empty_probs.shape == (0, 10)
