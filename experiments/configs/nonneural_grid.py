r"""The 25-mode grid (experiments/configs/grid.py: MLP G, Adam 1e-4, b1 0.5, 20,000 steps) with a
discriminator that is not a trained network: logistic regression on 1,024 fixed random Fourier features of
the 2-D points (gan_jax/networks/random_features.py).

Bandwidth sigma = 2/3, by nonneural_ring.py's rule: a third of the spacing between neighbouring modes (2
here), so the kernel tells neighbouring modes apart while staying far wider than a mode (std 0.05). M =
1,024 features, as on the ring.

Run:
  python launch.py --config=experiments/configs/nonneural_grid.py --workdir=/tmp/nonneural_grid
"""

from experiments.configs import nonneural_ring
from gan_jax import config


def get_config():
    c = nonneural_ring.get_config()
    c.data = config.data_config("grid")
    c.model.rff_bandwidth = c.data.spacing / 3
    return c
