r"""DCGAN (Radford et al. 2016) on CIFAR-10 32x32x3 in [-1, 1]: the 'dcgan32' pair, tanh output, the
recipe of dcgan_mnist (Adam 2e-4 / 0.5, batch 64, non-saturating, alternating). Needs a prepared TFDS
``cifar10`` (``--config.data.dir``: its data_dir; '' for the TFDS default). No metrics are computed for
CIFAR-10 here (eval_every = 0): samples and losses only.

Run:
  python launch.py --config=experiments/configs/dcgan_cifar10.py --workdir=/tmp/dcgan_cifar10
"""

import ml_collections

from experiments.configs import dcgan_mnist
from gan_jax import config


def get_config() -> ml_collections.ConfigDict:
    c = dcgan_mnist.get_config()  # paper_mnist's fields with DCGAN's training recipe
    c.eval_every = 0
    c.data = config.data_config("cifar10")  # dir: the TFDS data_dir; num_train 0: the whole split
    c.model = config.model_config("dcgan32")
    return c
