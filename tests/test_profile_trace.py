"""benchmarks/profile_trace.py's arithmetic on a hand-made trace: lanes, self times, per-op and per-kind
sums, busy (union) time."""

import pytest

from benchmarks.profile_trace import format_summary, self_times, summarize, union_length


def meta(pid, name, tid=None):
    kind = "process_name" if tid is None else "thread_name"
    return {"ph": "M", "pid": pid, "name": kind, "args": {"name": name}} | (
        {} if tid is None else {"tid": tid}
    )


def op(pid, tid, name, ts, dur):
    return {"ph": "X", "pid": pid, "tid": tid, "name": name, "ts": ts, "dur": dur}


EVENTS = [
    meta(1, "/device:GPU:0"),
    meta(1, "Stream #13(Compute)", 10),
    meta(2, "/host:CPU"),
    meta(2, "tf_XLAEigen/123", 20),
    meta(2, "tf_XLAEigen/-456", 21),
    op(1, 10, "fusion.1", 0, 10),
    op(1, 10, "fusion.1", 20, 10),
    op(1, 10, "gemm.2", 5, 10),  # overlaps the first fusion.1: busy 25 us of 30 summed
    op(2, 20, "ThunkExecutor::Execute", 0, 100),  # a wrapper around the next two: self time 20
    op(2, 20, "dot.3", 0, 40),
    op(2, 20, "add.4", 50, 40),
    op(2, 21, "dot.3", 0, 40),  # another thread of the same pool: the same lane
    op(3, 30, "unnamed", 0, 8),  # a thread with no name: a lane of its own
    {"ph": "C", "pid": 1, "name": "counter", "ts": 0, "args": {"v": 1}},  # not a complete event
    {"ph": "i", "pid": 1, "tid": 10, "name": "instant", "ts": 3},
]


def test_union_length_counts_overlaps_once():
    assert union_length([(0, 10), (2, 5), (20, 30), (25, 35)]) == 25
    assert union_length([]) == 0


def test_self_time_is_the_duration_less_the_direct_children():
    nested = [
        op(0, 0, "outer", 0, 10),
        op(0, 0, "mid", 1, 5),
        op(0, 0, "inner", 2, 1),
        op(0, 0, "end: inner", 3, 0.5),  # a marker after its op, inside mid
        op(0, 0, "next", 10, 2),  # starts as outer ends: not inside it
    ]
    assert {e["name"]: t for e, t in self_times(nested)} == {
        "outer": 5,
        "mid": 3.5,
        "inner": 1,
        "end: inner": 0.5,
        "next": 2,
    }


def test_summary_per_lane_op_and_kind():
    summary = summarize(EVENTS, num_steps=2)
    lanes = {r["lane"]: r for r in summary["lanes"]}
    assert [r["lane"] for r in summary["lanes"]] == [  # the device first, then by busy time
        "/device:GPU:0 Stream #13(Compute)",
        "/host:CPU tf_XLAEigen",
        "3 30",
    ]
    gpu = lanes["/device:GPU:0 Stream #13(Compute)"]
    assert gpu["events_per_step"] == 1.5
    assert gpu["sum_ms_per_step"] == pytest.approx(0.015) and gpu["busy_ms_per_step"] == pytest.approx(0.0125)
    assert [(o["name"], o["count_per_step"], o["mean_us"]) for o in gpu["ops"]] == [
        ("fusion.1", 1.0, 10.0),
        ("gemm.2", 0.5, 10.0),
    ]
    cpu = lanes["/host:CPU tf_XLAEigen"]
    assert cpu["events_per_step"] == 2.0
    # self times: wrapper 20, dot 40 + 40 (two threads), add 40; busy: the union [0, 100)
    assert cpu["sum_ms_per_step"] == pytest.approx(0.07) and cpu["busy_ms_per_step"] == pytest.approx(0.05)
    assert [(k["name"], k["count_per_step"], k["ms_per_step"]) for k in cpu["kinds"]] == [
        ("dot", 1.0, pytest.approx(0.04)),
        ("add", 0.5, pytest.approx(0.02)),
        ("ThunkExecutor::Execute", 0.5, pytest.approx(0.01)),
    ]
    text = format_summary(summary, wall_ms_per_step=0.02, lanes=1, traced_ms_per_step=0.03)
    assert "(50000.0 steps/s)" in text and "traced:   0.0300 ms/step" in text
    assert "top kinds of /device:GPU:0 Stream #13(Compute)" in text and "tf_XLAEigen:" not in text
