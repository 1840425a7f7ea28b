r"""DCGAN (Radford et al. 2016) on Fashion-MNIST: experiments/configs/dcgan_mnist.py's 'dcgan28' pair and
recipe (Adam 2e-4 / 0.5, batch 64, alternating, 25 epochs) on the second image set
(gan_jax/data/fashion_mnist.py: MNIST's shape, split and [0, 1) pixels). Its metrics go
through Fashion-MNIST's own shipped classifier (gan_jax/metrics/classifier.py) against its held-out splits.

Run:
  python launch.py --config=experiments/configs/dcgan_fashion_mnist.py --workdir=/tmp/dcgan_fashion_mnist
"""

import ml_collections

from experiments.configs import dcgan_mnist
from gan_jax import config


def get_config() -> ml_collections.ConfigDict:
    c = dcgan_mnist.get_config()
    c.data = config.data_config("fashion_mnist")
    return c
