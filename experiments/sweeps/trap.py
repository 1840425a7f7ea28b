"""Does an update scheme keep the paper model out of the saturation trap?

The paper's MNIST config (mnist.yaml's SGD and model), seeds 0-2 side by side, 3,000 steps (6 epochs),
for Algorithm 1's alternating updates (which fall into the trap, README), the 2014 code's simultaneous
updates (which do not), extragradient (at the paper's step and at a fifth of it), optimistic, and
alternating with negative momentum (Gidel et al. 2019: heavy ball at -0.3 for both players). A
replica that falls in is told by the collapse warning (gan_jax/training/collapse.py) in its log;
experiments/reports/trap_report.py tabulates the last rows and the warnings.

  python experiments/scripts/sweep.py --sweep=experiments/sweeps/trap.py --root=/tmp/trap
  python experiments/reports/trap_report.py   # from the committed runs in experiments/results/trap
Results: experiments/reports/DYNAMICS.md.
"""

CONFIG = "experiments/configs/paper_mnist.py"
SHARED = {
    "config.num_replicas": 3,
    "config.num_steps": 3000,
    "config.steps_per_call": 250,
    "config.log_every": 250,
    "config.sample_every": 3000,
    "config.ckpt_every": 3000,
    "config.eval_every": 0,
}
VARIANTS = [
    {"update": "alternating"},
    {"update": "simultaneous"},
    {"update": "extragradient"},
    {"update": "extragradient", "config.optim.learning_rate": 0.02},  # a fifth of the paper's step
    {"update": "optimistic"},
    {"update": "alternating", "config.optim.momentum_init": -0.3, "config.optim.momentum_final": -0.3},
]


def get_sweep() -> list[dict]:
    return [SHARED | variant for variant in VARIANTS]
