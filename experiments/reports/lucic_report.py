r"""Lucic et al. 2018's games on MNIST and Fashion-MNIST (experiments/sweeps/lucic_games.py), measured by
Inception FID and KID against the test images, beside the paper's published best FIDs.

Reads every trial under experiments/results/lucic_games/<budget>/ (a trial's config.json, each seed's
replica_<i>/metrics.jsonl and replica_<i>/samples_vs_reference.eval.json, written by `launch.py
--mode=evaluate --workdir=TRIAL --reference=...`; commands.txt holds the commands). A row: the seeds that
were measured, FID mean ± std over them (ddof 1), KID (each seed's mean over its subsets) mean ± std,
precision/recall/density/coverage means, and the real-data floor of the same protocol
(experiments/results/set_floors/inception/<dataset>_n<N>.json: test images against training images,
the same set sizes).

  python experiments/reports/lucic_report.py           # print the tables
  python experiments/reports/lucic_report.py --write   # put them into RESULTS.md
"""

import glob
import json
import os
import sys

import numpy as np
from absl import app

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from experiments.reports import tables  # noqa: E402
from experiments.sweeps import lucic_games  # noqa: E402
from gan_jax.game import replicas  # noqa: E402

DOC = "experiments/reports/RESULTS.md"
BUDGETS = ("cpu",)  # record directories under experiments/results/lucic_games/ that have a table
DATASETS = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
# Lucic et al. 2018 (arXiv 1711.10337), best FID per model after their 100-setting search, mean ± std over
# the best setting's reruns, as Dai & Wipf 2019 Table 1 reproduces it (../shared/EVAL_NOTES.md section 3).
PUBLISHED_FID = {
    "mnist": {
        "MM GAN": (9.8, 0.9),
        "NS GAN": (6.8, 0.5),
        "LSGAN": (7.8, 0.6),
        "WGAN": (6.7, 0.4),
        "WGAN GP": (20.3, 5.0),
        "DRAGAN": (7.6, 0.4),
    },
    "fashion_mnist": {
        "MM GAN": (29.6, 1.6),
        "NS GAN": (26.5, 1.6),
        "LSGAN": (30.7, 2.2),
        "WGAN": (21.5, 1.6),
        "WGAN GP": (24.5, 2.1),
        "DRAGAN": (27.7, 1.2),
    },
}
REPORT = "samples_vs_reference.eval.json"
REG_FIELDS = ("clip", "gp_weight", "dragan_weight", "r1_gamma", "r2_gamma", "consensus")  # any set: named


def game_name(config: dict) -> str:
    """Lucic et al.'s name of the game a trial's config trains (lucic_games.GAMES)."""
    reg, norm = config["reg"], config["model"].get("d_norm", "")
    for name, overrides in lucic_games.GAMES.items():
        if overrides["game"] != config["game"]:
            continue
        wanted = {k.split(".", 2)[-1]: v for k, v in overrides.items() if k.startswith("config.reg.")}
        others = {k: v for k, v in reg.items() if k in REG_FIELDS and v}
        if others == wanted and (norm == "layer") == ("config.model.d_norm" in overrides):
            return name
    raise tables.TableError(f"a trial of game {config['game']!r} that lucic_games.GAMES does not name")


def seed_reports(dirs: list[str]) -> list[dict]:
    """The two-set report (``REPORT``) of each seed directory in ``dirs`` that has one, in order."""
    reports = []
    for d in dirs:
        path = os.path.join(d, REPORT)
        if os.path.exists(path):
            with open(path) as f:
                reports.append(json.load(f))
    return reports


def load_trial(path: str) -> dict:
    """A trial's config, its number of seeds and each measured seed's report."""
    with open(os.path.join(path, "config.json")) as f:
        config = json.load(f)
    seeds = int(config.get("num_replicas", 1))
    return {"config": config, "reports": seed_reports(replicas.dirs(path, seeds)), "seeds": seeds}


def mean_std(values: list[float], digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def floor(dataset: str, n: int) -> dict | None:
    path = os.path.join(tables.RESULTS, "set_floors", "inception", f"{dataset}_n{n}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def row(name: str, trial: dict, published: tuple) -> list:
    r = trial["reports"]
    kid = [x["inception_kid_mean"] * 1e3 for x in r]
    return [
        name,
        f"{trial['config']['num_steps']:,}",
        f"{len(r)} of {trial['seeds']}",
        mean_std([x["inception_fid"] for x in r], 1),
        mean_std(kid, 1),
        *(f"{np.mean([x[k] for x in r]):.2f}" for k in ("precision", "recall", "density", "coverage")),
        f"{published[0]} ± {published[1]}",
    ]


def measured(budget: str, dataset: str) -> dict:
    """{Lucic et al.'s game name: its trial} of the trials under ``budget`` on ``dataset`` that were
    measured."""
    root = os.path.join(tables.RESULTS, "lucic_games", budget)
    trials = [load_trial(p) for p in sorted(glob.glob(os.path.join(root, "*", "")))]
    trials = [t for t in trials if t["config"]["data"]["name"] == dataset and t["reports"]]
    names = [game_name(t["config"]) for t in trials]
    if len(set(names)) < len(names):
        raise tables.TableError(f"{dataset}: two trials under {root} train the same game")
    return dict(zip(names, trials, strict=True))


def games_table(budget: str, dataset: str) -> str:
    by_game = measured(budget, dataset)
    trials = list(by_game.values())
    if not trials:
        raise tables.TableError(f"{dataset}: no measured trial under lucic_games/{budget}")
    rows = [row(n, by_game[n], PUBLISHED_FID[dataset][n]) for n in lucic_games.GAMES if n in by_game]
    protocols = {
        (x["protocol"]["n_samples"], x["protocol"]["reference"]) for t in trials for x in t["reports"]
    }
    if len(protocols) != 1:
        raise tables.TableError(f"{dataset}: the trials were measured under {len(protocols)} protocols")
    ((n, _),) = protocols
    real = floor(dataset, n)
    if real is not None:
        rows.append(
            [
                f"real data (test[:{n}] against train[:{n}])",
                "–",
                "–",
                f"{real['inception_fid']:.1f}",
                f"{real['inception_kid_mean'] * 1e3:.1f}".replace("-0.0", "0.0"),
                *(f"{real[k]:.2f}" for k in ("precision", "recall", "density", "coverage")),
                "–",
            ]
        )
    header = [
        "game (Lucic et al.'s name)",
        "steps",
        "seeds measured",
        "FID ↓",
        "KID × 10³ ↓",
        "precision",
        "recall",
        "density",
        "coverage",
        "published FID (their budget and search, N = 10,000)",
    ]
    return tables.markdown(header, rows)


def get_tables() -> dict:
    return {
        (DOC, f"lucic_{budget}_{dataset}"): games_table(budget, dataset)
        for budget in BUDGETS
        for dataset in DATASETS
    }


def main(argv):
    del argv
    tables.main(get_tables)


if __name__ == "__main__":
    app.run(main)
