r"""Where a fused training step's time goes, op by op: a profiler trace of a few calls of the jitted
step (``train.make_train_step``, any config), summarised per lane and per op name.

A lane is a process and thread of the trace with the thread's numeric suffix dropped: on a GPU the
device's lanes (``/device:GPU:0 Stream #...``: its kernels and copies; ``XLA Ops``: the same work by HLO
name) say how much of the wall time the GPU computes and how many kernels a step launches; a step
of many short kernels with the device idle between them is bound by their launch, not by their
arithmetic. On the CPU the thunks of XLA's executor are traced (this compilation gets
``xla_cpu_enable_xprof_traceme``) on the executor's threads; concurrent thunks overlap, so a lane's
summed time can exceed its busy (union) time.

  python -m benchmarks.profile_trace --steps_per_call=10 --calls=3            # paper model, CPU
  python -m benchmarks.profile_trace --steps_per_call=500 --calls=3 --json_out=/tmp/trace.json  # GPU
  python -m benchmarks.profile_trace --config=dcgan_mnist --steps_per_call=5 --calls=2
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

from gan_jax import train
from gan_jax.state import create_state, make_setup


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


def union_length(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of [start, end) intervals."""
    total, end = 0.0, -np.inf
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def summarize(events: list[dict], num_steps: int, top: int = 15) -> dict:
    """Per lane: complete events per step, their summed and their union (busy) ms per step, and the ``top``
    op names by summed time (count and ms per step, mean µs). Event times are in µs."""
    lanes = lane_names(events)
    by_lane = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X":
            by_lane[lanes.get((e["pid"], e.get("tid")), f"{e['pid']} {e.get('tid')}")].append(e)
    out = []
    for lane, evs in by_lane.items():
        per_op = collections.defaultdict(lambda: [0, 0.0])
        for e in evs:
            per_op[e["name"]][0] += 1
            per_op[e["name"]][1] += e["dur"]
        ops = sorted(per_op.items(), key=lambda kv: -kv[1][1])[:top]
        out.append(
            {
                "lane": lane,
                "events_per_step": len(evs) / num_steps,
                "sum_ms_per_step": sum(e["dur"] for e in evs) / 1e3 / num_steps,
                "busy_ms_per_step": union_length([(e["ts"], e["ts"] + e["dur"]) for e in evs])
                / 1e3
                / num_steps,
                "ops": [
                    {
                        "name": n,
                        "count_per_step": c / num_steps,
                        "ms_per_step": t / 1e3 / num_steps,
                        "mean_us": t / c,
                    }
                    for n, (c, t) in ops
                ],
            }
        )
    return {"num_steps": num_steps, "lanes": sorted(out, key=lambda r: -r["sum_ms_per_step"])}


def format_summary(summary: dict, wall_ms_per_step: float, lanes: int) -> str:
    rate = 1e3 / wall_ms_per_step
    lines = [f"wall {wall_ms_per_step:.4f} ms/step over {summary['num_steps']} steps ({rate:.1f} steps/s)"]
    lines.append(f"{'lane':<60} {'events/step':>11} {'sum ms/step':>11} {'busy ms/step':>12}")
    for r in summary["lanes"]:
        lines.append(
            f"{r['lane'][:60]:<60} {r['events_per_step']:>11.1f} {r['sum_ms_per_step']:>11.4f} "
            f"{r['busy_ms_per_step']:>12.4f}"
        )
    for r in summary["lanes"][:lanes]:
        lines.append(f"\ntop ops of {r['lane']}:")
        lines.append(f"  {'count/step':>10} {'ms/step':>9} {'mean us':>9}  name")
        for op in r["ops"]:
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
    p.add_argument("--calls", type=int, default=3, help="traced calls, after two untraced ones")
    p.add_argument("--num_train", type=int, default=50_000, help="rows of the random image set")
    p.add_argument("--xla_options", default="", help="JSON object of XLA options for the step's compilation")
    p.add_argument("--top", type=int, default=15, help="ops listed per lane")
    p.add_argument("--lanes", type=int, default=3, help="lanes whose top ops are listed (by summed time)")
    p.add_argument("--trace_dir", default="", help="default: a temporary directory")
    p.add_argument("--json_out", default="")
    args = p.parse_args(argv)

    config = importlib.import_module(f"experiments.configs.{args.config}").get_config()
    config.num_replicas = args.num_replicas
    options = json.loads(args.xla_options) if args.xla_options else {}
    if jax.default_backend() == "cpu":
        options.setdefault("xla_cpu_enable_xprof_traceme", True)
    shape = (args.num_train, config.model.data_dim)
    images = jax.device_put(np.random.default_rng(0).random(shape, dtype=np.float32))
    setup = make_setup(config, args.num_train)
    state = create_state(config, setup, np.asarray(images).mean(axis=0), args.num_train, jit=True)
    train_step = train.make_train_step(config, setup, args.num_train, compiler_options=options)
    n = args.steps_per_call
    for _ in range(2):
        state, metrics = train_step(state, images, n)
    jax.block_until_ready((state, metrics))

    trace_dir = args.trace_dir or tempfile.mkdtemp(prefix="gan_jax_trace_")
    profile = jax.profiler.ProfileOptions()
    profile.python_tracer_level = 0
    with jax.profiler.trace(trace_dir, create_perfetto_trace=True, profiler_options=profile):
        start = time.perf_counter()
        for _ in range(args.calls):
            state, metrics = train_step(state, images, n)
        jax.block_until_ready((state, metrics))
        wall = time.perf_counter() - start
    total = args.calls * n
    summary = summarize(read_trace(trace_dir), total, args.top)
    wall_ms = wall * 1e3 / total
    device = jax.devices()[0]
    print(
        f"{args.config}, {args.num_replicas} replica(s), {args.calls} calls of {n} steps on "
        f"{device.platform} {device.device_kind}, jax {jax.__version__}, options {options}; "
        f"trace in {trace_dir}"
    )
    print(format_summary(summary, wall_ms, args.lanes))
    result = {"args": vars(args), "device": device.device_kind, "wall_ms_per_step": wall_ms, **summary}
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {args.json_out}")
    return result


if __name__ == "__main__":
    main()
