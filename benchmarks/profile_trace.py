r"""Where a fused training step's time goes, op by op: a profiler trace of the jitted step
(``jitting.make_train_step``, any config), summarised per lane, per op name and per op kind.

A lane is a process and thread of the trace with the thread's numeric suffix dropped; each event
counts its self time (less the events nested in it: a runtime wrapper keeps only its own overhead,
the work inside it counts once). On a GPU
the device's lanes (``/device:GPU:0 Stream #...``: its kernels and copies; ``XLA Ops``: the same work
by HLO name) say how much of the wall time the GPU computes and how many kernels a step launches; a
step of many short kernels with the device idle between them is bound by their launch, not by their
arithmetic. Command buffers (CUDA graphs) stay on while tracing
(``xla_enable_command_buffers_during_profiling``; XLA otherwise runs them kernel by kernel). On the
CPU the thunks of XLA's executor are traced (``xla_cpu_enable_xprof_traceme``) on its worker threads;
concurrent thunks overlap, so a lane's summed self time can exceed its busy (union) time. Both options
are given to this compilation alone. The step's speed is timed untraced too (tracing slows it).

  python -m benchmarks.profile_trace --steps_per_call=10 --calls=2            # paper model, CPU
  python -m benchmarks.profile_trace --steps_per_call=500 --json_out=/tmp/trace.json   # GPU
  python -m benchmarks.profile_trace --config=dcgan_mnist --steps_per_call=5
"""

import argparse
import collections
import glob
import gzip
import importlib
import json
import os
import re
import tempfile
import time

import jax
import numpy as np

from benchmarks.bench_steps import write_json
from gan_jax.game import steps
from gan_jax.game.state import create_state, make_setup
from gan_jax.training import jitting


def lane_names(events: list[dict]) -> dict:
    """(pid, tid) -> "process thread", the thread's trailing /<number> dropped (one lane per pool)."""
    processes = {
        e["pid"]: e["args"]["name"] for e in events if e.get("ph") == "M" and e["name"] == "process_name"
    }
    lanes = {}
    for e in events:
        if e.get("ph") == "M" and e["name"] == "thread_name":
            thread = re.sub(r"/-?\d+$", "", e["args"]["name"])
            lanes[(e["pid"], e["tid"])] = f"{processes.get(e['pid'], e['pid'])} {thread}"
    return lanes


def self_times(events: list[dict]) -> list[tuple[dict, float]]:
    """(event, self time) for the complete events of one thread: its duration less its direct
    children's, so a runtime wrapper (an executor's span around its thunks, a loop around its body)
    keeps only its own overhead and nested work is counted once."""
    ordered = sorted(events, key=lambda e: (e["ts"], -e["dur"]))
    inner = [0.0] * len(ordered)
    open_ends = []  # stack of (end, index) of the events still open
    for i, e in enumerate(ordered):
        while open_ends and open_ends[-1][0] <= e["ts"]:
            open_ends.pop()
        if open_ends and e["ts"] + e["dur"] <= open_ends[-1][0]:
            inner[open_ends[-1][1]] += e["dur"]  # e lies inside the innermost open event
        open_ends.append((e["ts"] + e["dur"], i))
    return [(e, max(e["dur"] - c, 0.0)) for e, c in zip(ordered, inner, strict=True)]


def union_length(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of [start, end) intervals."""
    total, end = 0.0, -np.inf
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def _table(pairs, num_steps: int, top: int) -> list[dict]:
    """Per name: count and (self) ms per step, mean µs; the ``top`` names by summed time."""
    per = collections.defaultdict(lambda: [0, 0.0])
    for name, dur in pairs:
        per[name][0] += 1
        per[name][1] += dur
    rows = sorted(per.items(), key=lambda kv: -kv[1][1])[:top]
    return [
        {"name": n, "count_per_step": c / num_steps, "ms_per_step": t / 1e3 / num_steps, "mean_us": t / c}
        for n, (c, t) in rows
    ]


def summarize(events: list[dict], num_steps: int, top: int = 15) -> dict:
    """Per lane (times in µs in, ms out): complete events per step, their summed self time
    (``self_times``) and their busy (union) time per step, and the ``top`` ops by self time, by name
    and by kind (the name without its trailing .<number>: ``fusion.12`` -> ``fusion``). Device lanes
    first, then by busy time."""
    lanes = lane_names(events)
    by_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            by_thread[(e["pid"], e.get("tid"))].append(e)
    by_lane = collections.defaultdict(list)
    for (pid, tid), evs in by_thread.items():
        by_lane[lanes.get((pid, tid), f"{pid} {tid}")] += self_times(evs)
    out = []
    for lane, timed in by_lane.items():
        out.append(
            {
                "lane": lane,
                "events_per_step": len(timed) / num_steps,
                "sum_ms_per_step": sum(t for _, t in timed) / 1e3 / num_steps,
                "busy_ms_per_step": union_length([(e["ts"], e["ts"] + e["dur"]) for e, _ in timed])
                / 1e3
                / num_steps,
                "ops": _table(((e["name"], t) for e, t in timed), num_steps, top),
                "kinds": _table(((re.sub(r"\.\d+$", "", e["name"]), t) for e, t in timed), num_steps, top),
            }
        )
    out.sort(key=lambda r: (not r["lane"].startswith("/device:"), -r["busy_ms_per_step"]))
    return {"num_steps": num_steps, "lanes": out}


def format_summary(
    summary: dict, wall_ms_per_step: float, lanes: int, traced_ms_per_step: float = 0.0
) -> str:
    rate = 1e3 / wall_ms_per_step
    lines = [f"untraced: {wall_ms_per_step:.4f} ms/step ({rate:.1f} steps/s)"]
    if traced_ms_per_step:
        lines.append(f"traced:   {traced_ms_per_step:.4f} ms/step over {summary['num_steps']} steps")
    lines.append(f"{'lane':<60} {'events/step':>11} {'self ms/step':>12} {'busy ms/step':>12}")
    for r in summary["lanes"]:
        lines.append(
            f"{r['lane'][:60]:<60} {r['events_per_step']:>11.1f} {r['sum_ms_per_step']:>12.4f} "
            f"{r['busy_ms_per_step']:>12.4f}"
        )
    for r in summary["lanes"][:lanes]:
        for key in ("kinds", "ops"):
            lines.append(f"\ntop {key} of {r['lane']}:")
            lines.append(f"  {'count/step':>10} {'ms/step':>9} {'mean us':>9}  name")
            for op in r[key]:
                counts = f"{op['count_per_step']:>10.2f} {op['ms_per_step']:>9.4f} {op['mean_us']:>9.1f}"
                lines.append(f"  {counts}  {op['name'][:100]}")
    return "\n".join(lines)


def read_trace(trace_dir: str) -> list[dict]:
    """The events of the newest perfetto trace (``*.trace.json.gz``) under ``trace_dir``."""
    files = glob.glob(os.path.join(trace_dir, "**", "*.trace.json.gz"), recursive=True)
    if not files:
        raise FileNotFoundError(f"no *.trace.json.gz under {trace_dir}")
    with gzip.open(max(files, key=os.path.getmtime)) as f:
        trace = json.load(f)
    return trace["traceEvents"] if isinstance(trace, dict) else trace


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="paper_mnist", help="a module of experiments/configs")
    p.add_argument("--num_replicas", type=int, default=1)
    p.add_argument("--steps_per_call", type=int, default=10)
    p.add_argument(
        "--calls", type=int, default=1, help="calls timed untraced, then traced (after two warm-ups)"
    )
    p.add_argument("--num_train", type=int, default=50_000, help="rows of the random image set")
    p.add_argument("--xla_options", default="", help="JSON object of XLA options for the step's compilation")
    p.add_argument("--top", type=int, default=15, help="ops (and kinds) listed per lane")
    p.add_argument("--lanes", type=int, default=2, help="lanes whose top ops are listed (device lanes first)")
    p.add_argument("--trace_dir", default="", help="default: a temporary directory")
    p.add_argument("--json_out", default="")
    args = p.parse_args(argv)

    config = importlib.import_module(f"experiments.configs.{args.config}").get_config()
    config.num_replicas = args.num_replicas
    options = steps.parse_xla_options(args.xla_options, "--xla_options")
    if jax.default_backend() == "cpu":
        options.setdefault("xla_cpu_enable_xprof_traceme", True)  # one trace event per thunk
    else:  # XLA runs command buffers (CUDA graphs) kernel by kernel while profiling unless told not to
        options.setdefault("xla_enable_command_buffers_during_profiling", True)
    shape = (args.num_train, config.model.data_dim)
    images = jax.device_put(np.random.default_rng(0).random(shape, dtype=np.float32))
    setup = make_setup(config, args.num_train)
    state = create_state(config, setup, np.asarray(images).mean(axis=0), args.num_train, jit=True)
    train_step = jitting.make_train_step(config, setup, args.num_train, compiler_options=options)
    n = args.steps_per_call

    def run() -> float:
        nonlocal state
        start = time.perf_counter()
        for _ in range(args.calls):
            state, metrics = train_step(state, images, n)
        jax.block_until_ready((state, metrics))
        return time.perf_counter() - start

    run(), run()  # compile and warm up
    untraced = run()
    trace_dir = args.trace_dir or tempfile.mkdtemp(prefix="gan_jax_trace_")
    profile = jax.profiler.ProfileOptions()
    profile.python_tracer_level = 0
    with jax.profiler.trace(trace_dir, create_perfetto_trace=True, profiler_options=profile):
        traced = run()
    total = args.calls * n
    summary = summarize(read_trace(trace_dir), total, args.top)
    wall_ms, traced_ms = untraced * 1e3 / total, traced * 1e3 / total
    device = jax.devices()[0]
    print(
        f"{args.config}, {args.num_replicas} replica(s), {args.calls} call(s) of {n} steps on "
        f"{device.platform} {device.device_kind}, jax {jax.__version__}, options {options}; "
        f"trace in {trace_dir}"
    )
    print(format_summary(summary, wall_ms, args.lanes, traced_ms))
    result = {
        "args": vars(args),
        "device": device.device_kind,
        "xla_options": options,
        "wall_ms_per_step": wall_ms,
        "traced_ms_per_step": traced_ms,
        **summary,
    }
    write_json(args.json_out, result)
    return result


if __name__ == "__main__":
    main()
