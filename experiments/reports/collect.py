r"""Tabulates a sweep: a row per trial workdir under --root, written as results.csv, results.md, results.png.

A trial's metrics are the last value of each scalar in its metrics.jsonl (so eval metrics come from the
last eval row), overridden by its eval.json (launch.py --mode=evaluate) when present. Its overrides are
read back from its name (experiments/scripts/sweep.py names trials 'key=value,key=value'). The markdown sorts
trials by --sort_by, best first, and adds mean ± std over seeds for each setting of the other overrides.

  python experiments/reports/collect.py --root=/tmp/sweep_smoke --sort_by=d_loss
A gs:// root: copy it first (gcloud storage cp -r gs://BUCKET/seeds /tmp), then --root=/tmp/seeds.
"""

import csv
import json
import math
import os
import sys

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from gan_jax.metrics.evaluate import KEYS, TOY_KEYS  # noqa: E402

LOSSES = ("d_loss", "g_loss", "d_real", "d_fake")
LOWER_IS_BETTER = ("fcd", "per_class_fcd_mean", "class_kl", "reverse_kl", "parzen_se")
TRIAL_FILES = ("metrics.jsonl", "config.json", "log.txt")

# (checked in main, not required=True: a required flag would fail any other absl parse in the process)
_ROOT = flags.DEFINE_string("root", None, "The sweep's root: one subdirectory per trial (required).")
_SORT_BY = flags.DEFINE_string("sort_by", "parzen_ll", "Metric that orders the tables.")
_ORDER = flags.DEFINE_enum(
    "order", "auto", ["auto", "ascending", "descending"], "auto: ascending for fcd, *_kl, else descending."
)
_METRICS = flags.DEFINE_list(
    "metrics", None, "Metric columns of the markdown and plot (default: the eval metrics and losses present)."
)
_OVER = flags.DEFINE_string("over", "seed", "Override to average over in the summary table.")
_INVALID = flags.DEFINE_multi_string(
    "invalid",
    [],
    "A trial directory whose numbers are not valid (repeat the flag for several): its rows are listed "
    "apart, marked INVALID, and left out of the ranking, the summary and the figure.",
)
_INVALID_REASON = flags.DEFINE_string("invalid_reason", "", "Why the --invalid trials are invalid.")


class CollectError(ValueError):
    """Nothing to tabulate, or an unknown metric; the message is one line."""


def parse_name(name: str) -> dict:
    """'game=minimax,seed=0' -> {'game': 'minimax', 'seed': '0'}; a name without '=' has no overrides."""
    return dict(part.split("=", 1) for part in name.split(",") if "=" in part)


def is_scalar(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def read_metrics(workdir: str) -> dict:
    """The last value of each scalar of metrics.jsonl, then eval.json's scalars (but its step) on top."""
    metrics = {}
    path = os.path.join(workdir, "metrics.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    metrics |= {k: v for k, v in json.loads(line).items() if is_scalar(v)}
    path = os.path.join(workdir, "eval.json")
    if os.path.exists(path):
        with open(path) as f:
            metrics |= {k: v for k, v in json.load(f).items() if is_scalar(v) and k != "step"}
    return metrics


def collect(root: str) -> tuple[list[str], list[dict]]:
    """(override columns, rows): a row per trial directory, with 'trial', its overrides and metrics."""
    if root.startswith("gs://"):
        raise CollectError(f"copy {root} to a local directory first (gcloud storage cp -r {root} /tmp)")
    if not os.path.isdir(root):
        raise CollectError(f"no directory {root}")
    names = sorted(
        n for n in os.listdir(root) if any(os.path.exists(os.path.join(root, n, f)) for f in TRIAL_FILES)
    )
    if not names:
        raise CollectError(f"no trial directories in {root}")
    rows = [row for n in names for row in trial_rows(root, n)]
    columns = list(dict.fromkeys(k for row in rows for k in row["overrides"]))
    return columns, [{"trial": row["trial"], **row["overrides"], **row["metrics"]} for row in rows]


def trial_rows(root: str, name: str) -> list[dict]:
    """One row for a trial, or one per replica for a ``num_replicas`` > 1 trial (workdir/replica_<r>/,
    seeds config.seed + r): its overrides then carry ``seed`` = the replica's seed and the replica's
    values of ``config.replica_hparams`` (e.g. ``d.learning_rate``)."""
    workdir = os.path.join(root, name)
    replicas = sorted(
        (d for d in os.listdir(workdir) if d.startswith("replica_") and d[8:].isdigit()),
        key=lambda d: int(d[8:]),
    )
    if not replicas:
        return [{"trial": name, "overrides": parse_name(name), "metrics": read_metrics(workdir)}]
    with open(os.path.join(workdir, "config.json")) as f:
        config = json.load(f)
    base, grid = int(config.get("seed", 0)), json.loads(config.get("replica_hparams") or "{}")

    def overrides(r: int) -> dict:
        return parse_name(name) | {"seed": str(base + r)} | {k: str(v[r]) for k, v in grid.items()}

    return [
        {
            "trial": f"{name}/{d}",
            "overrides": overrides(int(d[8:])),
            "metrics": read_metrics(os.path.join(workdir, d)),
        }
        for d in replicas
    ]


def descending(metric: str, order: str) -> bool:
    return order == "descending" or (order == "auto" and metric not in LOWER_IS_BETTER)


def sort_key(value, desc: bool):
    """Best first; a missing or NaN value last."""
    if not is_scalar(value) or math.isnan(value):
        return (1, 0.0)
    return (0, -value if desc else value)


def default_metrics(rows: list[dict]) -> list[str]:
    present = {k for r in rows for k in r}
    return [k for k in KEYS + TOY_KEYS + LOSSES if k in present and k not in ("parzen_se", "parzen_sigma")]


def fmt(value) -> str:
    return f"{value:.4g}" if is_scalar(value) else str(value if value is not None else "")


def markdown(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows])


def _finite(rows: list[dict], metric: str) -> np.ndarray:
    return np.array([r[metric] for r in rows if is_scalar(r.get(metric)) and not math.isnan(r[metric])])


def _mean(rows: list[dict], metric: str) -> float:
    v = _finite(rows, metric)
    return float(v.mean()) if len(v) else float("nan")


def summarize(columns: list[str], rows: list[dict], metrics: list[str], over: str, desc: bool):
    """(header, rows): mean ± std (ddof 1) of each metric over ``over`` per setting of the other
    override columns, best mean of metrics[0] first."""
    keys = [c for c in columns if c != over]
    groups = {}
    for row in rows:
        groups.setdefault(tuple(row.get(k, "") for k in keys), []).append(row)
    groups = sorted(groups.items(), key=lambda g: sort_key(_mean(g[1], metrics[0]), desc))
    table = []
    for setting, members in groups:
        cells = []
        for m in metrics:
            v = _finite(members, m)
            std = f" ± {v.std(ddof=1):.3g}" if len(v) > 1 else ""
            cells.append(f"{v.mean():.4g}{std}" if len(v) else "")
        table.append([*setting, len(members), *cells])
    return [*keys, "n", *[f"{m} (mean ± std)" for m in metrics]], table


def group_label(row: dict, columns: list[str], over: str) -> str:
    return "\n".join(f"{c}={row.get(c, '')}" for c in columns if c != over) or "all"


def plot(columns: list[str], rows: list[dict], metrics: list[str], over: str, path: str) -> None:
    """A panel per metric (at most 4), a column per setting of the overrides but ``over``: each trial a
    dot, the mean a red bar; the groups in the order of the table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(group_label(r, columns, over) for r in rows))
    shown = metrics[:4]
    size = (max(5, 1.2 * len(labels) + 1.5), 2.2 * len(shown) + 0.4 * labels[0].count("\n") + 1)
    fig, axes = plt.subplots(len(shown), 1, figsize=size, sharex=True, squeeze=False)
    for ax, metric in zip(axes[:, 0], shown, strict=True):
        for x, label in enumerate(labels):
            group = [r for r in rows if group_label(r, columns, over) == label]
            values = [r[metric] for r in group if is_scalar(r.get(metric))]
            ax.plot([x] * len(values), values, "o", alpha=0.6, color="C0")
            if values:
                ax.plot([x - 0.25, x + 0.25], [np.nanmean(values)] * 2, "-", color="C3")
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.set_ylabel(metric)
    axes[-1, 0].set_xticks(range(len(labels)), labels, fontsize=8)
    axes[-1, 0].set_xlim(-0.5, len(labels) - 0.5)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_results(
    root: str,
    sort_by: str,
    order: str,
    metrics: list[str] | None,
    over: str,
    invalid: list[str] = (),
    invalid_reason: str = "",
) -> str:
    """Writes results.csv, results.md and results.png under root; returns the markdown. The rows of the
    ``invalid`` trial directories are listed apart (marked INVALID, with ``invalid_reason``) and left out
    of the ranking, the summary and the figure; results.csv keeps them, with ``invalid`` = True."""
    columns, rows = collect(root)
    if unknown := [t for t in invalid if not any(r["trial"].split("/")[0] == t for r in rows)]:
        raise CollectError(f"--invalid names no trial of {root}: {', '.join(unknown)}")
    for r in rows:
        r["invalid"] = r["trial"].split("/")[0] in invalid
    present = sorted({k for r in rows for k in r if is_scalar(r[k])})
    if sort_by not in present:
        raise CollectError(f"no trial has metric {sort_by!r}; --sort_by one of: {', '.join(present)}")
    metrics = metrics or default_metrics(rows)
    if unknown := [m for m in metrics if m not in present]:
        raise CollectError(f"no trial has metric(s) {', '.join(unknown)}; have: {', '.join(present)}")
    metrics = [sort_by] + [m for m in metrics if m != sort_by]
    desc = descending(sort_by, order)
    rows.sort(key=lambda r: sort_key(r.get(sort_by), desc))

    with open(os.path.join(root, "results.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, ["trial", *columns, *present, *(["invalid"] if invalid else [])])
        writer.writeheader()
        writer.writerows([r if invalid else {k: v for k, v in r.items() if k != "invalid"} for r in rows])
    bad = [r for r in rows if r["invalid"]]
    rows = [r for r in rows if not r["invalid"]]

    best, ids = "highest" if desc else "lowest", columns or ["trial"]
    text = [
        f"# Sweep results: {root}",
        "",
        f"{len(rows)} trials, {best} {sort_by} first (last value in metrics.jsonl; eval.json when present)"
        + (f"; {len(bad)} invalid rows listed apart below." if bad else "."),
        "",
        markdown([*ids, *metrics], [[r.get(k) for k in ids + metrics] for r in rows]),
    ]
    if over in columns:
        text += [
            "",
            f"## Mean ± std over {over}",
            "",
            markdown(*summarize(columns, rows, metrics, over, desc)),
        ]
    if bad:
        text += [
            "",
            "## INVALID: left out of the tables above and the figure",
            "",
            *([invalid_reason, ""] if invalid_reason else []),
            markdown([*ids, *metrics], [[r.get(k) for k in ids + metrics] for r in bad]),
        ]
    text = "\n".join(text) + "\n"
    with open(os.path.join(root, "results.md"), "w") as f:
        f.write(text)
    plot(columns, rows, metrics, over, os.path.join(root, "results.png"))
    return text


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        if not _ROOT.value:
            raise CollectError("--root is required: the sweep's root directory")
        text = write_results(
            _ROOT.value,
            _SORT_BY.value,
            _ORDER.value,
            _METRICS.value,
            _OVER.value,
            _INVALID.value,
            _INVALID_REASON.value,
        )
    except CollectError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    print(text)
    print(f"wrote {', '.join(os.path.join(_ROOT.value, f'results.{x}') for x in ('csv', 'md', 'png'))}")


if __name__ == "__main__":
    app.run(main)
