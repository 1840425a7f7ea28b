"""Two seeds of the tiny smoke model for 20 steps, evaluation off (seconds; the sweep test runs it).

python experiments/scripts/sweep.py --sweep=experiments/sweeps/smoke.py --root=/tmp/sweep_smoke --parallel=2
"""

from experiments.sweeps import product

CONFIG = "experiments/configs/smoke.py"


def get_sweep() -> list[dict]:
    fixed = {"config.num_steps": 20, "config.eval_every": 0, "config.model.g_hidden": (16, 16)}
    return product(fixed, seed=[0, 1])
