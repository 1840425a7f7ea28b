r"""README's headline table from the committed records, through the other report scripts' readers:
every number in it is computed here from experiments/results/ (published numbers come from
modes_report's tables of the papers).

  python experiments/reports/headline_report.py            # print the table
  python experiments/reports/headline_report.py --write    # put it into README.md
"""

import os
import sys

import numpy as np
from absl import app

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from experiments.reports import (  # noqa: E402
    bench_report,
    lucic_report,
    modes_report,
    reproduction_report,
    results_report,
    tables,
)

DOC = "README.md"
LINK = {
    "REPRODUCTION": "[REPRODUCTION.md](experiments/reports/REPRODUCTION.md)",
    "RESULTS": "[RESULTS.md](experiments/reports/RESULTS.md)",
    "MODES": "[MODES.md](experiments/reports/MODES.md)",
    "BENCHMARKS": "[BENCHMARKS.md](experiments/reports/BENCHMARKS.md)",
}


def reproduction_cells() -> tuple[str, str]:
    run = reproduction_report.LONG
    end = [reproduction_report.eval_json(run, r) for r in (0, 2)]
    real = end[0]["real_data"]
    epochs = end[0]["step"] // reproduction_report.STEPS_PER_EPOCH
    long = (
        f"Parzen {end[0]['parzen_ll']:.1f} and {end[1]['parzen_ll']:.1f} nats (2 seeds, each ± "
        f"{end[0]['parzen_se']:.1f} s.e. over the test images; the paper: {reproduction_report.PAPER} s.e.; "
        f"real data {real['parzen_ll']:.1f}), FCD {end[0]['fcd']:.1f} and {end[1]['fcd']:.1f} "
        f"(real {real['fcd']:.1f}); a third seed collapsed"
    )
    short = [reproduction_report.eval_json(f"{reproduction_report.H200}/simultaneous", r) for r in range(3)]
    p, f = [e["parzen_ll"] for e in short], [e["fcd"] for e in short]
    h200 = (
        f"Parzen {np.mean(p):.1f} ± {np.std(p, ddof=1):.1f}, FCD {np.mean(f):.1f} ± {np.std(f, ddof=1):.1f} "
        "(mean ± std over 3 seeds)"
    )
    return f"Paper model, MNIST, {epochs:,} epochs", long, h200


def modes_cell() -> str:
    m = modes_report
    ring, grid = m.run(m.RING_LONG), m.run(m.GRID_LONG)
    last = [seed[-1] for seed in ring["histories"]]
    sw = m.swing(ring)
    grid_modes = np.mean([seed[-1]["modes_covered"] for seed in grid["histories"]])
    stacked = {
        t["label"]: t["histories"][0][-1]
        for t in m.load_root(os.path.join(tables.ROOT, m.RUNS, m.STACKED_LONG), m.STACKED_METRICS)
    }
    rp, gan = stacked["RpGAN + R1 γ=1 + R2 γ=1"], stacked["GAN"]
    pac = m.PACGAN_TABLE1["ring"]["GAN"]
    r3 = dict((label, kl) for label, _, kl in m.STACKED_PUBLISHED)["R3GAN ablation: RpGAN + R1 + R2"]
    last_hq = " and ".join(f"{r['high_quality']:.1f}" for r in last)
    n = len(last)
    return (
        f"ring GAN ({n} seeds, {last[0]['step']:,} steps): 8/8 modes at every eval from "
        f"{m.full_modes_from(ring, 8):,} steps; high quality {last_hq} % at the last eval, but the {n}-seed "
        f"mean swings {sw['min']:.0f}–{sw['max']:.0f} % from {sw['passed']:,} steps on ({sw['last7']:.1f} % "
        f"over the last seven evals; PacGAN: {pac[0][0]} modes, {pac[1][0]} % at {m.TOY_PROTOCOL:,} steps); "
        f"grid GAN {grid_modes:.1f} of 25 modes; StackedMNIST at {rp['step']:,} steps, one seed per row: "
        f"RpGAN + R1 + R2 {rp['modes_covered']:,.0f} modes, KL {rp['reverse_kl']:.3f}, and the plain GAN "
        f"{gan['modes_covered']:,.0f} modes too, KL {gan['reverse_kl']:.3f} (R3GAN: {r3[0]})"
    )


def conditional_cell() -> str:
    import json

    root = os.path.join(tables.RESULTS, "conditional_mnist")
    acc = {
        run: np.mean([r["metrics"]["cond_accuracy"] for r in results_report.collect.trial_rows(root, run)])
        for run in ("projection", "concat")
    }
    with open(os.path.join(root, "real_data", "eval.json")) as f:
        real = json.load(f)["real_data"]["cond_accuracy"]
    return (
        f"conditional accuracy {acc['projection']:.3f} (projection D), {acc['concat']:.3f} (concat); "
        f"3 seeds each (real data {real:.3f})"
    )


def inception_cell() -> str:
    """DCGAN-28's NS GAN on MNIST and Fashion-MNIST by Inception FID (lucic_report's CPU records), beside
    the real-data floor at the same N and Lucic et al.'s tuned full-budget number."""
    parts, steps = [], None
    for dataset, label in lucic_report.DATASETS.items():
        trial = lucic_report.measured("cpu", dataset)["NS GAN"]
        fid = [r["inception_fid"] for r in trial["reports"]]
        n = trial["reports"][0]["protocol"]["n_samples"]
        floor = lucic_report.floor(dataset, n)["inception_fid"]
        published = lucic_report.PUBLISHED_FID[dataset]["NS GAN"][0]
        steps = trial["config"]["num_steps"]
        parts.append(
            f"{label} {lucic_report.mean_std(fid, 1)} ({len(fid)} seeds; real data "
            f"{floor:.1f} at N = {n:,}; Lucic et al., tuned, N = 10,000: {published})"
        )
    return f"NS GAN, DCGAN-28, {steps:,} steps: FID " + "; ".join(parts)


def speed_cell() -> str:
    rep = {r["replicas"]: r for r in bench_report.load("h100_bench/bench_replicas.json")["results"]}
    runs = bench_report.cpu_b_runs()
    paired = [bench_report.by_n(r)[0][1]["vs_torch_paired"] for _, r in runs]
    return (
        f"{rep[1]['steps_per_s']:,.0f} steps/s fused on one H100, {rep[8]['model_steps_per_s']:,.0f} "
        f"model-steps/s for 8 seeds vmapped; paired {min(paired):.2f}–{max(paired):.2f}× PyTorch eager on "
        f"2 CPU cores ({len(runs)} runs); the H200 and H100 torch ratios have no record"
    )


def headline_table() -> str:
    study, long, h200 = reproduction_cells()
    rows = [
        [study, long, "one H100", LINK["REPRODUCTION"]],
        ["Paper model, MNIST, 500 epochs", h200, "one H200", LINK["REPRODUCTION"]],
        [
            "Six games, toys and MNIST",
            "no loss beats the non-saturating GAN beyond seed noise on the ring, the grid or the paper MLP",
            "CPU, H100",
            LINK["RESULTS"],
        ],
        ["Inception FID beside Lucic et al. 2018", inception_cell(), "CPU", LINK["RESULTS"]],
        ["Mode collapse at 1–15 % of the protocols' budgets", modes_cell(), "CPU", LINK["MODES"]],
        ["Conditional MNIST, 50 epochs", conditional_cell(), "one H100", LINK["RESULTS"]],
        ["Training speed, paper model", speed_cell(), "H100, CPU", LINK["BENCHMARKS"]],
    ]
    return tables.markdown(["study", "result", "machine", "details"], rows)


def get_tables() -> dict:
    return {(DOC, "headline"): headline_table()}


def main(argv):
    del argv
    tables.main(get_tables)


if __name__ == "__main__":
    app.run(main)
