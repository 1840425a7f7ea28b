"""The benchmarks' arithmetic (not their timings): window-by-window ratios against torch, the profiler
trace's per-lane and per-op sums."""

import pytest

from benchmarks.bench_steps import add_paired_ratios, format_table
from benchmarks.profile_trace import format_summary, summarize, union_length


def row(impl, window_steps, window_s):
    rate = window_steps / sorted(window_s)[len(window_s) // 2]
    return {
        "impl": impl,
        "steps_per_call": 1,
        "lower_s": 0.0,
        "compile_s": 0.0,
        "first_call_s": 0.0,
        "steps_per_s": rate,
        "steps_per_s_min": rate,
        "steps_per_s_max": rate,
        "ms_per_step": 1e3 / rate,
        "window_steps": window_steps,
        "window_s": window_s,
    }


def test_paired_ratio_is_the_median_of_per_window_speed_ratios():
    # torch 0.2 s/step every window; jax 0.1, 0.2, 0.05 s/step -> 2x, 1x, 4x
    rows = add_paired_ratios([row("jax", 10, [1.0, 2.0, 0.5]), row("torch eager", 5, [1.0, 1.0, 1.0])])
    assert rows[0]["vs_torch_paired"] == pytest.approx(2.0)
    assert (rows[0]["vs_torch_paired_min"], rows[0]["vs_torch_paired_max"]) == pytest.approx((1.0, 4.0))
    assert rows[1]["vs_torch_paired"] == pytest.approx(1.0)
    assert "2.00x [1.00, 4.00]" in format_table(rows)


def test_windows_are_paired_round_by_round():
    # the machine's speed drifts (0.5 to 2 s a window) alike for both: every round's ratio is exactly 2
    # (twice the steps in the same time), which any other pairing or the medians' ratio would not give
    rows = add_paired_ratios([row("jax", 10, [1.0, 2.0, 0.5]), row("torch eager", 5, [1.0, 2.0, 0.5])])
    first = rows[0]
    assert (first["vs_torch_paired_min"], first["vs_torch_paired_max"]) == pytest.approx((2.0, 2.0))


def test_without_torch_rows_are_unchanged():
    rows = [row("jax", 10, [1.0, 2.0])]
    assert add_paired_ratios(rows) == rows
    assert format_table(rows).splitlines()[2].split()[-2:] == ["-", "-"]  # no torch: no ratios


def test_union_length_counts_overlaps_once():
    assert union_length([(0, 10), (2, 5), (20, 30), (25, 35)]) == 25
    assert union_length([]) == 0


def test_trace_summary_per_lane_and_op():
    def meta(pid, name, tid=None):
        kind = "process_name" if tid is None else "thread_name"
        return {"ph": "M", "pid": pid, "name": kind, "args": {"name": name}} | (
            {} if tid is None else {"tid": tid}
        )

    def op(pid, tid, name, ts, dur):
        return {"ph": "X", "pid": pid, "tid": tid, "name": name, "ts": ts, "dur": dur}

    events = [
        meta(1, "/device:GPU:0"),
        meta(1, "Stream #13(Compute)", 10),
        meta(2, "/host:CPU"),
        meta(2, "tf_XLAEigen/123", 20),
        meta(2, "tf_XLAEigen/-456", 21),
        op(1, 10, "A", 0, 10),
        op(1, 10, "A", 20, 10),
        op(1, 10, "B", 5, 10),  # overlaps the first A: busy 25 us of 30 summed
        op(2, 20, "fusion", 0, 4),
        op(2, 21, "fusion", 0, 4),  # another thread of the same pool: one lane
    ]
    lanes = {r["lane"]: r for r in summarize(events, num_steps=2)["lanes"]}
    assert set(lanes) == {"/device:GPU:0 Stream #13(Compute)", "/host:CPU tf_XLAEigen"}
    gpu = lanes["/device:GPU:0 Stream #13(Compute)"]
    assert gpu["events_per_step"] == 1.5
    assert gpu["sum_ms_per_step"] == pytest.approx(0.015) and gpu["busy_ms_per_step"] == pytest.approx(0.0125)
    assert [(o["name"], o["count_per_step"], o["mean_us"]) for o in gpu["ops"]] == [
        ("A", 1.0, 10.0),
        ("B", 0.5, 10.0),
    ]
    cpu = lanes["/host:CPU tf_XLAEigen"]
    assert cpu["sum_ms_per_step"] == pytest.approx(0.004) and cpu["busy_ms_per_step"] == pytest.approx(0.002)
    text = format_summary(summarize(events, num_steps=2), wall_ms_per_step=0.02, lanes=1)
    assert "50000.0 steps/s" in text and "top ops of /device:GPU:0 Stream #13(Compute)" in text
