"""The 2-D ring and grid: minimax vs non-saturating G loss, alternating updates, 5 seeds (20 trials).

Each trial evaluates mode coverage at the end (eval rows of metrics.jsonl; see the toy configs).
  python experiments/scripts/sweep.py --sweep=experiments/sweeps/toys.py --root=/tmp/sweep_toys --parallel=2
  python experiments/reports/collect.py --root=/tmp/sweep_toys --sort_by=modes_covered
"""

from experiments.sweeps import product

CONFIG = "experiments/configs/ring.py"


def get_sweep() -> list[dict]:
    return product(
        config=["experiments/configs/ring.py", "experiments/configs/grid.py"],
        game=["minimax", "nonsaturating"],
        update="alternating",
        seed=list(range(5)),
    )
