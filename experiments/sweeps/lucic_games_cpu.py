"""experiments/sweeps/lucic_games.py at the budget two CPU cores give one session: 2,000 steps (12.8 % of
Lucic et al.'s 15,625) and 2 seeds a game (3 for NS GAN, the headline DCGAN-28 rows), the same games, nets
and recipe.

  python experiments/scripts/sweep.py --sweep=experiments/sweeps/lucic_games_cpu.py --root=/tmp/lucic_cpu
"""

from experiments.sweeps import lucic_games

CONFIG = lucic_games.CONFIG


def get_sweep() -> list[dict]:
    trials = lucic_games.trials(2_000, 2, 250)
    for t in trials:
        if t == t | lucic_games.GAMES["NS GAN"] and "config.reg.dragan_weight" not in t:
            t["config.num_replicas"] = 3
    return trials
