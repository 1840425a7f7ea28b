r"""The roads the 2014 lab did not take, measured beside the GAN (experiments/reports/ROADS.md): the toy
table from the committed runs under experiments/results/roads/toys/ (one directory per config, its
replicas the seeds; experiments/results/roads/toys/commands.txt holds the commands that made them).

Each row: mean ± s.e. over the seeds of the last eval row (modes covered, high-quality %, reverse KL;
gan_jax/metrics/mode_metrics.py, the VEEGAN/PacGAN protocol) and the budget (its step).

  python experiments/reports/roads_report.py           # print the table
  python experiments/reports/roads_report.py --write   # put it into ROADS.md
"""

import os
import sys

from absl import app

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from experiments.reports import modes_report, tables  # noqa: E402

DOC = "experiments/reports/ROADS.md"
TOYS = "roads/toys"
ORDER = ("ring", "gmmn_ring", "nonneural_ring")  # the GAN first, then the roads not taken


def road(config: dict) -> str:
    """What the row trains: the GAN with its network D, GMMN (no D) or the GAN against a fixed-feature D."""
    m = config["model"]
    if config["game"] == "gmmn":
        return "GMMN: G alone, √MMD² under a Gaussian mixture (no D)"
    if m.get("discriminator", "network") == "random_fourier":
        features, sigma = m["rff_features"], m["rff_bandwidth"]
        return f"GAN, D = logistic on {features:,} fixed random Fourier features (σ = {sigma:g})"
    return f"GAN ({config['game']}), D = the MLP"


def toy_table() -> str:
    root = os.path.join(tables.RESULTS, TOYS)
    trials = {os.path.basename(t["path"]): t for t in modes_report.load_root(root, modes_report.TOY_METRICS)}
    rows = []
    for name in ORDER:
        t = trials[name]
        s = modes_report.final_summary(t, modes_report.TOY_METRICS)
        rows.append(
            [
                f"`{name}.py`",
                road(t["config"]),
                s["seeds"],
                f"{s['step']:,}",
                modes_report.fmt(s["modes_covered"]),
                modes_report.fmt(s["high_quality"], 1),
                modes_report.fmt(s["reverse_kl"]),
            ]
        )
    header = ["config", "row", "seeds", "steps", "modes (of 8)", "high quality %", "reverse KL"]
    return tables.markdown(header, rows)


def get_tables() -> dict:
    return {(DOC, "toys"): toy_table()}


def main(argv):
    del argv
    tables.main(get_tables)


if __name__ == "__main__":
    app.run(main)
