r"""The 2-D ring of 8 Gaussians (radius 1, std 0.01; PacGAN/VEEGAN settings) with MLP G and D.

Run:
  python launch.py --config=experiments/configs/ring.py --workdir=/tmp/ring
  python launch.py --config=experiments/configs/ring.py --update=alternating --game=minimax --workdir=/tmp/r2
Results over seeds: experiments/scripts/toy_table.py and experiments/reports/RESULTS_TOYS.md.
"""

import ml_collections

from experiments.configs import paper_mnist
from gan_jax import config


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

    c.data = config.data_config("ring")  # 8 modes, radius 1, std 0.01; 100,000 training points
    c.model = config.model_config("mlp")  # G and D: 3 hidden ReLU layers of 128, z 2-D
    c.optim = config.optim_config("adam")
    c.optim.learning_rate = 1e-4
    c.optim.b1 = 0.5
    return c
