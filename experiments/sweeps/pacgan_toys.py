"""PacGAN's Table 1 rows on the ring and the grid at its protocol (experiments/configs/pacgan_ring.py):
the GAN and PacGAN2/3/4, 5 seeds side by side each; then the unrolled GAN (5 steps) on the ring of the
Unrolled GAN paper (radius 2, std 0.02), with and without, both with alternating updates; and the GAN
with the minibatch-std feature in D (Karras et al. 2018) on PacGAN's ring and grid. PacGAN reports 10
trials, mean +- standard error.

  python experiments/scripts/sweep.py --sweep=experiments/sweeps/pacgan_toys.py --root=/tmp/pacgan_toys
  python experiments/reports/collect.py --root=/tmp/pacgan_toys --sort_by=modes_covered
A shorter budget for a convergence curve: add --config.num_steps=N (the rows state their budget).
"""

from experiments.sweeps import product

CONFIG = "experiments/configs/pacgan_ring.py"  # the grid's rows name their own config
SHARED = {"config.num_replicas": 5, "config.steps_per_call": 1000}
# unrolling differentiates G's loss through D's look-ahead steps, one D step then one G step
UNROLLED_RING = {"config.data.radius": 2.0, "config.data.std": 0.02, "config.update_scheme": "alternating"}


def get_sweep() -> list[dict]:
    packed = product(
        SHARED,
        config=["experiments/configs/pacgan_ring.py", "experiments/configs/pacgan_grid.py"],
        **{"config.pack": [1, 2, 3, 4]},
    )
    unrolled = product(
        SHARED,
        UNROLLED_RING,
        **{"config.unroll_steps": [0, 5]},
    )
    minibatch_std = product(
        SHARED,
        config=["experiments/configs/pacgan_ring.py", "experiments/configs/pacgan_grid.py"],
        **{"config.model.d_minibatch_std": True},
    )
    return packed + unrolled + minibatch_std
