r"""Parzen log-likelihood and FCD over training for several runs (e.g. the replicas of one launch),
beside the paper's 225 and the real-data ceiling, from the runs' metrics.jsonl and eval.json.

Run (the figure of REPRODUCTION.md: the 500-epoch H200 runs and the 1,420-epoch H100 run):
  python experiments/reports/reproduction_curves.py \
      --runs=experiments/results/paper_mnist_h200,experiments/results/paper_mnist_h100_long \
      --out=experiments/reports/figures/reproduction_parzen_fcd.png
A run folder holds replica_<r>/ (one launch) or <scheme>/replica_<r>/ (several). A replica's curve is
its evaluation rows, then its eval.json (launch.py --mode=evaluate) when that is at a later step.
"""

import glob
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from absl import app, flags  # noqa: E402

_RUNS = flags.DEFINE_list(
    "runs",
    ["experiments/results/paper_mnist_h200", "experiments/results/paper_mnist_h100_long"],
    "Run folders: <folder>/replica_<r>/ or <folder>/<scheme>/replica_<r>/.",
)
_OUT = flags.DEFINE_string("out", "experiments/reports/figures/reproduction_parzen_fcd.png", "The PNG.")
_STEPS_PER_EPOCH = flags.DEFINE_integer(
    "steps_per_epoch", 500, "Simultaneous steps (= minibatches) an epoch."
)
PAPER_PARZEN = 225.0


def final_eval(run_dir: str) -> dict | None:
    """The run's eval.json (launch.py --mode=evaluate), None without one."""
    path = os.path.join(run_dir, "eval.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def eval_rows(run_dir: str, final: dict | None) -> list[dict]:
    """The evaluation rows (those with parzen_ll) of a run's metrics.jsonl, then ``final`` (its
    eval.json) when that evaluated a later step."""
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    rows = [r for r in rows if r.get("parzen_ll") is not None]
    if final and final.get("step") is not None and (not rows or final["step"] > rows[-1]["step"]):
        rows.append(final)
    return rows


def replica_dirs(folder: str) -> list[tuple[str, str]]:
    """(label, replica dir) of every replica under a run folder."""
    name = os.path.basename(os.path.normpath(folder))
    out = [(name, d) for d in sorted(glob.glob(os.path.join(folder, "replica_*")))]
    for d in sorted(glob.glob(os.path.join(folder, "*", "replica_*"))):
        out.append((f"{name} {d.split(os.sep)[-2]}", d))
    return out


def main(argv):
    del argv
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ceiling = None
    runs = [run for folder in _RUNS.value for run in replica_dirs(folder)]
    for run_label, run_dir in runs:
        replica = os.path.basename(run_dir)
        final = final_eval(run_dir)
        rows = eval_rows(run_dir, final)
        epochs = [r["step"] / _STEPS_PER_EPOCH.value for r in rows]
        style = "--s" if "alternating" in run_label else "-o"
        label = f"{run_label} seed {replica.split('_')[1]}"
        axes[0].plot(epochs, [r["parzen_ll"] for r in rows], style, label=label, markersize=4)
        axes[1].plot(epochs, [r["fcd"] for r in rows], style, label=label, markersize=4)
        if ceiling is None and final:
            ceiling = (final.get("real_data") or {}).get("parzen_ll")
    axes[0].axhline(PAPER_PARZEN, color="k", ls=":", label="paper (Table 1): 225")
    if ceiling is not None:
        axes[0].axhline(ceiling, color="g", ls=":", label=f"real data: {ceiling:.1f}")
    axes[0].set(xlabel="epoch", ylabel="Parzen log-likelihood (nats)", ylim=(100, 260))
    axes[1].set(xlabel="epoch", ylabel="FCD (lower is better)", yscale="log")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(_OUT.value, dpi=110)
    print(f"wrote {_OUT.value}")


if __name__ == "__main__":
    app.run(main)
