r"""The 2014 paper's MNIST GAN, hyper-parameter for hyper-parameter, on Fashion-MNIST (MNIST's shape, split
and pixel scaling; gan_jax/data/fashion_mnist.py): the paper model on a second image set.

No metrics yet (eval_every = 0): the shipped classifier and the Parzen protocol's floors are MNIST's.

Run (`make data` fetches the set from Debian's dataset-fashion-mnist package):
  python launch.py --config=experiments/configs/paper_fashion_mnist.py --workdir=/tmp/paper_fashion_mnist
"""

import ml_collections

from gan_jax import config


def get_config() -> ml_collections.ConfigDict:
    c = config.get_config()
    c.data = config.data_config("fashion_mnist")
    c.eval_every = 0
    return c
