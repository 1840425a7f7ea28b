r"""Steps/s of the paper's MNIST training step: gan_jax (jitted single step and lax.scan-fused steps) vs
the PyTorch eager reference (benchmarks/torch_reference.py), in one process on one device.

All runs train the paper model (experiments/configs/paper_mnist.py) on the same random 50,000 x 784
float32 images in [0, 1): the step cost does not depend on the pixel values, so real MNIST is not
needed. Each step draws its own minibatch from the on-device image array, as in training.

Per implementation: compile time (JAX: ``lower`` + ``compile`` of the jitted function, then the first
call of the compiled executable) and a warm-up; then ``--windows`` rounds in which each implementation
in turn runs one timed window of about ``--window_steps`` steps, the device synchronised at the window's
end (``block_until_ready`` / ``torch.cuda.synchronize``). Interleaving makes a drift in background load
(a shared CPU) hit all implementations alike. steps/s is the median over an implementation's windows;
"vs torch" the ratio of the medians, "paired" the median of the window-by-window ratios (steadier).

Run:
  python -m benchmarks.bench_steps                     # device: jax's default backend
  python -m benchmarks.bench_steps --device=cpu --steps_per_call=1,10,50 --window_steps=50
  python -m benchmarks.bench_steps --device=gpu --json_out=/tmp/bench_steps.json
"""

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings

import jax
import numpy as np

from experiments.configs import paper_mnist
from gan_jax.game import steps
from gan_jax.game.state import create_train_state, make_setup
from gan_jax.training import jitting, precision

NUM_TRAIN, DIM = 50_000, 784
DEFAULTS = {  # device -> (steps_per_call, window_steps)
    "cpu": ("1,10,50", 50),
    "gpu": ("1,10,100,500", 1000),
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=("cpu", "gpu"), default=None, help="default: jax's default backend")
    p.add_argument("--update", choices=steps.UPDATES, default="simultaneous")
    p.add_argument("--steps_per_call", default=None, help="comma-separated N of the fused JAX step")
    p.add_argument("--unroll", default="1", help="comma-separated scan unroll of the fused steps (N > 1)")
    p.add_argument("--dtypes", default="float32", help="comma-separated config.model.dtype of the JAX step")
    p.add_argument(
        "--xla_options",
        default="",
        help="JSON object {name: {XLA option: value}}: each JAX variant is also timed compiled with each "
        "named set of options (jax.jit's compiler_options), beside XLA's defaults",
    )
    p.add_argument("--windows", type=int, default=5)
    p.add_argument("--window_steps", type=int, default=None, help="steps per timed window (rounded up to N)")
    p.add_argument("--warmup_steps", type=int, default=10, help="untimed steps after the first call")
    p.add_argument("--jax", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--torch", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument(
        "--torch_threads",
        type=int,
        default=0,
        help="torch CPU threads (0: torch's default). On a CPU shared with other jobs, OpenMP's "
        "barriers make 2 threads far slower than 1 whenever a team thread is descheduled",
    )
    p.add_argument(
        "--tf32",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="allow TF32 float32 matmuls in torch (what JAX's default precision does on NVIDIA GPUs)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json_out", default="")
    args = p.parse_args(argv)
    args.device = args.device or ("gpu" if jax.default_backend() in ("gpu", "cuda", "rocm") else "cpu")
    default_n, default_window = DEFAULTS[args.device]
    args.steps_per_call = [int(n) for n in (args.steps_per_call or default_n).split(",")]
    args.unroll = [int(u) for u in args.unroll.split(",")]
    args.dtypes = args.dtypes.split(",")
    try:
        named = json.loads(args.xla_options) if args.xla_options else {}
        if not isinstance(named, dict):
            raise ValueError("not a JSON object")
        args.xla_options = {k: steps.parse_xla_options(json.dumps(v), k) for k, v in named.items()}
    except ValueError as e:
        p.error(f"--xla_options must be a JSON object of {{name: {{option: value}}}}: {e}")
    args.window_steps = args.window_steps or default_window
    return args


def bench_config(update: str, dtype: str = "float32"):
    config = paper_mnist.get_config()
    config.update_scheme = update
    config.model.dtype = dtype
    return config


def random_images(seed: int) -> np.ndarray:
    """[50000, 784] float32 uniform in [0, 1): a stand-in for MNIST's training pixels."""
    return np.random.default_rng(seed).random((NUM_TRAIN, DIM), dtype=np.float32)


def machine_info(jax_device, torch_device) -> dict:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg_start": os.getloadavg(),
        "python": sys.version.split()[0],
        "jax": jax.__version__,
        "jax_device": f"{jax_device.platform}: {jax_device.device_kind}",
        "jax_matmul_precision": str(jax.config.jax_default_matmul_precision),
    }
    if torch_device is not None:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["torch_device"] = (
            torch.cuda.get_device_name(torch_device) if torch_device.type == "cuda" else "cpu"
        )
        info["torch_matmul_precision"] = torch.get_float32_matmul_precision()
    return info


def median_rate(times: list[float], steps_per_window: int) -> dict:
    """steps/s as the median over windows, with the spread."""
    rates = [steps_per_window / t for t in times]
    return {
        "steps_per_s": statistics.median(rates),
        "steps_per_s_min": min(rates),
        "steps_per_s_max": max(rates),
        "ms_per_step": 1e3 / statistics.median(rates),
    }


def prepare_jax(config, images, device, num_steps: int, args, unroll: int = 1, xla: tuple = ("", None)):
    """Compiles the jitted ``make_multi_step(step, num_steps, unroll)`` at ``config.matmul_precision``
    (state donated; ``xla`` = (name, compiler_options), ("", None) for XLA's defaults), makes the first
    call and the warm-up. Returns (row of compile times, window(): runs ~window_steps steps and syncs)."""
    with jax.default_device(device):
        setup = make_setup(config, NUM_TRAIN)
        state = create_train_state(config, setup, images.mean(axis=0), NUM_TRAIN)
    images_dev = jax.device_put(images, device)
    step = steps.make_step(config, setup, NUM_TRAIN)
    fn = jitting.jit_step(steps.make_multi_step(step, num_steps, unroll), compiler_options=xla[1])

    t0 = time.perf_counter()
    with precision.scope(config):  # traced at config.matmul_precision, as training traces it
        lowered = fn.lower(state, images_dev)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    state, metrics = jax.block_until_ready(compiled(state, images_dev))
    t3 = time.perf_counter()

    def run(calls: int) -> dict:
        nonlocal state, metrics
        for _ in range(calls):
            state, metrics = compiled(state, images_dev)
        return jax.block_until_ready(metrics)

    run(math.ceil(args.warmup_steps / num_steps))
    calls = math.ceil(args.window_steps / num_steps)
    label = "jax" if num_steps == 1 else "jax fused"
    label += f" u{unroll}" if num_steps > 1 and unroll > 1 else ""
    label += " bf16" if config.model.dtype == "bfloat16" else ""
    label += f" [{xla[0]}]" if xla[0] else ""
    row = {
        "impl": label,
        "unroll": unroll,
        "dtype": config.model.dtype,
        "matmul_precision": config.matmul_precision,
        "xla_options": xla[0],
        "steps_per_call": num_steps,
        "lower_s": t1 - t0,
        "compile_s": t2 - t1,
        "first_call_s": t3 - t2,
        "window_steps": calls * num_steps,
    }
    return row, lambda: run(calls)


def prepare_torch(config, images, device, jax_device, args):
    """The eager reference from the same initial parameters as gan_jax's state, after its first step
    and the warm-up. Returns (row, window())."""
    import torch

    from benchmarks import torch_reference as ref

    with jax.default_device(jax_device):
        setup = make_setup(config, NUM_TRAIN)
        init = create_train_state(config, setup, images.mean(axis=0), NUM_TRAIN)
    gan = ref.build(config, images, device, args.seed, g_params=init.g_params, d_params=init.d_params)
    step = ref.make_step(config)

    def run(n: int) -> dict:
        for _ in range(n):
            losses = step(gan)
        ref.synchronize(device)
        return losses

    t = time.perf_counter()
    run(1)
    first = time.perf_counter() - t
    run(args.warmup_steps)
    row = {
        "impl": "torch eager",
        "matmul_precision": torch.get_float32_matmul_precision(),
        "steps_per_call": 1,
        "lower_s": 0.0,
        "compile_s": 0.0,
        "first_call_s": first,
        "window_steps": args.window_steps,
    }
    return row, lambda: run(args.window_steps)


def time_interleaved(runners: list, windows: int) -> tuple[list[list[float]], list]:
    """Seconds per window for each runner and each runner's last output, the runners taking turns
    window by window so that a change in background load hits all of them alike."""
    times: list[list[float]] = [[] for _ in runners]
    last = [None] * len(runners)
    for _ in range(windows):
        for i, window in enumerate(runners):
            t = time.perf_counter()
            last[i] = window()
            times[i].append(time.perf_counter() - t)
    return times, last


def finish_row(row: dict, times: list[float], losses: dict) -> dict:
    return {
        **row,
        **median_rate(times, row["window_steps"]),
        "window_s": times,
        "d_loss": float(losses["d_loss"]),
        "g_loss": float(losses["g_loss"]),
    }


def add_paired_ratios(rows: list[dict]) -> list[dict]:
    """Each row's speed over torch's window by window (round w of both, run back to back, sees the same
    background load): ``vs_torch_paired`` the median of those ratios, with their min and max. On a
    shared CPU whose speed drifts this is steadier than the ratio of the two medians."""
    base = next((r for r in rows if r["impl"] == "torch eager"), None)
    if base is None:
        return rows
    torch_s = [t / base["window_steps"] for t in base["window_s"]]
    out = []
    for r in rows:
        ratios = [b / (t / r["window_steps"]) for t, b in zip(r["window_s"], torch_s, strict=True)]
        out.append(
            r
            | {
                "vs_torch_paired": statistics.median(ratios),
                "vs_torch_paired_min": min(ratios),
                "vs_torch_paired_max": max(ratios),
            }
        )
    return out


def format_table(rows: list[dict]) -> str:
    base = next((r["steps_per_s"] for r in rows if r["impl"] == "torch eager"), None)
    head = (
        f"{'impl':<26} {'N':>5} {'lower s':>8} {'compile s':>9} {'1st call s':>10} "
        f"{'steps/s':>9} {'[min, max]':>17} {'ms/step':>8} {'vs torch':>8} {'paired [min, max]':>23}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        ratio = f"{r['steps_per_s'] / base:.2f}x" if base else "-"
        paired = "-"
        if "vs_torch_paired" in r:
            low, high = r["vs_torch_paired_min"], r["vs_torch_paired_max"]
            paired = f"{r['vs_torch_paired']:.2f}x [{low:.2f}, {high:.2f}]"
        spread = f"[{r['steps_per_s_min']:.1f}, {r['steps_per_s_max']:.1f}]"
        lines.append(
            f"{r['impl']:<26} {r['steps_per_call']:>5} {r['lower_s']:>8.2f} {r['compile_s']:>9.2f} "
            f"{r['first_call_s']:>10.3f} {r['steps_per_s']:>9.1f} {spread:>17} {r['ms_per_step']:>8.2f} "
            f"{ratio:>8} {paired:>23}"
        )
    return "\n".join(lines)


def write_json(path: str, result: dict) -> None:
    """``result`` as indented JSON at ``path`` (nothing when ``path`` is empty), announced."""
    if path:
        with open(path, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {path}")


def main(argv=None) -> dict:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message=".*donated buffers.*")
    jax_device = jax.devices(args.device)[0]
    torch_device = None
    if args.torch:
        import torch

        torch_device = torch.device("cuda" if args.device == "gpu" else "cpu")
        if torch_device.type == "cuda" and not torch.cuda.is_available():
            print("torch has no CUDA here: skipping the torch reference", file=sys.stderr)
            torch_device = None
        torch.set_float32_matmul_precision("high" if args.tf32 else "highest")
        if args.torch_threads:
            torch.set_num_threads(args.torch_threads)
    info = machine_info(jax_device, torch_device)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    config = bench_config(args.update)
    images = random_images(args.seed)
    print(
        f"paper MNIST model, update={args.update}, batch={config.batch_size}, random {NUM_TRAIN}x{DIM} "
        f"images; median of {args.windows} windows of ~{args.window_steps} steps",
        flush=True,
    )
    prepared = []
    variants = [
        (n, u, dtype, xla)
        for n in args.steps_per_call
        for u in (args.unroll if n > 1 else [1])
        for dtype in args.dtypes
        for xla in [("", None), *args.xla_options.items()]
    ]
    for n, unroll, dtype, xla in variants if args.jax else ():
        variant = bench_config(args.update, dtype)
        try:
            prepared.append(prepare_jax(variant, images, jax_device, n, args, unroll, xla))
        except jax.errors.JaxRuntimeError as e:  # e.g. an XLA option this jaxlib does not know
            print(f"  skipped N={n} [{xla[0]}]: {str(e).splitlines()[0]}", flush=True)
            continue
        print(
            f"  {prepared[-1][0]['impl']} N={n}: compiled in {prepared[-1][0]['compile_s']:.1f} s", flush=True
        )
    if torch_device is not None:
        prepared.append(prepare_torch(config, images, torch_device, jax_device, args))
    times, losses = time_interleaved([window for _, window in prepared], args.windows)
    rows = add_paired_ratios(
        [finish_row(row, *tl) for (row, _), *tl in zip(prepared, times, losses, strict=True)]
    )
    info["loadavg_end"] = os.getloadavg()
    print(format_table(rows))
    print(f"load average at the end: {info['loadavg_end']}")
    result = {"machine": info, "args": vars(args), "results": rows}
    write_json(args.json_out, result)
    return result


if __name__ == "__main__":
    main()
