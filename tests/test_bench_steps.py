"""The benchmark's arithmetic (not its timings): window-by-window ratios against torch."""

import pytest

from benchmarks.bench_steps import add_paired_ratios, format_table


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
