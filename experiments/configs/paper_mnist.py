r"""The 2014 paper's MNIST GAN (goodfeli/adversarial mnist.yaml), hyper-parameter for hyper-parameter:
gan_jax/config.py's defaults, which hold every field of a run.

Run (the default of launch.py; 500 epochs = 250k simultaneous steps of batch 100):
  python launch.py --game=nonsaturating --workdir=/tmp/paper_mnist
Algorithm 1's alternating variant:
  python launch.py --game=nonsaturating --update=alternating --workdir=/tmp/paper_mnist_alt
"""

import ml_collections

from gan_jax import config


def get_config() -> ml_collections.ConfigDict:
    return config.get_config()
