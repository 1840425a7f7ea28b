r"""The 2014 paper's MNIST GAN, hyper-parameter for hyper-parameter, on Fashion-MNIST (MNIST's shape, split
and pixel scaling; gan_jax/data/fashion_mnist.py): the paper model on a second image set.

Its metrics are MNIST's, measured through Fashion-MNIST's own shipped classifier
(gan_jax/metrics/classifier.py, 90.21 % test accuracy) and against its own held-out splits: Parzen under
the paper's protocol, FCD, classifier score, precision/recall, with the real-data floors beside them.

Run (`make data` fetches the set from Debian's dataset-fashion-mnist package; `--config.data.source=tfds
--config.data.dir=DIR` reads the same arrays from a prepared TFDS data_dir instead, docs/datasets.md):
  python launch.py --config=experiments/configs/paper_fashion_mnist.py --workdir=/tmp/paper_fashion_mnist
"""

import ml_collections

from gan_jax import config


def get_config() -> ml_collections.ConfigDict:
    c = config.get_config()
    c.data = config.data_config("fashion_mnist")
    return c
