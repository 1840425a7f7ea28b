r"""BENCHMARKS.md's tables from the benchmark records under experiments/results/{cpu_bench,h100_bench}.

The records are the JSON files the benchmark scripts write (``--json_out``); a row the records do not
hold is printed as "no record" with the command that makes one.

  python experiments/reports/bench_report.py            # print the tables
  python experiments/reports/bench_report.py --write    # put them into BENCHMARKS.md
"""

import glob
import json
import os
import re
import sys

import numpy as np
from absl import app

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from experiments.reports import tables  # noqa: E402

DOC = "experiments/reports/BENCHMARKS.md"
CPU_B = "cpu_bench/bench_steps_zen4_*.json"  # CPU-B: 2-core Zen 4, bench_steps --steps_per_call=1,10
NO_RECORD = "no record; rerun with `{}`"
GPU_STEPS = "python -m benchmarks.bench_steps --steps_per_call=1,100,500 --windows=3 --json_out=FILE"
PARZEN = "python -m benchmarks.bench_parzen --json_out=FILE"
INCEPTION = "cpu_bench/bench_inception.json"  # python -m benchmarks.bench_inception --n=64 --batch_size=32
STARTUP = "cpu_bench/bench_startup.json"  # nice python -m benchmarks.bench_startup --repeats=3
NOT_RECORDED = "default (not recorded)"


def precision_of(row: dict, record: dict | None = None) -> str:
    """The float32 matmul precision a benchmark row ran at: its own ``matmul_precision``, else its
    record's. Records made before the benchmarks recorded it (config.matmul_precision arrived on
    2026-12-07, commit 03dc401) traced every program at JAX's default, which they did not write down:
    labelled NOT_RECORDED rather than guessed."""
    return row.get("matmul_precision") or (record or {}).get("matmul_precision") or NOT_RECORDED


def precisions(rows: list[dict], record: dict | None = None) -> str:
    """The distinct ``precision_of`` the rows, in order, joined by " / "."""
    return " / ".join(dict.fromkeys(precision_of(r, record) for r in rows))


def load(path: str) -> dict:
    with open(os.path.join(tables.RESULTS, path)) as f:
        return json.load(f)


def cpu_b_runs(results: str = tables.RESULTS) -> list[tuple[str, dict]]:
    paths = sorted(glob.glob(os.path.join(results, CPU_B)))
    return [(os.path.relpath(p, results), json.load(open(p))) for p in paths]


def by_n(record: dict) -> tuple[dict, dict]:
    """({N: gan_jax float32 row}, the torch row) of a bench_steps record."""
    jax_rows = {r["steps_per_call"]: r for r in record["results"] if r["impl"] != "torch eager"}
    torch = next(r for r in record["results"] if r["impl"] == "torch eager")
    return jax_rows, torch


def span(values, fmt="{:.1f}") -> str:
    lo, hi = min(values), max(values)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}–{fmt.format(hi)}"


def cpu_b_summary(runs) -> dict:
    """Per N: gan_jax's and torch's steps/s over the runs, the median and range of the paired ratio."""
    out = {}
    for n in (1, 10):
        rows = [by_n(r)[0][n] for _, r in runs]
        paired = [row["vs_torch_paired"] for row in rows]
        out[n] = {
            "jax": span([row["steps_per_s"] for row in rows]),
            "torch": span([by_n(r)[1]["steps_per_s"] for _, r in runs]),
            "median": f"{np.median(paired):.2f}×",
            "range": span(paired, "{:.2f}") + "×",
        }
    return out


def current_table() -> str:
    runs = cpu_b_runs()
    s = cpu_b_summary(runs)
    rep = {r["replicas"]: r for r in load("h100_bench/bench_replicas.json")["results"]}
    dcgan = load("cpu_bench/bench_dcgan.json")["results"]
    fused = next(
        r for r in dcgan if r["conv_impl"] == "canonical" and r["replicas"] == 1 and r["steps_per_call"] == 5
    )
    torch = next(r for r in dcgan if r["conv_impl"] == "torch eager")
    n = len(runs)
    cpu_b = precisions([by_n(r)[0][k] for _, r in runs for k in (1, 10)])
    rows = [
        [
            "CPU-B (2-core Zen 4)",
            "paper model, 1 step a call",
            f"{s[1]['jax']} steps/s",
            f"torch eager {s[1]['torch']}",
            f"paired **{s[1]['median']}** (median of {n} runs; {s[1]['range']})",
            "≥ 1.5× torch",
            "no (ceiling 1.66×)",
            cpu_b,
        ],
        [
            "CPU-B",
            "paper model, 10 steps fused",
            f"{s[10]['jax']} steps/s",
            "same",
            f"paired **{s[10]['median']}** (median of {n} runs; {s[10]['range']})",
            "≥ 1.5× torch",
            "no",
            cpu_b,
        ],
        [
            "H200",
            "paper model, 100 steps fused",
            NO_RECORD.format(GPU_STEPS),
            "",
            "",
            "≥ 20× torch",
            "unknown",
            "",
        ],
        [
            "H100",
            "paper model, 500 steps fused",
            f"**{rep[1]['steps_per_s']:,.0f} steps/s**",
            "–",
            "–",
            "≥ 4,000 steps/s",
            "no",
            precision_of(rep[1]),
        ],
        [
            "H100",
            "8 seeds in one program (vmap)",
            f"**{rep[8]['model_steps_per_s']:,.0f} model-steps/s**",
            f"one replica {rep[1]['steps_per_s']:,.0f}",
            f"**{rep[8]['speedup_vs_first']:.2f}×**",
            "≥ 4× one replica",
            "no",
            precision_of(rep[8]),
        ],
        [
            "CPU-A (2-core EPYC)",
            "DCGAN-28, 5 steps fused",
            f"{fused['steps_per_s']:.2f} steps/s",
            f"torch eager {torch['steps_per_s']:.2f}",
            f"{fused['steps_per_s'] / torch['steps_per_s']:.2f}×",
            "–",
            "–",
            precision_of(fused),
        ],
        [
            "CPU-A, H200",
            "Parzen, full protocol (10k × 10k, d = 784)",
            NO_RECORD.format(PARZEN),
            "",
            "",
            "–",
            "–",
            "",
        ],
    ]
    rows.append(inception_current_row())
    header = ["machine", "workload", "gan_jax", "reference", "ratio", "target", "met", "gan_jax precision"]
    return tables.markdown(header, rows)


def inception_rows(record: dict) -> tuple[dict, dict]:
    """(gan_jax row, TorchScript row) of a bench_inception record."""
    by_impl = {r["impl"]: r for r in record["results"]}
    return by_impl["gan_jax"], by_impl["torchscript"]


def inception_current_row() -> list:
    record = load(INCEPTION)
    jax_row, torch_row = inception_rows(record)
    return [
        "CPU-C (2-core EPYC, family 26)",
        f"Inception pool3 features, 28→299 px, batch {record['args']['batch_size']}",
        f"{jax_row['features_per_s']:.2f} features/s",
        f"TorchScript {torch_row['features_per_s']:.2f}",
        f"**{record['ratio']:.2f}×**",
        "≥ 1× TorchScript",
        "yes" if record["ratio"] >= 1 else "no",
        "highest (fixed in the network)",
    ]


def inception_table() -> str:
    record = load(INCEPTION)
    jax_row, torch_row = inception_rows(record)
    args = record["args"]
    threads = record["torch_threads"]
    rows = [
        [
            f"{record['cpu']}, {record['cpus']} cores",
            f"{args['n']} × {args['windows']} passes, batch {args['batch_size']}",
            f"{jax_row['features_per_s']:.2f} ({jax_row['first_call_s']:.1f})",
            f"{torch_row['features_per_s']:.2f} ({torch_row['first_call_s']:.1f}; {threads} threads)",
            f"{record['ratio']:.2f}×",
            f"{record['max_abs_diff']:.1e}",
            f"{record['load_end'][0]:.1f}",
        ]
    ]
    header = [
        "machine",
        "images",
        "gan_jax features/s (first call s)",
        "TorchScript features/s (first call s)",
        "ratio",
        "max \\|Δ feature\\|",
        "load at the end",
    ]
    return tables.markdown(header, rows)


def cpu_b_table() -> str:
    rows = []
    for path, record in cpu_b_runs():
        jax_rows, torch = by_n(record)
        ns = sorted(jax_rows)
        rows.append(
            [
                f"CPU-B, `{os.path.basename(path)}`",
                " / ".join(map(str, ns)),
                " / ".join(f"{jax_rows[n]['compile_s']:.1f}" for n in ns),
                " / ".join(f"{jax_rows[n]['steps_per_s']:.1f}" for n in ns),
                f"{torch['steps_per_s']:.1f}",
                " / ".join(f"{jax_rows[n]['vs_torch_paired']:.2f}×" for n in ns),
                precisions([jax_rows[n] for n in ns]),
            ]
        )
    rows.append(["H200", "1 / 100 / 500", "", NO_RECORD.format(GPU_STEPS), "", "", ""])
    header = [
        "machine, record",
        "N (steps fused)",
        "compile s",
        "gan_jax steps/s",
        "torch steps/s",
        "paired ratio",
        "gan_jax precision",
    ]
    return tables.markdown(header, rows)


def replicas_table() -> str:
    rows = [
        [
            "H100",
            r["replicas"],
            f"{r['steps_per_s']:,.0f}",
            f"{r['model_steps_per_s']:,.0f}",
            f"{r['speedup_vs_first']:.2f}×",
            precision_of(r),
        ]
        for r in load("h100_bench/bench_replicas.json")["results"]
    ]
    return tables.markdown(
        ["machine", "replicas", "steps/s (each)", "model-steps/s (all)", "against one replica", "precision"],
        rows,
    )


def dcgan_table() -> str:
    rows = []
    for r in load("cpu_bench/bench_dcgan.json")["results"]:
        mode = {"loop": "looped", "vmap": "vmapped"}.get(r["replica_mode"], r["replica_mode"])
        reps = str(r["replicas"]) + (f", {mode}" if r["replicas"] > 1 else "")
        steps = "–" if r["conv_impl"] == "torch eager" else r["steps_per_call"]
        rows.append(
            [
                r["conv_impl"],
                reps,
                steps,
                f"{r['first_call_s']:.1f}",
                f"{r['steps_per_s']:.2f}",
                f"{r['model_steps_per_s']:.2f}",
                precision_of(r),
            ]
        )
    header = [
        "convolution gradients",
        "replicas",
        "steps per call",
        "first call s",
        "steps/s",
        "model-steps/s",
    ]
    return tables.markdown([*header, "precision"], rows)


def bf16_speed_table() -> str:
    record = load("cpu_bench/bench_steps_bf16.json")["results"]
    f32 = next(r for r in record if r["impl"] == "jax")
    bf16 = next(r for r in record if r.get("dtype") == "bfloat16")
    torch = next(r for r in record if r["impl"] == "torch eager")
    t = torch["steps_per_s"]
    rows = [
        [
            "CPU-A",
            f"{f32['steps_per_s']:.1f} ({f32['steps_per_s'] / t:.2f}× torch)",
            f"{bf16['steps_per_s']:.1f} ({bf16['steps_per_s'] / t:.2f}×)",
            f"{t:.1f}",
            precisions([f32, bf16]),
            "`experiments/results/cpu_bench/bench_steps_bf16.json`",
        ]
    ]
    header = ["machine", "float32 steps/s", "bf16 steps/s", "torch steps/s", "gan_jax precision", "record"]
    return tables.markdown(header, rows)


STARTUP_CONFIGS = {"paper": "paper model (MNIST MLP)", "dcgan28": "DCGAN-28 (MNIST)"}


def median_range(values, fmt="{:.1f}") -> str:
    """ "median (min–max)"."""
    return f"{fmt.format(np.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def startup_summary(record: dict) -> list[dict]:
    """Per config of a bench_startup record, its cold and warm runs paired by repeat: the seconds to
    the first step, the repeat-by-repeat ratio cold / warm, the runs' CPU seconds, the cache's size
    after the cold run, the precision."""
    out = []
    for name in dict.fromkeys(r["config"] for r in record["results"]):
        runs = {(r["repeat"], r["cache"]): r for r in record["results"] if r["config"] == name}
        repeats = sorted({repeat for repeat, _ in runs})
        cold, warm = ([runs[(i, kind)] for i in repeats] for kind in ("cold", "warm"))
        out.append(
            {
                "config": name,
                "cold_s": [r["first_step_s"] for r in cold],
                "warm_s": [r["first_step_s"] for r in warm],
                "ratio": [c["first_step_s"] / w["first_step_s"] for c, w in zip(cold, warm, strict=True)],
                "cold_cpu_s": [r["cpu_s"] for r in cold],
                "warm_cpu_s": [r["cpu_s"] for r in warm],
                "cache_mb": [r["cache_mb"] for r in cold],
                "cache_entries": [r["cache_entries"] for r in cold],
                "precision": precisions(cold + warm, record),
            }
        )
    return out


def startup_table(record: dict | None = None) -> str:
    record = load(STARTUP) if record is None else record
    rows = [
        [
            STARTUP_CONFIGS.get(s["config"], s["config"]),
            median_range(s["cold_s"]),
            median_range(s["warm_s"]),
            f"**{np.median(s['ratio']):.2f}×** ({min(s['ratio']):.2f}–{max(s['ratio']):.2f}×)",
            f"{np.median(s['cold_cpu_s']):.1f} / {np.median(s['warm_cpu_s']):.1f}",
            f"{int(np.median(s['cache_entries']))} files, {np.median(s['cache_mb']):.1f} MB",
            s["precision"],
        ]
        for s in startup_summary(record)
    ]
    header = ["config", "cold: s to step 1", "warm: s to step 1", "cold / warm (paired)", "CPU s cold / warm"]
    return tables.markdown([*header, "cache after cold", "precision"], rows)


def last_eval(path: str, step: int | None = None) -> dict:
    """A seed's last metrics.jsonl eval row (the one at ``step`` if given)."""
    with open(os.path.join(tables.RESULTS, path, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    rows = [r for r in rows if "parzen_ll" in r and (step is None or r["step"] == step)]
    return rows[-1]


def bf16_quality_table() -> str:
    """bf16 (bf16_mnist) against float32 (the 500-epoch H200 run's eval at the same step), mean ± std
    over seeds 0-2."""
    bf16 = [last_eval(f"bf16_mnist/replica_{r}") for r in range(3)]
    step = bf16[0]["step"]
    f32 = [last_eval(f"paper_mnist_h200/simultaneous/replica_{r}", step) for r in range(3)]

    def cells(runs):
        def ms(key, d):
            v = [r[key] for r in runs]
            return f"{np.mean(v):.{d}f} ± {np.std(v, ddof=1):.{d}f}"

        pr = f"{np.mean([r['precision'] for r in runs]):.3f} / {np.mean([r['recall'] for r in runs]):.3f}"
        return [ms("parzen_ll", 1), ms("fcd", 1), ms("classifier_score", 2), pr]

    rows = [
        ["bf16, H100", *cells(bf16)],
        [f"float32, H200 (REPRODUCTION.md's run at epoch {step // 500})", *cells(f32)],
    ]
    return tables.markdown(["run", "Parzen (nats)", "FCD", "classifier score", "precision / recall"], rows)


PROFILE = "cpu_bench/profile_step_parts_zen4.txt"  # python -m benchmarks.profile_step_parts --windows=15
PROFILE_ROWS = (  # (row, gan_jax line, torch line) of the record
    ("whole step", "step", "torch step"),
    ("its 20 products, one program / one after another", "matmuls", "torch matmuls"),
    ("– forward, x @ W (7, NN)", "matmuls NN", "torch matmuls NN"),
    ("– input gradients, dy @ W^T (8, NT)", "matmuls NT", "torch matmuls NT"),
    ("– weight gradients, x^T @ dy (7, TN)", "matmuls TN", "torch matmuls TN"),
    ("dropout masks", "dropout masks", None),
    ("optimizer (both momentum updates)", "optimizer", None),
    ("gradient norms", "grad norms", None),
)


def profile_parts(path: str = PROFILE) -> dict[str, tuple[float, float | None]]:
    """{part: (median ms, GFLOP/s or None)} from profile_step_parts' printout."""
    parts = {}
    with open(os.path.join(tables.RESULTS, path)) as f:
        for line in f:
            m = re.match(
                r"(.+?)\s+min\s+[\d.]+ ms\s+median\s+([\d.]+) ms.*?(?:([\d.]+) GFLOP/s)?$", line.strip()
            )
            if m:
                parts[m.group(1)] = (float(m.group(2)), float(m.group(3)) if m.group(3) else None)
    return parts


def profile_table() -> str:
    parts = profile_parts()

    def cells(name):
        if name is None:
            return ["", ""]
        ms, gflops = parts[name]
        return [f"{ms:.2f}" if ms < 2 else f"{ms:.1f}", f"{gflops:.0f}" if gflops else ""]

    rows = [[label, *cells(jax), *cells(torch)] for label, jax, torch in PROFILE_ROWS]
    return tables.markdown(["part", "gan_jax (XLA) ms", "GFLOP/s", "torch eager ms", "GFLOP/s"], rows)


def get_tables() -> dict:
    return {
        (DOC, "current"): current_table(),
        (DOC, "cpu_steps"): cpu_b_table(),
        (DOC, "replicas"): replicas_table(),
        (DOC, "dcgan"): dcgan_table(),
        (DOC, "bf16_speed"): bf16_speed_table(),
        (DOC, "bf16_quality"): bf16_quality_table(),
        (DOC, "profile"): profile_table(),
        (DOC, "inception"): inception_table(),
        (DOC, "startup"): startup_table(),
    }


def main(argv):
    del argv
    tables.main(get_tables)


if __name__ == "__main__":
    app.run(main)
