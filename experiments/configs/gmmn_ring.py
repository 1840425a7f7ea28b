r"""GMMN (Li, Swersky & Zemel 2015) on the 8-mode ring, in the project's ring protocol
(experiments/configs/ring.py): the same data (radius 1, std 0.01, 100,000 points), G (3 ReLU layers of
128, z 2-D), batch 100, Adam lr 1e-4 and b1 0.5, 20,000 steps and evaluation (2,500 samples, modes and high
quality); no discriminator, G minimises sqrt(MMD^2_b) between its batch and the data's.

The kernel is this config's choice (GMMN published no 2-D protocol): variances {1e-4, 1e-3, 1e-2, 0.1,
1}, standard deviations 0.01 (a mode's) to 1 (the ring's radius), each decade one Gaussian.

Run:
  python launch.py --config=experiments/configs/gmmn_ring.py --workdir=/tmp/gmmn_ring
  python launch.py --config=experiments/configs/gmmn_ring.py --workdir=/tmp/gmmn_ring --mode=evaluate
"""

from experiments.configs import ring


def get_config():
    c = ring.get_config()
    c.game = "gmmn"
    c.d_loss_scale = 0.5  # (no D: left at its default, which GMMN's validation asks)
    c.mmd.sigmas = (1e-4, 1e-3, 1e-2, 0.1, 1.0)
    return c
