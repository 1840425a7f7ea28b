r"""The mode-collapse tables and figures (experiments/reports/MODES.md) from the runs of the sweeps
experiments/sweeps/pacgan_toys.py and experiments/sweeps/stacked_mnist.py.

Each trial directory under a root is one row: its config.json names the row (dataset, game, PacGAN
packing, unrolling, penalties), its replicas (seeds) give mean +- standard error of the last eval row of
each replica's metrics.jsonl, and the row states its budget (the step of that eval row). The published
rows stand beside (PACGAN_TABLE1, STACKED_PUBLISHED). Figures: the eval metrics against steps
(mean over seeds, one line per row), each row's samples at its last eval step (seed 0: the toy
scatter plots training drew; the StackedMNIST grids from the samples.npy of `launch.py --mode=sample`)
and, where `launch.py --mode=evaluate` wrote an eval.json with a mode histogram, the sorted mode
counts.

  python experiments/reports/modes_report.py --toys=/tmp/pacgan_toys --stacked=/tmp/stacked_mnist \
      --toys_long=/tmp/pacgan_long --stacked_long=/tmp/stacked_long --out=experiments/results/modes
"""

import json
import os
import shutil
import sys

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from experiments.configs import pacgan_ring  # noqa: E402
from gan_jax.game import replicas  # noqa: E402
from gan_jax.training import images

_TOYS = flags.DEFINE_string("toys", None, "Root of the pacgan_toys sweep's trials.")
_TOYS_LONG = flags.DEFINE_string(
    "toys_long", None, "Root of longer toy runs (the convergence curve): toys_long.md and its figures."
)
_STACKED = flags.DEFINE_string("stacked", None, "Root of the stacked_mnist sweep's trials.")
_STACKED_LONG = flags.DEFINE_string(
    "stacked_long", None, "Root of longer StackedMNIST runs: stacked_mnist_long.md and its figures."
)
_MAX_STEP = flags.DEFINE_integer(
    "max_step",
    None,
    "Only eval rows up to this step (rows of unequal budgets compared at one); "
    "the files are then named <name>_to_<max_step>.*",
)
_OUT = flags.DEFINE_string("out", "experiments/results/modes", "Directory for the tables and figures.")
_WRITE_DOCS = flags.DEFINE_bool(
    "write_docs",
    False,
    "Only remake the tables (MODES.md's and experiments/results/modes/*.md) from the committed runs "
    "under experiments/results/modes/runs; no figures.",
)

TOY_METRICS = ("modes_covered", "high_quality", "reverse_kl")
STACKED_METRICS = ("modes_covered", "reverse_kl")
# Published rows, (mean, standard error) or a single value; None where the paper gives none.
# PacGAN Table 1 (Lin et al. 2018; 10 trials, +- s.e.), 400 epochs of 100,000 points at batch 100.
PACGAN_TABLE1 = {
    "ring": {
        "GAN": ((6.3, 0.5), (98.2, 0.2), (0.45, 0.09)),
        "PacGAN2": ((7.9, 0.1), (95.6, 2.0), (0.07, 0.03)),
        "PacGAN3": ((7.8, 0.1), (97.7, 0.3), (0.10, 0.02)),
        "PacGAN4": ((7.8, 0.1), (95.9, 1.4), (0.07, 0.02)),
    },
    "grid": {
        "GAN": ((17.3, 0.8), (94.8, 0.7), (0.70, 0.07)),
        "PacGAN2": ((23.8, 0.7), (91.3, 0.8), (0.13, 0.04)),
        "PacGAN3": ((24.6, 0.4), (94.2, 0.4), (0.06, 0.02)),
        "PacGAN4": ((24.8, 0.2), (93.6, 0.6), (0.04, 0.01)),
    },
}
# StackedMNIST (modes of 1,000, KL(q || uniform)); 26,000 samples in each paper.
STACKED_PUBLISHED = (
    ("VEEGAN Table 2: DCGAN", (99, None), (3.4, None)),
    ("VEEGAN Table 2: Unrolled GAN", (48.7, None), (4.32, None)),
    ("VEEGAN Table 2: VEEGAN", (150, None), (2.95, None)),
    ("PacGAN Table 2: DCGAN (10 trials)", (78.9, 6.5), (4.50, 0.127)),
    ("PacGAN Table 2: PacDCGAN2 (10 trials)", (1000, None), (0.06, 0.003)),
    ("R3GAN ablation: GAN + R1 + R2", (693, None), (0.927, None)),
    ("R3GAN ablation: RpGAN + R1 + R2", (1000, None), (0.078, None)),
)


class ReportError(ValueError):
    """A root without the runs the report needs; the message is one line."""


def mean_se(values) -> tuple[float | None, float | None]:
    """Mean and standard error (sample std / sqrt(n); 0 for one value) in float64; (None, None) when a
    value is None (a seed's reverse KL is undefined when it drew no high-quality sample)."""
    if any(x is None for x in values):
        return None, None
    v = np.asarray(values, np.float64)
    se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0
    return float(v.mean()), se


def fmt(pair, digits: int = 2) -> str:
    mean, se = pair
    if mean is None:
        return "-"
    return f"{mean:.{digits}f}" + (f" ± {se:.{digits}f}" if se else "")


def row_label(config: dict) -> str:
    """The row's name from its config: the game, then PacGAN packing, unrolling, D's minibatch-std
    feature and the R1/R2 penalties."""
    parts = ["RpGAN" if config["game"] == "relativistic_pairing" else "GAN"]
    if config["game"] not in ("nonsaturating", "relativistic_pairing"):
        parts[0] = config["game"]
    if config.get("pack", 1) > 1:
        parts = [f"PacGAN{config['pack']}"] if parts == ["GAN"] else parts + [f"pack {config['pack']}"]
    if config.get("unroll_steps", 0):
        parts.append(f"unrolled {config['unroll_steps']}")
    if config["model"].get("d_minibatch_std"):
        parts.append("minibatch std")
    reg = config["reg"]
    for name in ("r1", "r2"):
        if reg[f"{name}_gamma"]:
            parts.append(f"{name.upper()} γ={reg[f'{name}_gamma']:g}")
    if config["model"].get("d_norm") == "none" and not (reg["r1_gamma"] or reg["r2_gamma"]):
        parts.append("D unnormalised")
    return " + ".join(parts) + toy_protocol_note(config)


def toy_protocol_note(config: dict) -> str:
    """For a 2-D toy row, how its training differs from PacGAN's code as experiments/configs/pacgan_ring.py
    sets it (its update scheme, weight std and noise), e.g. ' (alternating, LeCun init)'; '' when it does
    not (or for images)."""
    if config["model"]["name"] != "mlp":
        return ""
    pacgan = pacgan_ring.get_config()
    notes = [config["update_scheme"]] if config["update_scheme"] != pacgan.update_scheme else []
    std = config["model"].get("init_std", 0.0)  # runs from before the field: flax's LeCun normal
    if std != pacgan.model.init_std:
        notes.append(f"init N(0, {std:g}²)" if std else "LeCun init")
    noise = config["model"].get("noise", "uniform")  # runs from before the field: U(-sqrt 3, sqrt 3)
    if noise != pacgan.model.noise:
        notes.append(f"{noise} z")
    return f" ({', '.join(notes)})" if notes else ""


def eval_history(replica_dir: str, metric: str, max_step: int | None = None) -> list[dict]:
    """The eval rows (those with ``metric``) of a replica's metrics.jsonl up to ``max_step``, in step
    order."""
    path = os.path.join(replica_dir, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    rows = (r for r in rows if metric in r and (max_step is None or r["step"] <= max_step))
    return sorted(rows, key=lambda r: r["step"])


def load_trial(trial: str, metrics: tuple[str, ...], max_step: int | None = None) -> dict:
    """A trial's config, label and per-seed eval histories (seeds with no eval row are dropped)."""
    with open(os.path.join(trial, "config.json")) as f:
        config = json.load(f)
    dirs = replicas.dirs(trial, int(config["num_replicas"]))  # seed r's outputs
    histories = [h for h in (eval_history(d, metrics[0], max_step) for d in dirs) if h]
    return {"path": trial, "dirs": dirs, "config": config, "label": row_label(config), "histories": histories}


def load_root(root: str, metrics: tuple[str, ...], max_step: int | None = None) -> list[dict]:
    if not os.path.isdir(root):
        raise ReportError(f"no directory {root}")
    paths = sorted(os.path.join(root, n) for n in os.listdir(root))
    exists = [p for p in paths if os.path.exists(os.path.join(p, "config.json"))]
    trials = [load_trial(p, metrics, max_step) for p in exists]
    trials = [t for t in trials if t["histories"]]
    if not trials:
        raise ReportError(f"no trial under {root} has an eval row yet")
    return trials


def final_summary(trial: dict, metrics: tuple[str, ...]) -> dict:
    """Each metric's mean +- s.e. over the seeds' last eval rows, the seeds and the budget (the
    smallest last step: a row whose seeds stopped at different steps says so by its smallest)."""
    last = [h[-1] for h in trial["histories"]]
    summary = {m: mean_se([r[m] for r in last]) for m in metrics}
    steps = [r["step"] for r in last]
    return summary | {"seeds": len(last), "step": min(steps), "uneven": len(set(steps)) > 1}


def dataset_name(config: dict) -> str:
    data = config["data"]
    if data["name"] == "ring" and (data["radius"], data["std"]) != (1.0, 0.01):
        return f"ring (radius {data['radius']:g}, std {data['std']:g})"
    return data["name"]


def toy_table(trials: list[dict]) -> str:
    """Markdown: a block per dataset, our rows (mean ± s.e. over seeds) then PacGAN's Table 1 rows."""
    lines, undefined_kl = [], False
    for name in dict.fromkeys(dataset_name(t["config"]) for t in trials):
        rows = [t for t in trials if dataset_name(t["config"]) == name]
        num_modes = rows[0]["histories"][0][-1]["num_modes"]
        lines += [f"\n### {name} ({num_modes:g} modes)\n", TOY_HEADER, "|---|---|---|---|---|---|"]
        for t in rows:
            s = final_summary(t, TOY_METRICS)
            undefined_kl |= s["reverse_kl"][0] is None
            steps = f"{s['step']:,}" + (" (uneven)" if s["uneven"] else "")
            lines.append(
                f"| gan_jax {t['label']} | {s['seeds']} | {steps} | {fmt(s['modes_covered'])} | "
                f"{fmt(s['high_quality'], 1)} | {fmt(s['reverse_kl'])} |"
            )
        for label, (modes, hq, kl) in PACGAN_TABLE1.get(name, {}).items():
            lines.append(
                f"| PacGAN Table 1: {label} | 10 | 400,000 | {fmt(modes, 1)} | {fmt(hq, 1)} | {fmt(kl)} |"
            )
    if undefined_kl:
        lines.append("\nReverse KL '-': a seed drew no high-quality sample, so its mode histogram is empty.")
    return "\n".join(lines) + "\n"


TOY_HEADER = "| row | seeds | steps | modes | high quality % | reverse KL |"


def stacked_table(trials: list[dict]) -> str:
    lines = ["| row | seeds | steps | modes (of 1,000) | reverse KL |", "|---|---|---|---|---|"]
    for t in trials:
        s = final_summary(t, STACKED_METRICS)
        lines.append(
            f"| gan_jax {t['label']} | {s['seeds']} | {s['step']:,} | {fmt(s['modes_covered'], 1)} | "
            f"{fmt(s['reverse_kl'], 3)} |"
        )
    for label, modes, kl in STACKED_PUBLISHED:
        lines.append(f"| {label} | | | {fmt(modes, 1)} | {fmt(kl, 3)} |")
    return "\n".join(lines) + "\n"


def curve(trial: dict, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, mean over seeds) at the steps every seed has an eval row with a defined ``metric`` for."""
    by_step = [{r["step"]: r[metric] for r in h if r[metric] is not None} for h in trial["histories"]]
    steps = sorted(set.intersection(*(set(b) for b in by_step)))
    return np.array(steps), np.array([np.mean([b[s] for b in by_step]) for s in steps])


def plot_curves(trials: list[dict], metrics: tuple[str, ...], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys(dataset_name(t["config"]) for t in trials))
    fig, axes = plt.subplots(
        len(groups), len(metrics), figsize=(4.2 * len(metrics), 3.2 * len(groups)), squeeze=False
    )
    for row, group in zip(axes, groups, strict=True):
        for ax, metric in zip(row, metrics, strict=True):
            for t in (t for t in trials if dataset_name(t["config"]) == group):
                ax.plot(*curve(t, metric), marker=".", label=t["label"])
            ax.set(title=f"{group}: {metric}", xlabel="step")
            ax.locator_params(axis="x", nbins=5)
        row[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_histograms(trials: list[dict], path: str) -> bool:
    """The sorted mode counts of each trial's seed-0 eval.json (launch.py --mode=evaluate); False if none."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = []
    for t in trials:
        report = os.path.join(t["dirs"][0], "eval.json")
        if os.path.exists(report):
            with open(report) as f:
                found.append((t["label"], np.sort(json.load(f)["mode_histogram"])[::-1]))
    if not found:
        return False
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, counts in found:
        ax.plot(np.arange(1, len(counts) + 1), counts, label=label)
    ax.axhline(counts.sum() / len(counts), color="k", ls=":", label="uniform")
    ax.set(xlabel="mode rank", ylabel="samples of 26,000", yscale="symlog", title="StackedMNIST mode counts")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def copy_final_samples(trials: list[dict], out: str, prefix: str) -> list[str]:
    """Each trial's sample figure of seed 0 at its last eval step (samples/step_<step>.png, if training
    drew one there) -> out/<prefix>_<trial>.png; the paths written."""
    written = []
    for t in trials:
        step = t["histories"][0][-1]["step"]
        png = os.path.join(t["dirs"][0], "samples", f"step_{step:07d}.png")
        if os.path.exists(png):
            written.append(os.path.join(out, f"{prefix}_{trial_name(t)}.png"))
            shutil.copyfile(png, written[-1])
    return written


def trial_name(trial: dict) -> str:
    return os.path.basename(trial["path"]).replace("=", "-").replace(",", "_")


def grids_from_samples(
    trials: list[dict], out: str, prefix: str, side: int = 28, channels: int = 3
) -> list[str]:
    """A 10x10 grid of the first 100 images of each trial's seed-0 samples.npy (``launch.py
    --mode=sample``) -> out/<prefix>_<trial>.png; the paths written."""
    written = []
    for t in trials:
        path = os.path.join(t["dirs"][0], "samples.npy")
        if os.path.exists(path):
            written.append(os.path.join(out, f"{prefix}_{trial_name(t)}.png"))
            tiles = images.grid(np.load(path)[:100], 10, 10, side, channels=channels)
            images.save_png(written[-1], tiles)
    return written


def report(root: str, metrics: tuple[str, ...], out: str, name: str, max_step: int | None = None) -> None:
    trials = load_root(root, metrics, max_step)
    name = name if max_step is None else f"{name}_to_{max_step}"
    table = toy_table(trials) if metrics == TOY_METRICS else stacked_table(trials)
    with open(os.path.join(out, f"{name}.md"), "w") as f:
        f.write(table)
    plot_curves(trials, metrics, os.path.join(out, f"{name}_curves.png"))
    copy_final_samples(trials, out, f"{name}_samples")
    if metrics == STACKED_METRICS and max_step is None:  # (both read the latest checkpoint's samples)
        plot_histograms(trials, os.path.join(out, f"{name}_modes.png"))
        grids_from_samples(trials, out, f"{name}_grid")
    print(table)


from experiments.reports import tables  # noqa: E402 (MODES.md's generated tables)

DOC = "experiments/reports/MODES.md"
RUNS = "experiments/results/modes/runs"
RING_LONG = "pacgan_long/config=pacgan_ring,num_steps=40000"
GRID_LONG = "pacgan_long/config=pacgan_grid,num_steps=40000"
GRID_PACK2_LONG = "pacgan_long/config=pacgan_grid,pack=2,num_steps=40000"
STACKED_LONG = "stacked_mnist_long"
TOY_PROTOCOL = 400_000  # PacGAN: 400 epochs of 100,000 points at batch 100
STACKED_PROTOCOL = 100_000  # D steps: 50 epochs of 128,000 at batch 64
# MODES.md's table -> (its runs under RUNS, metrics, the table file the report writes beside them)
DOC_TABLES = {
    "toys": ("pacgan_toys", TOY_METRICS, "experiments/results/modes/toys.md"),
    "toys_long": ("pacgan_long", TOY_METRICS, "experiments/results/modes/toys_long.md"),
    "stacked_mnist": ("stacked_mnist", STACKED_METRICS, "experiments/results/modes/stacked_mnist.md"),
    "stacked_mnist_long": (
        "stacked_mnist_long",
        STACKED_METRICS,
        "experiments/results/modes/stacked_mnist_long.md",
    ),
}


def run(sub: str, metrics: tuple[str, ...] = TOY_METRICS) -> dict:
    """A committed trial under RUNS (e.g. 'pacgan_toys/config=pacgan_ring,pack=1')."""
    return load_trial(os.path.join(tables.ROOT, RUNS, sub), metrics)


def swing(trial: dict, metric: str = "high_quality", goal: float = 90.0) -> dict:
    """How the seeds' mean of ``metric`` moves: the first eval step where it reaches ``goal``, its
    range from there on and its mean over the last seven evals."""
    steps, mean = curve(trial, metric)
    passed = int(steps[np.argmax(mean >= goal)]) if (mean >= goal).any() else None
    after = mean[steps >= passed] if passed is not None else mean
    return {
        "passed": passed,
        "min": float(after.min()),
        "max": float(after.max()),
        "last7": float(mean[-7:].mean()),
    }


def full_modes_from(trial: dict, num_modes: int) -> int:
    """The first eval step from which every seed covers all ``num_modes`` modes at every eval."""
    steps = sorted({r["step"] for h in trial["histories"] for r in h})
    return min(
        s
        for s in steps
        if all(r["modes_covered"] == num_modes for h in trial["histories"] for r in h if r["step"] >= s)
    )


def share(steps: int, protocol: int) -> str:
    return f"{100 * steps / protocol:.0f} %"


def measured_table() -> str:
    """MODES.md's summary: the best rows of each benchmark at each budget, against the goal."""
    ring, grid = run(RING_LONG), run(GRID_LONG)
    pac_grid = run(GRID_PACK2_LONG)
    s_ring, s_grid, s_pac = (final_summary(t, TOY_METRICS) for t in (ring, grid, pac_grid))
    last = [h[-1] for h in ring["histories"]]
    sw = swing(ring)
    every_eval = all(
        r["high_quality"] >= 90 for h in ring["histories"] for r in h if r["step"] >= sw["passed"]
    )
    ring_met = all(r["modes_covered"] == 8 and r["high_quality"] >= 90 for r in last)
    short = {n: run(f"pacgan_toys/config=pacgan_ring,pack={n}") for n in (1, 2)}
    toys = {n: final_summary(t, TOY_METRICS) for n, t in short.items()}
    stacked = {
        t["label"]: t["histories"][0][-1]
        for t in load_root(os.path.join(tables.ROOT, RUNS, STACKED_LONG), STACKED_METRICS)
    }
    rp, gan = stacked["RpGAN + R1 γ=1 + R2 γ=1"], stacked["GAN"]

    def toy(summary, label=""):
        return (
            f"{label}{fmt(summary['modes_covered'], 1)} modes, "
            f"{fmt(summary['high_quality'], 1)} % high quality, KL {fmt(summary['reverse_kl'])}"
        )

    def budget(summary, protocol, trial):
        z = "z ~ N(0, I)" if trial["config"]["model"].get("noise") == "normal" else "uniform z"
        steps = f"{summary['step']:,} steps ({share(summary['step'], protocol)})"
        return f"{steps}, {summary['seeds']} seeds, {z}"

    seeds_hq = " and ".join(f"{r['high_quality']:.1f}" for r in last)
    ring_goal = "**met by both seeds at the last eval**" if ring_met else "not met at the last eval"
    ring_goal += "" if every_eval else ", not at every eval (Reading)"
    grid_met = all(
        r["modes_covered"] == 25 and r["high_quality"] >= 90
        for t in (grid, pac_grid)
        for h in t["histories"]
        for r in h[-1:]
    )
    rows = [
        [
            "ring",
            budget(s_ring, TOY_PROTOCOL, ring),
            f"GAN: 8/8 modes from {full_modes_from(ring, 8):,} steps, "
            f"{fmt(s_ring['high_quality'], 1)} % high quality at the last eval (seeds {seeds_hq} %; the "
            f"{s_ring['seeds']}-seed mean swings {sw['min']:.0f}–{sw['max']:.0f} % from {sw['passed']:,} "
            f"steps on, {sw['last7']:.1f} % over the last seven evals), KL {fmt(s_ring['reverse_kl'])}",
            f"8/8, ≥ 90 % high quality, every seed: {ring_goal}",
        ],
        [
            "ring",
            budget(toys[1], TOY_PROTOCOL, short[1]),
            toy(toys[1], "GAN ") + "; " + toy(toys[2], "PacGAN2 "),
            "not yet",
        ],
        [
            "grid",
            budget(s_grid, TOY_PROTOCOL, grid),
            toy(s_grid, "GAN: ") + "; " + toy(s_pac, "PacGAN2: "),
            "25/25, ≥ 90 %: " + ("met" if grid_met else "not met"),
        ],
        [
            "StackedMNIST",
            f"{rp['step']:,} steps ({share(rp['step'], STACKED_PROTOCOL)}), 1 seed",
            f"RpGAN + R1 + R2: {rp['modes_covered']:,.0f} modes, KL {rp['reverse_kl']:.3f}; "
            f"GAN: {gan['modes_covered']:,.0f} modes, KL {gan['reverse_kl']:.3f}",
            "1,000 modes, KL ≤ 0.1: "
            + ("met" if rp["modes_covered"] == 1000 and rp["reverse_kl"] <= 0.1 else "not met")
            + " by RpGAN + R1 + R2 on its one seed; "
            + ("met" if gan["modes_covered"] == 1000 and gan["reverse_kl"] <= 0.1 else "not")
            + f" by the GAN row ({gan['reverse_kl']:.3f})",
        ],
    ]
    return tables.markdown(["benchmark", "budget here (share of the protocol's)", "best rows", "goal"], rows)


def median_speed(sub: str, metric: str) -> float:
    """The median logged steps_per_sec of a committed run's seed 0."""
    with open(os.path.join(run(sub, (metric,))["dirs"][0], "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return float(np.median([r["steps_per_sec"] for r in rows if "steps_per_sec" in r]))


def budgets_table() -> str:
    toy = median_speed("pacgan_toys/config=pacgan_ring,pack=1", "high_quality")
    stacked = median_speed("stacked_mnist/game=nonsaturating", "modes_covered")
    rows = [
        [
            "ring, grid (PacGAN's networks)",
            f"{TOY_PROTOCOL:,} steps (400 epochs of 100,000, batch 100), 10 trials",
            "4,000 steps, 5 seeds; 40,000 steps, 2 seeds",
            f"{share(4000, TOY_PROTOCOL)}; {share(40000, TOY_PROTOCOL)}",
            f"{toy:.1f} steps/s for 5 seeds side by side (the ring's GAN row at 4,000 steps)",
            f"{TOY_PROTOCOL / toy / 3600:.1f} hours a row",
        ],
        [
            "StackedMNIST (DCGAN-28)",
            f"{STACKED_PROTOCOL:,} D steps (50 epochs of 128,000, batch 64)",
            "3,000 steps; 15,000 steps; 1 seed",
            f"{share(3000, STACKED_PROTOCOL)}; {share(15000, STACKED_PROTOCOL)}",
            f"{stacked:.1f} steps/s for one seed (the GAN row at 3,000 steps)",
            f"{STACKED_PROTOCOL / stacked / 3600:.1f} hours a row",
        ],
    ]
    header = [
        "benchmark",
        "protocol budget",
        "run here",
        "share",
        "speed logged by the runs (median; cores shared)",
        "full budget at that speed",
    ]
    return tables.markdown(header, rows)


UNIFORM_TOYS = "uniform_z/pacgan_toys"  # the same trials with z ~ U(-sqrt 3, sqrt 3)^2, run earlier


def differs_beyond_noise(a: dict, b: dict) -> bool:
    """Whether two toy runs' configs differ in anything that shapes training but z's distribution (a
    field one run's config lacks, from before it existed, is taken at the other's value)."""
    keys = ("data", "game", "update_scheme", "d_steps", "pack", "unroll_steps", "batch_size", "optim")
    keys += ("seed", "eval_samples")
    if any(a.get(k) != b.get(k) for k in keys):
        return True
    model_a, model_b = a["model"], b["model"]
    return any(model_b.get(k, v) != v for k, v in model_a.items() if k != "noise")


def noise_table(normal_sub: str = "pacgan_toys", uniform_sub: str = UNIFORM_TOYS) -> str:
    """The noise on PacGAN's nets: each toy trial with PacGAN's z ~ N(0, I) (pacgan_toys) beside the same
    trial drawn with U(-sqrt 3, sqrt 3)^2 (UNIFORM_TOYS), every other setting equal (checked); the two
    roots are under RUNS."""
    normal = {
        os.path.basename(t["path"]): t
        for t in load_root(os.path.join(tables.ROOT, RUNS, normal_sub), TOY_METRICS)
    }
    uniform = {
        os.path.basename(t["path"]): t
        for t in load_root(os.path.join(tables.ROOT, RUNS, uniform_sub), TOY_METRICS)
    }
    rows = []
    for name in sorted(normal.keys() & uniform.keys()):
        n, u = normal[name], uniform[name]
        noises = n["config"]["model"]["noise"], u["config"]["model"].get("noise", "uniform")
        if noises != ("normal", "uniform"):
            raise tables.TableError(f"{name}: not a normal-against-uniform pair")
        if differs_beyond_noise(n["config"], u["config"]):
            raise tables.TableError(f"{name}: the two runs differ beyond the noise")
        a, b = final_summary(n, TOY_METRICS), final_summary(u, TOY_METRICS)
        if (a["seeds"], a["step"]) != (b["seeds"], b["step"]):
            raise tables.TableError(f"{name}: the two runs' seeds or budgets differ")
        rows.append(
            [dataset_name(n["config"]), n["label"], f"{a['seeds']} × {a['step']:,}"]
            + [
                fmt(s[m], d)
                for m, d in (("modes_covered", 2), ("high_quality", 1), ("reverse_kl", 2))
                for s in (a, b)
            ]
        )
    header = [
        "toy",
        "row",
        "seeds × steps",
        "modes, N(0, I)",
        "modes, uniform",
        "high quality %, N(0, I)",
        "high quality %, uniform",
        "reverse KL, N(0, I)",
        "reverse KL, uniform",
    ]
    return tables.markdown(header, rows)


def get_tables() -> dict:
    """MODES.md's tables from the committed runs: {(doc, table name): markdown}."""
    out = {}
    for name, (sub, metrics, _) in DOC_TABLES.items():
        trials = load_root(os.path.join(tables.ROOT, RUNS, sub), metrics)
        out[(DOC, name)] = toy_table(trials) if metrics == TOY_METRICS else stacked_table(trials)
    # the unrolled rows of the earlier protocol, on the radius-2 ring (the table without its heading)
    earlier = load_root(os.path.join(tables.ROOT, RUNS, "alternating_lecun", "pacgan_toys"), TOY_METRICS)
    unrolled = [t for t in earlier if dataset_name(t["config"]).startswith("ring (radius")]
    out[(DOC, "unrolled")] = toy_table(unrolled).split("\n", 3)[3]
    out[(DOC, "noise")] = noise_table()
    out[(DOC, "noise_long")] = noise_table("pacgan_long_normal", "pacgan_long")
    out[(DOC, "measured")] = measured_table()
    out[(DOC, "budgets")] = budgets_table()
    return out


def write_docs() -> None:
    for (_, name), table in get_tables().items():
        if name not in DOC_TABLES:
            continue
        with open(os.path.join(tables.ROOT, DOC_TABLES[name][2]), "w") as f:
            f.write(table)
    tables.main(get_tables, True)


def main(argv):
    del argv
    if _WRITE_DOCS.value or tables.WRITE.value:  # --write, as the other reports take it
        write_docs()
        return
    roots = [
        (_TOYS.value, TOY_METRICS, "toys"),
        (_TOYS_LONG.value, TOY_METRICS, "toys_long"),
        (_STACKED.value, STACKED_METRICS, "stacked_mnist"),
        (_STACKED_LONG.value, STACKED_METRICS, "stacked_mnist_long"),
    ]
    if not any(root for root, _, _ in roots):
        raise app.UsageError("give --toys, --toys_long, --stacked and/or --stacked_long")
    os.makedirs(_OUT.value, exist_ok=True)
    try:
        for root, metrics, name in roots:
            if root:
                report(root, metrics, _OUT.value, name, _MAX_STEP.value)
    except ReportError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    app.run(main)
