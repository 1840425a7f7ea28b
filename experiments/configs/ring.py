r"""The 2-D ring of 8 Gaussians (radius 1, std 0.01; PacGAN/VEEGAN settings) with MLP G and D.

Run:
  python launch.py --config=experiments/configs/ring.py --workdir=/tmp/ring
  python launch.py --config=experiments/configs/ring.py --update=alternating --game=minimax --workdir=/tmp/r2
Results over seeds: experiments/toy_table.py and experiments/RESULTS_TOYS.md.
"""

import ml_collections

from experiments.configs import paper_mnist


def get_config() -> ml_collections.ConfigDict:
    c = paper_mnist.get_config()
    c.d_loss_scale = 1.0
    c.batch_size = 100
    c.num_epochs = 1
    c.num_steps = 20_000
    c.log_every = 1_000
    c.ckpt_every = 10_000
    c.sample_every = 5_000
    c.eval_every = 10_000
    c.eval_samples = 2_500  # the VEEGAN/PacGAN protocol

    c.data = ml_collections.ConfigDict()
    c.data.name = "ring"
    c.data.num_train = 100_000
    c.data.seed = 0
    c.data.num_modes = 8
    c.data.radius = 1.0
    c.data.std = 0.01

    c.model = ml_collections.ConfigDict()
    c.model.name = "mlp"
    c.model.z_dim = 2
    c.model.data_dim = 2
    c.model.g_hidden = (128, 128, 128)
    c.model.d_hidden = (128, 128, 128)
    c.model.spectral_norm = False  # True: every D layer spectrally normalised (Miyato et al. 2018)

    c.optim = ml_collections.ConfigDict()
    c.optim.name = "adam"
    c.optim.learning_rate = 1e-4
    c.optim.b1 = 0.5
    c.optim.b2 = 0.999
    return c
