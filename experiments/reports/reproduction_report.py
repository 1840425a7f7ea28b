r"""REPRODUCTION.md's tables from the committed records: experiments/results/paper_mnist_h100_long/
(1,420 epochs, one H100), experiments/results/paper_mnist_h200/{simultaneous,alternating}/ (500 and
170 epochs, one H200) and experiments/results/trap/ (3,000 steps on the CPU). A seed's value at an
epoch is its metrics.jsonl eval row at that step; at the end, its eval.json (launch.py --mode=evaluate).
Parzen "± s.e." is the standard error over the test images; "mean ± std" is over seeds (ddof 1).

  python experiments/reports/reproduction_report.py            # print the tables
  python experiments/reports/reproduction_report.py --write    # put them into REPRODUCTION.md
"""

import json
import os
import sys

import numpy as np
from absl import app

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from experiments.reports import tables  # noqa: E402

DOC = "experiments/reports/REPRODUCTION.md"
LONG = "paper_mnist_h100_long"
H200 = "paper_mnist_h200"
STEPS_PER_EPOCH = 500  # 50,000 training images, batch 100
PAPER = "225 ± 2"  # Goodfellow et al. (2014), Table 1: s.e. over the test images


def replica(run: str, r: int) -> str:
    return os.path.join(tables.RESULTS, run, f"replica_{r}")


def eval_json(run: str, r: int) -> dict:
    with open(os.path.join(replica(run, r), "eval.json")) as f:
        return json.load(f)


def evals(run: str, r: int) -> dict[int, dict]:
    """A seed's eval rows (those with parzen_ll) of metrics.jsonl by step."""
    with open(os.path.join(replica(run, r), "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return {row["step"]: row for row in rows if "parzen_ll" in row}


def last(run: str, r: int, key: str):
    with open(os.path.join(replica(run, r), "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [row[key] for row in rows if key in row][-1]


def std(values) -> float:
    return float(np.std(values, ddof=1))


def summary_table() -> str:
    long = [eval_json(LONG, r) for r in (0, 2)]
    short = [eval_json(f"{H200}/simultaneous", r) for r in range(3)]
    real = short[0]["real_data"]
    p = [e["parzen_ll"] for e in long]
    ps, fs = [e["parzen_ll"] for e in short], [e["fcd"] for e in short]
    rows = [
        ["paper (Table 1)", f"{PAPER} (s.e.)", "—", "—"],
        [
            f"{long[0]['step'] // STEPS_PER_EPOCH:,} epochs, seeds 0 and 2 (seed 1 collapsed)",
            ", ".join(f"{e['parzen_ll']:.1f} ± {e['parzen_se']:.1f}" for e in long)
            + f" (s.e.; mean {np.mean(p):.1f})",
            ", ".join(f"{e['fcd']:.2f}" for e in long),
            "one H100",
        ],
        [
            f"{short[0]['step'] // STEPS_PER_EPOCH} epochs, seeds 0–2",
            f"{np.mean(ps):.1f} ± {std(ps):.1f} (mean ± std)",
            f"{np.mean(fs):.2f} ± {std(fs):.2f} (mean ± std)",
            "one H200",
        ],
        [
            "real data (10,000 training images as the samples)",
            f"{real['parzen_ll']:.1f} ± {real['parzen_se']:.1f} (s.e.)",
            f"{real['fcd']:.2f}",
            "—",
        ],
    ]
    return tables.markdown(["run", "Parzen (nats)", "FCD", "machine"], rows)


def long_table() -> str:
    history = {r: evals(LONG, r) for r in range(3)}
    end = {r: eval_json(LONG, r) for r in range(3)}
    steps = sorted(s for s in history[0] if s < end[0]["step"])
    epochs = [s // STEPS_PER_EPOCH for s in steps] + [end[0]["step"] // STEPS_PER_EPOCH]

    def parzen(r):
        cells = [f"{history[r][s]['parzen_ll']:.1f}" for s in steps]
        return cells + [f"{end[r]['parzen_ll']:.1f} ± {end[r]['parzen_se']:.1f}"]

    fcd = [f"{history[0][s]['fcd']:.2f} / {history[2][s]['fcd']:.2f}" for s in steps]
    fcd.append(f"{end[0]['fcd']:.2f} / {end[2]['fcd']:.2f}")
    collapsed = parzen(1)
    collapsed[-1] = f"{end[1]['parzen_ll']:.1f} (collapsed)"
    rows = [
        ["Parzen, seed 0", *parzen(0)],
        ["Parzen, seed 2", *parzen(2)],
        ["FCD, seed 0 / seed 2", *fcd],
        ["Parzen, seed 1", *collapsed],
    ]
    return tables.markdown(["epoch", *(f"{e:,}" for e in epochs)], rows)


def long_end_table() -> str:
    end = [eval_json(LONG, r) for r in (0, 2)]
    real = end[0]["real_data"]
    keys = [
        ("classifier score", "classifier_score", 2),
        ("precision", "precision", 3),
        ("recall", "recall", 3),
        ("class KL to uniform", "class_kl", 3),
        ("Parzen σ", "parzen_sigma", 3),
    ]
    rows = [[name, *(f"{e[k]:.{d}f}" for e in end), f"{real[k]:.{d}f}"] for name, k, d in keys]
    return tables.markdown(["at the end", "seed 0", "seed 2", "real data"], rows)


def h200_table() -> str:
    e = [eval_json(f"{H200}/simultaneous", r) for r in range(3)]
    real = e[0]["real_data"]

    def row(name, key, d, spread=True):
        v = [x[key] for x in e]
        mean = f"{np.mean(v):.{d}f}" + (f" ± {std(v):.{d}f}" if spread else "")
        return [name, " / ".join(f"{x:.{d}f}" for x in v), mean, f"{real[key]:.{d}f}"]

    parzen = row("Parzen (nats)", "parzen_ll", 1)
    se = max(x["parzen_se"] for x in e)
    parzen[1] += (
        f" (± {se:.1f} s.e. each)" if all(round(x["parzen_se"], 1) == round(se, 1) for x in e) else ""
    )
    parzen[2] = f"**{parzen[2]}**"
    parzen[3] += f" ± {real['parzen_se']:.1f}"
    pr = ", ".join(f"{x['precision']:.3f}/{x['recall']:.3f}" for x in e)
    rows = [
        [*parzen, PAPER],
        [
            *row("Parzen σ", "parzen_sigma", 3, spread=False)[:2],
            "",
            f"{real['parzen_sigma']:.3f}",
            "not stated",
        ],
        [*row("FCD", "fcd", 2), "—"],
        [*row("classifier score", "classifier_score", 2), "—"],
        [
            "precision / recall",
            pr,
            f"{np.mean([x['precision'] for x in e]):.3f} / {np.mean([x['recall'] for x in e]):.3f}",
            f"{real['precision']:.3f} / {real['recall']:.3f}",
            "—",
        ],
        [*row("class KL to uniform", "class_kl", 3, spread=False), "—"],
    ]
    return tables.markdown(["metric", "seeds 0 / 1 / 2", "mean ± std", "real data", "paper"], rows)


def h200_curve_table() -> str:
    history = {r: evals(f"{H200}/simultaneous", r) for r in range(3)}
    steps = sorted(history[0])
    rows = [
        [
            "Parzen, seeds 0/1/2",
            *(" / ".join(f"{history[r][s]['parzen_ll']:.1f}" for r in range(3)) for s in steps),
        ],
        ["FCD, seeds 0/1/2", *(" / ".join(f"{history[r][s]['fcd']:.1f}" for r in range(3)) for s in steps)],
    ]
    return tables.markdown(["epoch", *(f"{s // STEPS_PER_EPOCH}" for s in steps)], rows)


def alternating_table() -> str:
    run = f"{H200}/alternating"
    e = [eval_json(run, r) for r in range(3)]
    d_fake = [last(run, r, "d_fake") for r in range(3)]
    rows = [
        ["Parzen (nats)", *(f"{x['parzen_ll']:.1f}" for x in e)],
        ["FCD", *(f"{x['fcd']:.1f}" for x in e)],
        ["classifier score", *(f"{x['classifier_score']:.2f}" for x in e)],
        ["D(G(z)) at the last log", *(f"{v:.3f}" for v in d_fake)],
    ]
    return tables.markdown(["", "seed 0", "seed 1", "seed 2"], rows)


def get_tables() -> dict:
    return {
        (DOC, "summary"): summary_table(),
        (DOC, "long"): long_table(),
        (DOC, "long_end"): long_end_table(),
        (DOC, "h200"): h200_table(),
        (DOC, "h200_curve"): h200_curve_table(),
        (DOC, "alternating"): alternating_table(),
    }


def main(argv):
    del argv
    tables.main(get_tables)


if __name__ == "__main__":
    app.run(main)
