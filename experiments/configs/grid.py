r"""The 2-D grid of 25 Gaussians at (−4+2i, −4+2j), std 0.05 (PacGAN/VEEGAN settings).

Run:
  python launch.py --config=experiments/configs/grid.py --workdir=/tmp/grid
"""

from experiments.configs import ring
from gan_jax import config


def get_config():
    c = ring.get_config()
    c.data = config.data_config("grid")  # 5x5 modes, spacing 2, std 0.05
    return c
