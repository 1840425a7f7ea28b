"""Gradient penalties on the paper's dropout D: through a dropped-out D (each penalty pass its own mask,
config.reg.penalty_dropout=True, the default) or through D in eval mode (no dropout, weights scaled:
False). R1 (gamma 1) with the non-saturating game and WGAN-GP (lambda 10), each both ways; the games
sweep's recipe (Adam 2e-4 / 0.5, alternating, D loss real + fake), 1,500 steps (3 epochs), 2 seeds
side by side, the MNIST metrics at the end. The toys' MLP D has no dropout: both ways are one step.

  python experiments/scripts/sweep.py --sweep=experiments/sweeps/penalty_dropout.py \
      --root=/tmp/penalty_dropout
  python experiments/reports/collect.py --root=/tmp/penalty_dropout --sort_by=fcd --order=ascending
Results: experiments/reports/RESULTS.md.
"""

from experiments.sweeps import product

CONFIG = "experiments/configs/paper_mnist_adam.py"
PENALTIES = [
    {"game": "nonsaturating", "config.reg.r1_gamma": 1.0},
    {"game": "wasserstein", "config.reg.gp_weight": 10.0},
]
SHARED = {
    "update": "alternating",
    "config.num_replicas": 2,
    "config.num_steps": 1500,
    "config.steps_per_call": 500,
    "config.log_every": 500,
    "config.sample_every": 1500,
    "config.ckpt_every": 1500,
    "config.eval_every": 1500,
}


def get_sweep() -> list[dict]:
    return [
        SHARED | penalty | way
        for penalty in PENALTIES
        for way in product(**{"config.reg.penalty_dropout": [True, False]})
    ]
