r"""DCGAN (Radford et al. 2016) on CelebA 64x64x3 in [-1, 1]: the 'dcgan64' pair, tanh output, the
recipe of dcgan_mnist (Adam 2e-4 / 0.5, batch 64, non-saturating, alternating). Needs a prepared TFDS
``celeb_a`` (``--config.data.dir``); each photo is center-cropped to 108x108 and resized to 64x64
(gan_jax/data/datasets.py). The 162,770 training images take 8 GB as float32. No metrics (eval_every = 0).

Run:
  python launch.py --config=experiments/configs/dcgan_celeba.py --workdir=/tmp/dcgan_celeba
"""

import ml_collections

from experiments.configs import dcgan_mnist
from gan_jax import config

CELEBA_TRAIN = 162_770


def get_config() -> ml_collections.ConfigDict:
    c = dcgan_mnist.get_config()  # paper_mnist's fields with DCGAN's training recipe
    c.eval_every = 0
    c.num_epochs = 5  # 12,716 steps at batch 64
    c.num_steps = c.get_ref("num_epochs") * CELEBA_TRAIN // c.get_ref("batch_size")
    c.data = config.data_config("celeb_a")  # dir: the TFDS data_dir; num_train 0: the whole split
    c.model = config.model_config("dcgan64")
    return c
