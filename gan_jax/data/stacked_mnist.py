"""StackedMNIST, the 1,000-mode benchmark (Metz et al. 2017; VEEGAN, Srivastava et al. 2017, Table 2; PacGAN,
Lin et al. 2018, Table 2): three MNIST digits stacked as the R, G and B channels of one 28x28 image; its mode
is the triple of classes the shipped classifier (gan_jax/metrics/classifier.py) gives the channels.

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

Its metrics (modes covered, reverse KL, the floors) are in gan_jax/metrics/stacked_modes.py.
"""

import numpy as np

from gan_jax.data import mnist

NUM_MODES = 1000
CHANNELS = 3
SIDE = 28
DIGIT_DIM = SIDE * SIDE
DATA_DIM = DIGIT_DIM * CHANNELS
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
    x, y = mnist.load_mnist(data_config.source, data_config.dir or None)["train"]
    return {"train": build(x, y, int(data_config.num_train), int(data_config.seed))}
