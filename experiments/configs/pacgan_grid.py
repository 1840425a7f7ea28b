r"""PacGAN's 2-D grid protocol: 25 Gaussians at (-4 + 2i, -4 + 2j), std 0.05; everything else as
experiments/configs/pacgan_ring.py (its differences from PacGAN's code too).

Run:
  python launch.py --config=experiments/configs/pacgan_grid.py --workdir=/tmp/pacgan_grid
"""

from experiments.configs import pacgan_ring
from gan_jax import config


def get_config():
    c = pacgan_ring.get_config()
    c.data = config.data_config("grid")
    return c
