r"""DCGAN (Radford et al. 2016) on MNIST 28x28 in [0, 1]: the 'dcgan28' pair, sigmoid output.

DCGAN's training recipe: Adam (lr 2e-4, beta1 0.5), minibatch 64 (the PyTorch DCGAN reference's
default), the non-saturating G loss, D's loss the sum of its real and fake cross-entropies, and
alternating updates (one D step on a real and a fake batch, then one G step through the updated D),
as DCGAN's code trains. Everything else (seed, cadences, options) comes from paper_mnist.

Run:
  python launch.py --config=experiments/configs/dcgan_mnist.py --workdir=/tmp/dcgan_mnist
"""

import ml_collections

from experiments.configs import paper_mnist
from gan_jax import config


def dcgan_optim() -> ml_collections.ConfigDict:
    """Adam(2e-4, beta1 0.5, beta2 0.999), Radford et al. 2016, Sec. 4."""
    optim = config.optim_config("adam")
    optim.learning_rate = 2e-4
    optim.b1 = 0.5
    return optim


def get_config() -> ml_collections.ConfigDict:
    c = paper_mnist.get_config()
    c.game = "nonsaturating"
    c.update_scheme = "alternating"  # DCGAN: a D step, then a G step through the updated D
    c.d_steps = 1
    c.g_steps = 1
    c.d_loss_scale = 1.0  # DCGAN's D loss: real + fake cross-entropy (the 2014 code averaged them)
    c.batch_size = 64
    c.num_epochs = 25  # the PyTorch DCGAN reference's default; num_steps follows (19,531 at batch 64)
    c.log_every = 500
    c.sample_every = 1_000
    c.ckpt_every = 5_000
    c.eval_every = 5_000  # the MNIST metrics (Parzen, FCD, ...) apply as for the paper model
    c.model = config.model_config("dcgan28")
    c.optim = dcgan_optim()
    return c
