r"""The 2-D grid of 25 Gaussians at (−4+2i, −4+2j), std 0.05 (PacGAN/VEEGAN settings).

Run:
  python launch.py --config=experiments/configs/grid.py --workdir=/tmp/grid
"""

from experiments.configs import ring


def get_config():
    c = ring.get_config()
    c.data.name = "grid"
    c.data.side = 5
    c.data.spacing = 2.0
    c.data.std = 0.05
    del c.data["num_modes"], c.data["radius"]
    return c
