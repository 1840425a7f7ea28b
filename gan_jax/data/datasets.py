"""The dataset registry: every dataset a run can train on, by name, and the one function that loads it.

MNIST, Fashion-MNIST and StackedMNIST (pixels in [0, 1]) come from ``gan_jax.data.mnist``,
``gan_jax.data.fashion_mnist`` and ``gan_jax.data.stacked_mnist``, the toys from ``gan_jax.data.toys``.
CIFAR-10 and CelebA (``load_tfds_images``) come from ``tfds.data_source`` over a prepared TFDS ``data_dir``
(no TensorFlow needed: TFDS decodes images to uint8 numpy with PIL); their pixels are scaled to [-1, 1] (x /
127.5 - 1, for a tanh G) and flattened in HWC order.
"""

import numpy as np
from PIL import Image

from gan_jax import config as config_lib
from gan_jax.data import fashion_mnist, mnist, stacked_mnist, toys


def center_crop_resize(image: np.ndarray, crop: int, size: int) -> np.ndarray:
    """The central ``crop`` x ``crop`` square of a uint8 [H, W, C] image, resized to ``size`` x ``size``
    (PIL bilinear, antialiased when shrinking)."""
    top, left = (image.shape[0] - crop) // 2, (image.shape[1] - crop) // 2
    patch = np.ascontiguousarray(image[top : top + crop, left : left + crop])
    return np.asarray(Image.fromarray(patch).resize((size, size), Image.BILINEAR))


def to_symmetric(images: np.ndarray) -> np.ndarray:
    """uint8 pixels to float32 in [-1, 1]: x / 127.5 - 1."""
    return np.asarray(images, np.float32) / 127.5 - 1.0


def load_tfds_images(
    name: str, data_dir: str | None = None, num_train: int = 0, rows: tuple[int, int] | None = None
) -> dict:
    """``{'train': (x float32 [N, H*W*C] in [-1, 1], y int32 [N])}`` of TFDS ``cifar10`` (32x32x3, its
    labels) or ``celeb_a`` (each 218x178 photo center-cropped to 108x108 then resized to 64x64, as DCGAN
    did; labels zeros) from their ``train`` split; the first ``num_train`` examples (0: all), or of
    those only ``rows`` = [first, end) (read by index: a host of a multi-host run reads its own rows).

    The whole split is held in memory as float32: 0.6 GB for CIFAR-10, 8 GB for CelebA's 162,770 images
    (with ``rows``, that block alone).
    """
    shape, label_key, crop = config_lib.IMAGE_SETS[name]
    source = mnist.tfds_source(name, "train", data_dir)
    total = _capped(len(source), num_train)
    first, end = (0, total) if rows is None else (min(rows[0], total), min(rows[1], total))
    n = end - first
    x = np.empty((n, int(np.prod(shape))), np.float32)
    y = np.zeros(n, np.int32)
    for i in range(n):
        example = source[first + i]
        image = np.asarray(example["image"], np.uint8)
        if crop:
            image = center_crop_resize(image, crop, shape[0])
        x[i] = to_symmetric(image).reshape(-1)
        if label_key:
            y[i] = int(example[label_key])
    return {"train": (x, y)}


def pixel_range(data_config) -> tuple[float, float] | None:
    """The range the dataset's pixels are scaled to: [0, 1] for MNIST, Fashion-MNIST and StackedMNIST, [-1, 1]
    for the TFDS colour sets, None for the (unbounded) toys."""
    name = data_config.name
    if name in ("mnist", "fashion_mnist", "stacked_mnist"):
        return (0.0, 1.0)
    return (-1.0, 1.0) if name in config_lib.IMAGE_SETS else None


# the datasets with class labels, and their class counts
NUM_CLASSES = {"mnist": 10, "fashion_mnist": 10, "cifar10": 10}
LABELLED = tuple(NUM_CLASSES)


def _capped(available: int, num_train: int) -> int:
    """The training rows used of ``available``: the first ``num_train`` (0 or less: all)."""
    return available if num_train <= 0 else min(num_train, available)


def train_size(data_config) -> int:
    """The training set's row count, for CIFAR-10 and CelebA without reading their images (the TFDS
    split's length, capped by ``num_train``); the other sets are loaded to count them."""
    name = data_config.name
    if name in config_lib.IMAGE_SETS:
        source = mnist.tfds_source(name, "train", data_config.dir or None)
        return _capped(len(source), int(data_config.num_train))
    if name == "stacked_mnist":  # built to exactly num_train rows; not built to count them
        return int(data_config.num_train)
    return len(load_dataset(data_config)["train"][0])


def load_dataset(data_config, rows: tuple[int, int] | None = None) -> dict:
    """``{'train': (x, y), ...}`` for ``data_config.name``: MNIST (see ``mnist.load_mnist``), Fashion-MNIST
    (``fashion_mnist.load_fashion_mnist``: ``source`` 'debian' or 'tfds'), StackedMNIST
    (see ``gan_jax.data.stacked_mnist.load``), CIFAR-10 or CelebA (see ``load_tfds_images``;
    ``data_config.dir`` is the TFDS data_dir, ``num_train`` caps the count, ``rows`` = [first, end) reads
    those training rows alone), or a toy.

    Toy training sets are ``num_train`` float32 draws from ``gan_jax.data.toys`` under ``data_config.seed``
    (fixed data, like MNIST; the run's seed shuffles it); their labels are zeros.
    """
    name = data_config.name
    if rows is not None and name not in config_lib.IMAGE_SETS:
        raise ValueError(f"rows= reads part of {', '.join(config_lib.IMAGE_SETS)} only, not {name}")
    if name == "mnist":
        return mnist.load_mnist(data_config.source, data_config.dir or None)
    if name == "fashion_mnist":
        return fashion_mnist.load_fashion_mnist(data_config.source, data_config.dir or None)
    if name == "stacked_mnist":
        return stacked_mnist.load(data_config)
    if name in config_lib.IMAGE_SETS:
        num_train = int(data_config.num_train)
        return load_tfds_images(name, data_config.dir or None, num_train, rows)
    n, seed = data_config.num_train, data_config.seed
    if name == "ring":
        x = toys.ring(n, seed, data_config.num_modes, data_config.radius, data_config.std)
    elif name == "grid":
        x = toys.grid(n, seed, data_config.side, data_config.spacing, data_config.std)
    elif name == "gauss1d":
        x = toys.gaussian_1d(n, seed, data_config.means[0], data_config.stds[0])
    elif name == "mixture1d":
        x = toys.mixture_1d(n, seed, data_config.means, data_config.stds)
    elif name == "dirac":
        x = np.zeros((n, 1), np.float32)
    else:
        raise mnist.DatasetError(f"unknown dataset {name!r}; choose one of: {', '.join(config_lib.DATASETS)}")
    x = np.asarray(x, np.float32).reshape(n, -1)
    return {"train": (x, np.zeros(n, np.int32))}


def toy_centres(data_config) -> np.ndarray:
    """The mode centres of a 2-D toy dataset, as its sampler defines them."""
    if data_config.name == "ring":
        return toys.ring_centres(data_config.num_modes, data_config.radius)
    return toys.grid_centres(data_config.side, data_config.spacing)


def toy_density(data_config, x) -> np.ndarray:
    """The exact density of a 1-D toy dataset at x (float64); zeros for the point mass 'dirac'."""
    if data_config.name == "dirac":
        return np.zeros(np.shape(x))

    if data_config.name == "gauss1d":
        return toys.gaussian_1d_pdf(x, data_config.means[0], data_config.stds[0])
    return toys.mixture_1d_pdf(x, data_config.means, data_config.stds)
