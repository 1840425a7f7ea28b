"""Every game on the 2-D ring and grid, one budget for all: alternating updates (k = 1), Adam 1e-4
(b1 0.5), 8,000 steps, 3 seeds per trial trained side by side (num_replicas), mode coverage at the end.

  python experiments/scripts/sweep.py --sweep=experiments/sweeps/games_toys.py --root=/tmp/games_toys
  python experiments/reports/collect.py --root=/tmp/games_toys --sort_by=high_quality
Results: experiments/reports/RESULTS.md.
"""

CONFIG = "experiments/configs/ring.py"
VARIANTS = [
    {"game": "minimax"},
    {"game": "nonsaturating"},
    {"game": "least_squares"},
    {"game": "hinge"},
    {"game": "relativistic_average"},
    {"game": "wasserstein", "config.reg.gp_weight": 10.0},
    {"game": "wasserstein", "config.reg.clip": 0.01},
]
SHARED = {
    "update": "alternating",
    "config.num_steps": 8000,
    "config.num_replicas": 3,
    "config.steps_per_call": 1000,
    "config.log_every": 1000,
    "config.sample_every": 8000,
    "config.eval_every": 8000,
}


def get_sweep() -> list[dict]:
    configs = ["experiments/configs/ring.py", "experiments/configs/grid.py"]
    return [{"config": c} | SHARED | v for c in configs for v in VARIANTS]
