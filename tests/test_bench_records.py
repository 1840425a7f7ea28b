"""The start-up benchmark's clock and arithmetic (not its timings), and the precision every benchmark
row now carries: the report shows it, and labels a record without it instead of guessing."""

import sys
import types

import jax
import numpy as np
import pytest
from conftest import tiny_config
from test_precision import dot_precisions

from benchmarks import bench_startup, bench_steps
from experiments.reports import bench_report
from gan_jax.training import jitting


def fake_run(script: str) -> list[str]:
    return [sys.executable, "-c", "import time\n" + script]


def test_the_clock_stops_at_the_first_step_line_and_again_at_the_exit():
    script = "time.sleep(0.3); print('loading'); print('step 1/1 d_loss 0.69', flush=True); time.sleep(0.4)"
    row = bench_startup.time_run(fake_run(script), {}, timeout=60)
    assert 0.3 <= row["first_step_s"] < row["total_s"]
    assert row["total_s"] - row["first_step_s"] >= 0.4
    assert row["cpu_s"] < row["total_s"]  # the child slept most of its time


def test_a_run_that_fails_or_never_steps_is_one_line_error():
    with pytest.raises(bench_startup.StartupError, match=r"exit 3, no first step logged; it said: boom$"):
        bench_startup.time_run(fake_run("print('boom'); raise SystemExit(3)"), {}, timeout=60)
    with pytest.raises(bench_startup.StartupError, match="exit 0, no first step logged"):
        bench_startup.time_run(fake_run("print('step 10/20 ...')"), {}, timeout=60)  # not step 1


def test_a_run_past_its_timeout_is_killed():
    with pytest.raises(bench_startup.StartupError, match="exit -9"):
        bench_startup.time_run(fake_run("time.sleep(30)"), {}, timeout=0.5)


def startup_row(config, repeat, cache, first, cpu, mb=2.0, precision="highest"):
    row = {"config": config, "repeat": repeat, "cache": cache, "first_step_s": first, "total_s": first + 1}
    row |= {"cpu_s": cpu, "cache_entries": 3, "cache_mb": mb}
    return row | ({"matmul_precision": precision} if precision else {})


def test_startup_pairs_cold_and_warm_by_repeat():
    # cold 10, 30, 20 s against warm 5, 10, 4 s: paired ratios 2, 3, 5 (the medians' ratio would be 4)
    rows = [startup_row("paper", i, "cold", c, 9.0) for i, c in enumerate((10.0, 30.0, 20.0))]
    rows += [startup_row("paper", i, "warm", w, 3.0) for i, w in reversed(list(enumerate((5.0, 10.0, 4.0))))]
    (summary,) = bench_report.startup_summary({"results": rows})
    assert summary["cold_s"] == [10.0, 30.0, 20.0] and summary["warm_s"] == [5.0, 10.0, 4.0]
    assert summary["ratio"] == pytest.approx([2.0, 3.0, 5.0])
    table = bench_report.startup_table({"results": rows})
    cells = [c.strip() for c in table.splitlines()[2].split("|")[1:-1]]
    assert cells == [
        "paper model (MNIST MLP)",
        "20.0 (10.0–30.0)",
        "5.0 (4.0–10.0)",
        "**3.00×** (2.00–5.00×)",
        "9.0 / 3.0",
        "3 files, 2.0 MB",
        "highest",
    ]


def test_a_row_without_its_precision_is_labelled_not_guessed():
    assert bench_report.precision_of({"matmul_precision": "high"}) == "high"
    assert bench_report.precision_of({}, {"matmul_precision": "default"}) == "default"  # the record's
    assert bench_report.precision_of({}) == bench_report.NOT_RECORDED == "default (not recorded)"
    assert (
        bench_report.precisions([{}, {"matmul_precision": "highest"}, {}])
        == "default (not recorded) / highest"
    )
    rows = [startup_row("dcgan28", 0, kind, 5.0, 1.0, precision=None) for kind in ("cold", "warm")]
    assert (
        bench_report.startup_table({"results": rows}).splitlines()[2].endswith("| default (not recorded) |")
    )


def test_bench_steps_traces_at_the_configs_precision_and_records_it(monkeypatch):
    lowered, jit_step = [], jitting.jit_step

    def spying(fn, **kwargs):
        jitted = jit_step(fn, **kwargs)
        spy = types.SimpleNamespace(lower=lambda *a: lowered.append(jitted.lower(*a)) or lowered[-1])
        return spy

    monkeypatch.setattr(bench_steps.jitting, "jit_step", spying)
    monkeypatch.setattr(bench_steps, "NUM_TRAIN", 100)  # a tiny image set for the tiny model
    images = np.random.default_rng(0).random((100, 784), dtype=np.float32)
    args = types.SimpleNamespace(warmup_steps=0, window_steps=1)
    config = tiny_config(matmul_precision="high")
    row, _ = bench_steps.prepare_jax(config, images, jax.devices("cpu")[0], 1, args)
    assert row["matmul_precision"] == "high"
    assert dot_precisions(lowered[0].as_text()) == {"HIGH"}  # every product of the timed program
