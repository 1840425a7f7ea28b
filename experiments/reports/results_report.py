r"""RESULTS.md's tables from the committed records under experiments/results/.

  games_toys          the toy games sweep: experiments/results/games_toys/results.csv (collect.py's
                      table of the sweep's runs; the runs' own metrics.jsonl are not committed)
  games_mnist         the MNIST games sweep: each trial's replica_<r>/metrics.jsonl
  penalty_dropout     R1 through D's dropout or not: each trial's replica_<r>/metrics.jsonl
  conditional         conditional MNIST: concat/ and projection/ replica_<r>/metrics.jsonl, and the
                      real-data floors in real_data/eval.json

Each metric is the last value of the seed's metrics.jsonl (its last eval row), as collect.py reads it.
± is the standard deviation over seeds (ddof 1).

  python experiments/reports/results_report.py            # print the tables
  python experiments/reports/results_report.py --write    # put them into RESULTS.md
"""

import csv
import json
import math
import os
import sys

import numpy as np
from absl import app

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from experiments.reports import collect, tables  # noqa: E402

DOC = "experiments/reports/RESULTS.md"
GAMES = {
    "nonsaturating": "non-saturating",
    "minimax": "minimax",
    "least_squares": "least squares",
    "hinge": "hinge",
    "relativistic_average": "relativistic average",
    "wasserstein_gp": "Wasserstein, GP λ = 10",
}
MODELS = {"paper_mlp": "paper MLP", "dcgan28": "DCGAN-28"}
# The DCGAN-28 WGAN-GP trial penalised a batch-norm critic (per-example gradient norms are not per
# example there); the code now refuses that combination.
INVALID = {("dcgan28", "wasserstein_gp")}
COLLAPSED_SCORE = 1.5  # a collapsed seed draws one image: classifier score 1.0
CPU_STEPS_PER_SEC = 20.0  # below: the trial ran on the 2-core CPU (its logged steps_per_sec)


def finite(values) -> list[float]:
    return [float(v) for v in values if v not in (None, "") and not math.isnan(float(v))]


def mean_std(values, digits: int, seeds: bool = False) -> str:
    """'m ± s' over the values (ddof 1; '± 0' when they agree), with each value in brackets if
    ``seeds``; one value alone; '–' for none."""
    v = finite(values)
    if not v:
        return "–"
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    s = float(np.std(v, ddof=1))
    out = f"{np.mean(v):.{digits}f} ± " + (f"{s:.{digits}f}" if round(s, digits) else "0")
    return out + (" (" + ", ".join(f"{x:.{digits}f}" for x in v) + ")" if seeds else "")


def mean(values, digits: int) -> str:
    v = finite(values)
    return f"{np.mean(v):.{digits}f}" if v else "–"


def games_toys_table(results: str = tables.RESULTS) -> str:
    with open(os.path.join(results, "games_toys", "results.csv")) as f:
        rows = list(csv.DictReader(f))
    groups = {}
    for r in rows:
        game = GAMES.get(r["game"], r["game"])
        if r["game"] == "wasserstein":
            game = (
                f"Wasserstein, clip {r['reg.clip']}"
                if r["reg.clip"]
                else f"Wasserstein, GP λ = {float(r['reg.gp_weight']):g}"
            )
        groups.setdefault((r["config"], game), []).append(r)
    out = []
    for data in ("ring", "grid"):
        members = [(g, rs) for (d, g), rs in groups.items() if d == data]
        members.sort(key=lambda m: -np.mean(finite(r["high_quality"] for r in m[1])))
        for i, (game, rs) in enumerate(members):
            label = f"{data} ({float(rs[0]['num_modes']):g})" if i == 0 else data
            kl = finite(r["reverse_kl"] for r in rs)
            kl_cell = mean_std(kl, 3)
            if len(kl) < len(rs):
                missing = len(rs) - len(kl)
                kl_cell += f" ({len(kl)} seeds; {missing} had no high-quality sample)"
            out.append(
                [
                    label,
                    game,
                    mean_std([r["high_quality"] for r in rs], 1),
                    mean_std([r["modes_covered"] for r in rs], 1),
                    kl_cell,
                ]
            )
    header = ["data", "game", "high-quality samples (%)", "modes covered", "reverse KL"]
    return tables.markdown(header, out)


def trial_rows(root: str) -> list[dict]:
    return collect.collect(root)[1]


def games_mnist_table(results: str = tables.RESULTS) -> str:
    rows = trial_rows(os.path.join(results, "games_mnist"))
    groups = {}
    for r in rows:
        groups.setdefault((r["model"], r["game"]), []).append(r)
    lines = []
    for (model, game), rs in groups.items():
        rs = sorted(rs, key=lambda r: int(r["seed"]))
        trained = [r for r in rs if r["classifier_score"] > COLLAPSED_SCORE]
        cpu = np.median([r["steps_per_sec"] for r in rs]) < CPU_STEPS_PER_SEC
        name = GAMES[game] + (" (CPU)" if cpu else "")
        if (model, game) in INVALID:
            lines.append((model, 9, 0, [MODELS[model], f"~~{name}~~", "**INVALID**", *["–"] * 5]))
            continue
        collapsed = len(rs) - len(trained)
        cells = [MODELS[model], name, f"{collapsed}/{len(rs)}"]
        if not trained:  # every seed collapsed: their values, to show it
            cells += [
                mean((r["fcd"] for r in rs), 0) + " (all collapsed)",
                mean((r["parzen_ll"] for r in rs), 0),
                mean((r["classifier_score"] for r in rs), 2),
                "–",
                mean((r["recall"] for r in rs), 3),
            ]
        else:
            note = " (the seed that trained)" if len(trained) == 1 else ""
            cells += [
                mean_std([r["fcd"] for r in trained], 1, seeds=True) + note,
                mean_std([r["parzen_ll"] for r in trained], 1),
                mean_std([r["classifier_score"] for r in trained], 2),
                mean((r["precision"] for r in trained), 3),
                mean((r["recall"] for r in trained), 3),
            ]
        fcd = np.mean([r["fcd"] for r in trained]) if trained else math.inf
        lines.append((model, collapsed, fcd, cells))
    order = list(MODELS)
    lines.sort(key=lambda x: (order.index(x[0]), x[1], x[2]))
    header = [
        "model",
        "game",
        "collapsed seeds",
        "FCD ↓",
        "Parzen (nats)",
        "classifier score",
        "precision",
        "recall",
    ]
    return tables.markdown(header, [cells for *_, cells in lines])


def penalty_dropout_table(results: str = tables.RESULTS) -> str:
    rows = trial_rows(os.path.join(results, "penalty_dropout"))
    out = []
    for setting, label in (("True", "True (through dropout)"), ("False", "False (eval-mode D)")):
        rs = sorted((r for r in rows if r["reg.penalty_dropout"] == setting), key=lambda r: int(r["seed"]))
        out.append(
            [
                label,
                mean_std([r["fcd"] for r in rs], 1, seeds=True),
                mean_std([r["parzen_ll"] for r in rs], 1),
                mean_std([r["classifier_score"] for r in rs], 2),
                mean_std([r["precision"] for r in rs], 2),
                mean((r["recall"] for r in rs), 4),
            ]
        )
    header = ["reg.penalty_dropout", "FCD", "Parzen (nats)", "classifier score", "precision", "recall"]
    return tables.markdown(header, out)


def conditional_table(results: str = tables.RESULTS) -> str:
    root = os.path.join(results, "conditional_mnist")
    out = []
    for run, label in (
        ("concat", "concat (Mirza & Osindero 2014)"),
        ("projection", "projection (Miyato & Koyama 2018)"),
    ):
        rs = [r["metrics"] for r in collect.trial_rows(root, run)]
        out.append(
            [
                label,
                mean_std([r["cond_accuracy"] for r in rs], 3),
                mean_std([r["per_class_fcd_mean"] for r in rs], 1),
                mean_std([r["fcd"] for r in rs], 1),
                mean_std([r["parzen_ll"] for r in rs], 1),
                mean_std([r["classifier_score"] for r in rs], 2),
                mean((r["class_kl"] for r in rs), 3),
            ]
        )
    with open(os.path.join(root, "real_data", "eval.json")) as f:
        real = json.load(f)["real_data"]
    out.append(
        [
            "real data (10k training images, their labels; "
            "`experiments/results/conditional_mnist/real_data/`)",
            f"{real['cond_accuracy']:.3f}",
            f"{real['per_class_fcd_mean']:.1f}",
            f"{real['fcd']:.2f}",
            f"{real['parzen_ll']:.1f}",
            f"{real['classifier_score']:.2f}",
            f"{real['class_kl']:.3f}",
        ]
    )
    header = [
        "D conditioning",
        "conditional accuracy",
        "per-class FCD ↓",
        "FCD ↓",
        "Parzen (nats)",
        "classifier score",
        "class KL",
    ]
    return tables.markdown(header, out)


def get_tables() -> dict:
    return {
        (DOC, "games_toys"): games_toys_table(),
        (DOC, "games_mnist"): games_mnist_table(),
        (DOC, "penalty_dropout"): penalty_dropout_table(),
        (DOC, "conditional"): conditional_table(),
    }


def main(argv):
    del argv
    tables.main(get_tables)


if __name__ == "__main__":
    app.run(main)
