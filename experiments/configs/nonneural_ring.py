r"""The 8-mode ring (experiments/configs/ring.py: MLP G, Adam 1e-4, b1 0.5, 20,000 steps) with a discriminator
that is not a trained network: logistic regression on 1,024 fixed random Fourier features of the 2-D
points (gan_jax/networks/random_features.py).

- Bandwidth sigma = 0.25. The median heuristic gives 1.41 (experiments/scripts/median_bandwidth.py, record
  experiments/results/nonneural/median_bandwidth.json): on a mixture it measures the distance between
  modes, and a kernel that wide cannot tell two neighbouring modes apart (their centres are 2 sin(pi/8) =
  0.77 apart). A third of that spacing separates the modes while staying far wider than a mode (std 0.01),
  so D's gradient still reaches a G sample between modes.
- M = 1,024 features: in 2-D the kernel estimate's error, of order 1/sqrt(M) ~ 0.03, needs no more.

Run:
  python launch.py --config=experiments/configs/nonneural_ring.py --workdir=/tmp/nonneural_ring
"""

import ml_collections

from experiments.configs import ring


def get_config() -> ml_collections.ConfigDict:
    c = ring.get_config()
    c.model.discriminator = "random_fourier"
    c.model.rff_features = 1024
    c.model.rff_bandwidth = 0.25
    return c
