"""Small CNNs for MNIST and Fashion-MNIST shipped with the package, so GAN evaluation needs no network.

Its penultimate layer (128 ReLU units) gives the features for Fréchet distances and precision/recall;
its softmax gives the classifier score and class histograms. The weights in
``assets/<dataset>_classifier.msgpack`` come from ``experiments/scripts/train_classifier.py
--dataset=<dataset>`` (the 50k training images only) and are SHA-256 verified before they are deserialised.
"""

import hashlib
import os
from collections.abc import Callable

import flax.linen as nn
import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np

ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets")
WEIGHTS_SHA256 = {  # dataset -> SHA-256 of assets/<dataset>_classifier.msgpack
    "mnist": "c41258a1d0c920230f433a250a0cd08b819456fadf9e4fbc8c370d3cb9f61076",
    "fashion_mnist": "bd6622aae28c7ad74bd6a3dbb636085d33581d27ffa2fc381fac43fa51f0f2b5",
}
NUM_FEATURES, NUM_CLASSES = 128, 10


class Classifier(nn.Module):
    """conv 3×3 32 → maxpool 2 → conv 3×3 64 → maxpool 2 → dense 128 (features) → dense 10.

    Takes flat images x [N, 784] in [0, 1); returns ``(features [N, 128], logits [N, 10])``. The
    convolutions are 'VALID' (28 → 26 → 13 → 11 → 5), the pools floor, as ``nn.max_pool`` does.
    Dropout (rate ``dropout``) on the features is active only when ``train=True``. ``conv`` replaces
    ``lax.conv_general_dilated`` (same parameters; training passes one with a faster CPU gradient).
    """

    dropout: float = 0.25
    conv: Callable | None = None

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> tuple[jax.Array, jax.Array]:
        h = x.reshape(-1, 28, 28, 1)
        for width in (32, 64):
            h = nn.relu(nn.Conv(width, (3, 3), padding="VALID", conv_general_dilated=self.conv)(h))
            h = max_pool2(h)
        features = nn.relu(nn.Dense(NUM_FEATURES, name="features")(h.reshape(h.shape[0], -1)))
        h = nn.Dropout(self.dropout, deterministic=not train)(features)
        return features, nn.Dense(NUM_CLASSES, name="logits")(h)


def max_pool2(h: jax.Array) -> jax.Array:
    """2×2 max pool, stride 2, odd edges dropped; a reshape, whose gradient is cheaper on CPU."""
    n, height, width, c = h.shape
    h = h[:, : height // 2 * 2, : width // 2 * 2]
    return h.reshape(n, height // 2, 2, width // 2, 2, c).max(axis=(2, 4))


def weights_path(dataset: str = "mnist") -> str:
    """Where the shipped classifier of ``dataset`` lives (``assets/<dataset>_classifier.msgpack``)."""
    return os.path.join(ASSETS, f"{dataset}_classifier.msgpack")


def load_classifier(dataset: str = "mnist") -> dict:
    """The shipped parameters of ``dataset``'s classifier (``Classifier().apply({'params': params}, x)``),
    after checking the hash.

    Raises ValueError (one line) when there is none for ``dataset`` or its file is missing or does not
    match its hash.
    """
    if dataset not in WEIGHTS_SHA256:
        raise ValueError(f"no shipped classifier for {dataset!r}; there are: {', '.join(WEIGHTS_SHA256)}")
    path, expected = weights_path(dataset), WEIGHTS_SHA256[dataset]
    if not os.path.exists(path):
        raise ValueError(f"classifier weights not found at {path}; reinstall gan_jax with its package data")
    with open(path, "rb") as f:
        payload = f.read()
    digest = hashlib.sha256(payload).hexdigest()
    if digest != expected:
        raise ValueError(
            f"{path} is modified or truncated (SHA-256 {digest[:12]}…, expected {expected[:12]}…)"
        )
    return flax.serialization.msgpack_restore(payload)


@jax.jit
def _apply(params, x):
    features, logits = Classifier().apply({"params": params}, x)
    return features, jax.nn.softmax(logits)


def features_and_probs(params, x, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """(features [N, 128], softmax probabilities [N, 10]) of images x [N, 784] in [0, 1).

    ``x`` may be a numpy or a device array. Runs one jitted forward pass per ``batch_size`` images
    (the last batch zero-padded, so one compile per batch size); returns float32 numpy arrays.
    """
    x = jnp.asarray(x, jnp.float32).reshape(-1, 784)
    feats, probs = [np.zeros((0, NUM_FEATURES), np.float32)], [np.zeros((0, NUM_CLASSES), np.float32)]
    for start in range(0, x.shape[0], batch_size):
        batch = x[start : start + batch_size]
        keep = batch.shape[0]
        f, p = _apply(params, jnp.pad(batch, ((0, batch_size - keep), (0, 0))))
        feats.append(f[:keep])
        probs.append(p[:keep])
    return np.concatenate(jax.device_get(feats)), np.concatenate(jax.device_get(probs))
