r"""1-D: a two-component Gaussian mixture learned by small MLPs (the paper's Figure 1 setting).

Run:
  python launch.py --config=experiments/configs/mixture1d.py --workdir=/tmp/mix1d
The figure of the paper's Figure 1 stages: python experiments/scripts/figure1.py
"""

from experiments.configs import ring
from gan_jax import config


def get_config():
    c = ring.get_config()
    c.data = config.data_config("mixture1d")  # means (-2, 2), stds (0.5, 0.5)
    c.model.z_dim = 1
    c.model.data_dim = 1
    c.model.g_hidden = (32, 32)
    c.model.d_hidden = (32, 32)
    c.optim.learning_rate = 1e-3
    c.num_steps = 10_000
    c.eval_every = 0
    c.sample_every = 1_000
    return c
