"""The StackedMNIST metrics: each of a sample's three channels classified by the shipped classifier
(gan_jax/metrics/classifier.py), its mode read from the three classes (gan_jax/data/stacked_mnist.py
builds the data).

**Metrics** on 26,000 samples, the protocol of VEEGAN's and PacGAN's Table 2: each channel is classified,
a sample's mode is m = 100 c_R + 10 c_G + c_B, and q is the histogram of the N samples' modes / N.

- ``modes_covered``: the number of modes holding at least one sample (no confidence threshold: PacGAN's
  ``log_metrics`` counts the distinct class triples);
- ``reverse_kl``: KL(q || u) = sum_{m: q_m > 0} q_m log(q_m / u_m) = sum_m q_m log(1000 q_m), u uniform
  over the 1,000 modes, natural log (PacGAN's ``math.log``); empty modes add 0 (0 log 0 = 0). It is 0 for
  a perfectly even cover, log(1000 / k) for an even cover of k modes (log 1000 = 6.91 for one mode).
  N samples of a perfect G still score about (1000 - 1) / (2N) = 0.019 nats at N = 26,000 (the
  multinomial's finite-sample bias), hence the floors.

**Floors**: the classifier's accuracy on the real MNIST test digits (per channel: a sample's mode is
read right only when all three channels are, about accuracy^3), and the same metrics of N real stacked
test images (triples of the 10,000 test digits, a fixed seed; each channel's class looked up from one
classifier pass over the test digits, which are exactly those channels).
"""

import numpy as np

from gan_jax.data.stacked_mnist import (
    CHANNELS,
    DATA_DIM,
    DIGIT_DIM,
    NUM_MODES,
    draw_triples,
    mode_of,
    unstack,
)
from gan_jax.errors import EvalError
from gan_jax.metrics import classifier

EVAL_SAMPLES = 26_000  # VEEGAN's and PacGAN's protocol
FLOOR_SEED = 0  # the real-data floors' triples of test digits


def check_samples(samples, min_samples: int) -> np.ndarray:
    """``samples`` as float32 [N, 2352], or a one-line EvalError (shape, NaN/Inf, pixels outside [0, 1],
    fewer than ``min_samples``)."""
    samples = np.asarray(samples, np.float32)
    if samples.ndim != 2 or samples.shape[1] != DATA_DIM:
        raise EvalError(f"StackedMNIST samples must have shape [N, {DATA_DIM}], got {samples.shape}")
    if not np.isfinite(samples).all():
        raise EvalError("samples contain NaN or Inf")
    low, high = (float(samples.min()), float(samples.max())) if samples.size else (0.0, 0.0)
    if low < 0.0 or high > 1.0:
        raise EvalError(
            f"StackedMNIST pixels must be in [0, 1], got [{low:.3g}, {high:.3g}] (a tanh G's: (x + 1) / 2)"
        )
    if len(samples) < min_samples:
        raise EvalError(f"{len(samples)} samples; the StackedMNIST protocol needs at least {min_samples}")
    return samples


def classify_modes(params, samples) -> np.ndarray:
    """The mode [N] of each image [N, 2352]: the classifier's argmax on each of its three channels."""
    digits = unstack(samples).reshape(-1, DIGIT_DIM)
    _, probs = classifier.features_and_probs(params, digits)
    return mode_of(probs.argmax(axis=1).reshape(-1, CHANNELS))


def mode_metrics(modes) -> dict:
    """``modes_covered``, ``num_modes``, ``reverse_kl`` = KL(q || uniform) in nats (float64) and the
    ``mode_histogram`` [1000] of the modes [N] (see the module doc)."""
    counts = np.bincount(np.asarray(modes, np.int64), minlength=NUM_MODES)
    q = counts[counts > 0] / counts.sum()
    return {
        "modes_covered": int(np.count_nonzero(counts)),
        "num_modes": NUM_MODES,
        "reverse_kl": float(np.sum(q * np.log(q * NUM_MODES))),
        "mode_histogram": counts.tolist(),
    }


def stacked_metrics(samples, *, min_samples: int = EVAL_SAMPLES) -> dict:
    """The mode metrics of ``samples`` [N, 2352] in [0, 1] (N >= ``min_samples``)."""
    samples = check_samples(samples, min_samples)
    return mode_metrics(classify_modes(classifier.load_classifier(), samples))


def real_data_floors(test_digits, test_labels, num: int, seed: int = FLOOR_SEED) -> dict:
    """What real data scores: the mode metrics (no histogram) of ``num`` stacks of the test digits [M, 784],
    ``classifier_accuracy`` (on each test digit) and ``mode_accuracy`` (the stacks whose three channels
    are all classified right)."""
    _, probs = classifier.features_and_probs(classifier.load_classifier(), test_digits)
    predicted = probs.argmax(axis=1)
    idx = draw_triples(num, len(test_digits), seed)
    modes = mode_of(predicted[idx])
    metrics = mode_metrics(modes)
    del metrics["mode_histogram"]
    return metrics | {
        "classifier_accuracy": float(np.mean(predicted == np.asarray(test_labels))),
        "mode_accuracy": float(np.mean(modes == mode_of(np.asarray(test_labels)[idx]))),
    }
