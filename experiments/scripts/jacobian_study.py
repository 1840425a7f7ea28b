r"""The game Jacobian's leading eigenvalues along a simultaneous and an alternating run of the paper's
MNIST model (same seed), beside the saturation trap's signs (gan_jax/analysis/spectrum.py,
experiments/reports/DYNAMICS.md).

Trains both runs through launch.py (skipped when a workdir already holds the last step), then for each
checkpoint computes ``spectrum.spectrum_at`` (k Arnoldi products J u and two restarts for the rightmost
eigenvalue) and appends a line per (run, step) to ``spectrum.jsonl``; a rerun skips what the file holds,
so an interrupted study resumes. Then draws the figures and ``table.md`` from the file.

Run (7 minutes of training and 48 of analysis, 60 checkpoints, on a shared 2-core CPU):
  python experiments/scripts/jacobian_study.py --out=experiments/results/jacobian_study \
      --workdir=/tmp/jacobian_study
"""

import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any, NamedTuple

import matplotlib

matplotlib.use("Agg")
import jax  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from gan_jax.analysis import spectrum  # noqa: E402
from gan_jax.data import datasets  # noqa: E402
from gan_jax.game import state  # noqa: E402
from gan_jax.networks import models  # noqa: E402
from gan_jax.training import checkpoints, evaluation, figures  # noqa: E402

RUNS = ("simultaneous", "alternating")
COLOURS = {"simultaneous": "tab:blue", "alternating": "tab:red"}

_OUT = flags.DEFINE_string("out", "experiments/results/jacobian_study", "spectrum.jsonl and figures.")
_WORKDIR = flags.DEFINE_string("workdir", "/tmp/jacobian_study", "Root of the two runs' workdirs.")
_STEPS = flags.DEFINE_integer("num_steps", 3000, "Steps per run.")
_CKPT = flags.DEFINE_integer("ckpt_every", 100, "Checkpoint (and analysis) cadence.")
_K = flags.DEFINE_integer("k", 40, "Arnoldi steps per run of the iteration.")
_RESTARTS = flags.DEFINE_integer("restarts", 2, "Explicit restarts for the rightmost eigenvalues.")
_PLOT_ONLY = flags.DEFINE_bool("plot_only", False, "Draw the figures from spectrum.jsonl alone.")


def train_run(update: str, workdir: str) -> None:
    """The paper config with ``--update=update``, seed 0, through launch.py (resumes a partial run)."""
    args = [sys.executable, os.path.join(ROOT, "launch.py"), f"--update={update}", "--seed=0"]
    args += [f"--workdir={workdir}", f"--config.num_steps={_STEPS.value}", "--config.eval_every=0"]
    args += [f"--config.ckpt_every={_CKPT.value}", "--config.log_every=50"]
    args += [f"--config.keep_checkpoints={_STEPS.value // _CKPT.value + 1}"]
    subprocess.run(args, check=True, cwd=ROOT)


class Run(NamedTuple):
    config: Any
    init: Any  # the initial state: the structure checkpoints restore into
    x_train: Any  # on device
    mngr: Any
    probe: spectrum.Probe


def load_run(workdir: str) -> Run:
    """A trained run's config (its config.json), checkpoints and probe."""
    config = evaluation.load_run_config(workdir)
    x_train = datasets.load_dataset(config.data)["train"][0]
    setup = state.make_setup(config, len(x_train))
    init = state.create_train_state(
        config, setup, models.init_mean_pixel(config.model, x_train), len(x_train)
    )
    mngr = checkpoints.checkpoint_manager(os.path.join(workdir, "checkpoints"))
    return Run(config, init, jax.device_put(x_train), mngr, spectrum.make_probe(config, len(x_train)))


def read_lines(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def analyse_step(run: Run, step: int) -> dict:
    start = time.time()
    s = checkpoints.restore_checkpoint(run.mngr, step, run.init, run.config.model.d_pieces)
    key = jax.random.PRNGKey(0)
    out = spectrum.spectrum_at(
        run.config, s, run.x_train, _K.value, key, restarts=_RESTARTS.value, probe=run.probe
    )
    return {"step": int(step), "seconds": round(time.time() - start, 1)} | out


def analyse(root: str, path: str) -> None:
    """``spectrum_at`` of every checkpoint of both runs not yet in ``path``, one JSON line each: every
    200th step of both runs first, then the steps between (so a cut-short study still covers both)."""
    done = {(r["run"], r["step"]) for r in read_lines(path)}
    runs = {name: load_run(os.path.join(root, name)) for name in RUNS}
    jobs = [(name, step) for name in RUNS for step in runs[name].mngr.all_steps() if (name, step) not in done]
    jobs.sort(key=lambda job: (job[1] % 200 != 0, job[1], RUNS.index(job[0])))
    try:
        for name, step in jobs:
            out = {"run": name} | analyse_step(runs[name], step)
            with open(path, "a") as f:
                f.write(json.dumps(out) + "\n")
            top = np.hypot(out["modulus"]["re"][0], out["modulus"]["im"][0])
            print(
                f"{name} step {step}: max Re {out['real']['re'][0]:.4g}, max |lambda| {top:.4g}, "
                f"|grad G| {out['g_grad_norm']:.3g}, D(G(z)) {out['d_fake']:.3g} ({out['seconds']} s)",
                flush=True,
            )
    finally:
        for run in runs.values():
            checkpoints.close(run.mngr)


def series(rows: list[dict], run: str) -> dict:
    """Per analysed step of ``run``: the step, max Re, max |lambda|, h max |lambda| and the trap's signs."""
    rows = sorted((r for r in rows if r["run"] == run), key=lambda r: r["step"])
    mod = lambda r: float(np.max(np.hypot(r["modulus"]["re"], r["modulus"]["im"])))  # noqa: E731
    return {
        "step": np.array([r["step"] for r in rows]),
        "max_re": np.array([r["real"]["re"][0] for r in rows]),
        "max_abs": np.array([mod(r) for r in rows]),
        "h_max_abs": np.array([r["d_hyper"]["learning_rate"] * mod(r) for r in rows]),
        "g_grad_norm": np.array([r["g_grad_norm"] for r in rows]),
        "d_fake": np.array([r["d_fake"] for r in rows]),
        "saturation": np.array([r["saturation"] for r in rows]),
    }


def training_log(run: str) -> dict:
    """The run's logged ``g_grad_norm`` and ``d_fake`` (its metrics.jsonl, every 50 steps, copied to
    ``<out>/<run>_metrics.jsonl``)."""
    rows = [r for r in read_lines(os.path.join(_OUT.value, f"{run}_metrics.jsonl")) if "g_grad_norm" in r]
    return {name: np.array([r[name] for r in rows]) for name in ("step", "g_grad_norm", "d_fake")}


def plot_vs_step(rows: list[dict], path: str) -> None:
    """Max Re(lambda), max |lambda| and h max |lambda| beside G's gradient norm, D(G(z)), saturation; thin
    lines: the training log's values (each step's own minibatch; alternating: G's gradient after D's
    update)."""
    panels = [
        ("max_re", "max Re λ of d(−v)/dθ", "symlog"),
        ("max_abs", "max |λ|", "log"),
        ("h_max_abs", "h · max |λ| (h: D's learning rate)", "log"),
        ("g_grad_norm", "‖∇_G L_G‖ (dots: the analysed minibatch; lines: training log)", "log"),
        ("d_fake", "D(G(z))", "log"),
        ("saturation", "mean x(1 − x) of G's output", "log"),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(12, 6), sharex=True)
    for ax, (name, title, scale) in zip(axes.flat, panels, strict=True):
        for run in RUNS:
            s = series(rows, run)
            ax.plot(s["step"], s[name], ".-", color=COLOURS[run], label=run, ms=4)
            log = training_log(run)
            if name in log and len(log[name]):
                ax.plot(log["step"], log[name], "-", color=COLOURS[run], lw=0.6, alpha=0.4)
        ax.set_yscale(scale, **({"linthresh": 1e-2} if scale == "symlog" else {}))
        if name == "h_max_abs":  # heavy ball on a real lambda < 0 is stable iff h |lambda| < 2 (1 + mu)
            ax.axhline(3.0, color="k", lw=0.6, ls="--", label="2 (1 + μ), μ = 0.5")
            ax.legend(fontsize=7, loc="lower right")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("step", fontsize=8)
    axes[0, 0].legend(fontsize=8)
    figures.save(fig, path, dpi=110)


def ritz_points(rows: list[dict], run: str):
    """(step, re, im, g_share) of every leading Ritz value of ``run`` (both lists, duplicates kept)."""
    pts = []
    for r in rows:
        if r["run"] == run:
            for which in ("modulus", "real"):
                w = r[which]
                pts += [(r["step"], a, b, g) for a, b, g in zip(w["re"], w["im"], w["g_share"], strict=True)]
    return np.array(pts).reshape(-1, 4)


def plot_plane(rows: list[dict], path: str) -> None:
    """Every step's leading Ritz values in the complex plane, coloured by step, one panel per run."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    last = max(r["step"] for r in rows)
    for ax, run in zip(axes, RUNS, strict=True):
        p = ritz_points(rows, run)
        im = ax.scatter(p[:, 1], p[:, 2], s=12, c=p[:, 0], cmap="viridis", vmin=0, vmax=last)
        ax.axvline(0, color="k", lw=0.5)
        ax.set_title(f"{run}: leading Ritz values of d(−v)/dθ", fontsize=9)
        ax.set_xscale("symlog", linthresh=0.1)
        ax.set_xlabel("Re λ", fontsize=8)
    axes[0].set_ylabel("Im λ", fontsize=8)
    fig.colorbar(im, ax=axes[1], label="step")
    figures.save(fig, path, dpi=110)


def plot_players(rows: list[dict], path: str) -> None:
    """Re(lambda) of every leading Ritz value against the step, coloured by its Ritz vector's share in
    G's parameters (1: a direction of G alone, 0: of D alone), one panel per run."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, run in zip(axes, RUNS, strict=True):
        p = ritz_points(rows, run)
        im = ax.scatter(p[:, 0], p[:, 1], s=12, c=p[:, 3], cmap="coolwarm", vmin=0, vmax=1)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_yscale("symlog", linthresh=0.01)
        ax.set_title(f"{run}: Re λ of the leading Ritz values", fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Re λ (> 0: gradient flow leaves)", fontsize=8)
    fig.colorbar(im, ax=axes[1], label="share of the Ritz vector in G's parameters")
    figures.save(fig, path, dpi=110)


def write_table(rows: list[dict], path: str) -> None:
    """A markdown table per run (dynamics_report.jacobian_table, the tables of DYNAMICS.md)."""
    from experiments.reports import dynamics_report

    with open(path, "w") as f:
        f.write("\n".join(f"### {run}\n\n{dynamics_report.jacobian_table(rows, run)}" for run in RUNS))


def main(argv):
    del argv
    os.makedirs(_OUT.value, exist_ok=True)
    path = os.path.join(_OUT.value, "spectrum.jsonl")
    if not _PLOT_ONLY.value:
        for run in RUNS:
            train_run(run, os.path.join(_WORKDIR.value, run))
            log = os.path.join(_WORKDIR.value, run, "metrics.jsonl")
            shutil.copy(log, os.path.join(_OUT.value, f"{run}_metrics.jsonl"))
        analyse(_WORKDIR.value, path)
    rows = read_lines(path)
    plot_vs_step(rows, os.path.join(_OUT.value, "spectrum_vs_step.png"))
    plot_plane(rows, os.path.join(_OUT.value, "spectrum_plane.png"))
    plot_players(rows, os.path.join(_OUT.value, "spectrum_players.png"))
    write_table(rows, os.path.join(_OUT.value, "table.md"))
    print(f"wrote {_OUT.value}")


if __name__ == "__main__":
    app.run(main)
