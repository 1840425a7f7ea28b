r"""GMMN (Li, Swersky & Zemel 2015) on the 25-mode grid, in the project's grid protocol
(experiments/configs/grid.py): the data (5 x 5 Gaussians at (-4 + 2i, -4 + 2j), std 0.05), G (3 ReLU layers
of 128, z 2-D), batch 100, Adam lr 1e-4 and b1 0.5, 20,000 steps and evaluation (2,500 samples, modes and
high quality) of grid.py; no discriminator, G minimises sqrt(MMD^2_b) between its batch and the data's.

The kernel is this config's choice, by gmmn_ring.py's rule (GMMN published no 2-D protocol): five
Gaussians whose standard deviations run in half-decades from a mode's (0.05) to the grid's half-width
(5): variances {0.0025, 0.025, 0.25, 2.5, 25}.

Run:
  python launch.py --config=experiments/configs/gmmn_grid.py --workdir=/tmp/gmmn_grid
"""

from experiments.configs import gmmn_ring
from gan_jax import config


def get_config():
    c = gmmn_ring.get_config()
    c.data = config.data_config("grid")
    c.mmd.sigmas = (0.0025, 0.025, 0.25, 2.5, 25.0)
    return c
