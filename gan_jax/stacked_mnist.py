"""StackedMNIST, the 1,000-mode benchmark (Metz et al. 2017; VEEGAN, Srivastava et al. 2017, Table 2;
PacGAN, Lin et al. 2018, Table 2): three MNIST digits stacked as the R, G and B channels of one 28x28
image; its mode is the triple of classes the shipped classifier (gan_jax/classifier.py) gives the channels.

**Data.** Row i of the training set stacks the MNIST training digits ``idx[i, 0..2]`` as its channels, with
``idx = default_rng(seed).integers(0, 50_000, (num_train, 3))``: triples drawn uniformly with replacement
under a fixed seed, so the set is the same on every machine. Layout: [N, 2352] float32 in [0, 1) (MNIST's
uint8 / 256), each row a 28x28x3 image flattened channels-last (pixel p of channel c at column 3p + c). A
row's label is its true mode 100 y_R + 10 y_G + y_B.

How this differs from the papers' data: PacGAN's StackedMNIST code (``fjxmlzn/PacGAN``,
``stacked_MNIST_experiments/VEEGAN_experiment/model.py``, the setting of VEEGAN's Table 2) draws its
128,000 triples (our default count too) with unseeded ``np.random.randint`` from all 70,000 MNIST images,
train and test together, scaled x / 255. Here the triples come from the 50,000 training digits of the
2014 split only, under a seed, and the test digits are kept for the real-data floors. Some later code
(e.g. DDGAN's) instead uses every training digit exactly twice per channel (two permutations).

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

from gan_jax import classifier, data
from gan_jax.errors import EvalError

NUM_MODES = 1000
CHANNELS = 3
SIDE = 28
DIGIT_DIM = SIDE * SIDE
DATA_DIM = DIGIT_DIM * CHANNELS
EVAL_SAMPLES = 26_000  # VEEGAN's and PacGAN's protocol
FLOOR_SEED = 0  # the real-data floors' triples of test digits
PLACE = np.array([100, 10, 1])  # R, G, B: the hundreds, tens and units digit of the mode


def draw_triples(num: int, pool: int, seed: int) -> np.ndarray:
    """[num, 3] indices into ``pool`` digits, uniform with replacement: ``default_rng(seed).integers``."""
    return np.random.default_rng(seed).integers(0, pool, size=(num, CHANNELS))


def stack(digits: np.ndarray) -> np.ndarray:
    """[N, 3, 784] digits (R, G, B) -> [N, 2352] images flattened channels-last."""
    digits = np.asarray(digits)
    return digits.transpose(0, 2, 1).reshape(len(digits), DATA_DIM)


def unstack(images: np.ndarray) -> np.ndarray:
    """[N, 2352] channels-last images -> their [N, 3, 784] channels (R, G, B), each a flat 28x28 digit."""
    images = np.asarray(images)
    return images.reshape(len(images), DIGIT_DIM, CHANNELS).transpose(0, 2, 1)


def mode_of(classes: np.ndarray) -> np.ndarray:
    """[..., 3] classes (R, G, B) -> modes 100 c_R + 10 c_G + c_B in [0, 1000)."""
    return np.asarray(classes, np.int64) @ PLACE


def build(digits: np.ndarray, labels: np.ndarray, num: int, seed: int, chunk: int = 8192):
    """(images [num, 2352] float32, true modes [num] int32): ``num`` stacks of ``digits`` [M, 784] chosen
    by ``draw_triples(num, M, seed)``; built in chunks of rows (the full set is 1.2 GB at 128,000)."""
    idx = draw_triples(num, len(digits), seed)
    images = np.empty((num, DATA_DIM), np.float32)
    for start in range(0, num, chunk):
        rows = idx[start : start + chunk]
        images[start : start + len(rows)] = stack(digits[rows])
    return images, mode_of(labels[idx]).astype(np.int32)


def load(data_config) -> dict:
    """``{'train': (images, true modes)}``: ``data_config.num_train`` stacks of the MNIST training digits
    (``data_config.source`` / ``dir`` as for MNIST) under ``data_config.seed``."""
    x, y = data.load_mnist(data_config.source, data_config.dir or None)["train"]
    return {"train": build(x, y, int(data_config.num_train), int(data_config.seed))}


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
