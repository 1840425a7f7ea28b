r"""Start-up of a command-line run, cold against warm: seconds from starting ``python launch.py`` to its
first training step (the console's ``step 1/1`` line) with JAX's persistent compilation cache empty
(cold: every program compiles) and filled by the run just before (warm: they load from disk;
gan_jax/training/compile_cache.py), side by side for each config.

Each repeat runs, per config, a cold run in a new empty cache directory and then a warm run on that
directory, each a new process and a new workdir, one training step (``--config.num_steps=1
--config.log_every=1 --config.eval_every=0``). One untimed run per config with the cache off comes first,
so that the first cold run does not also pay for reading Python's packages and the data from disk.
Besides the wall seconds to the first step and to the exit, each run's CPU seconds (user + system, the
kernel's accounting of the finished child) are recorded: a shared machine's other jobs stretch wall time
more than CPU time. The cache is used with launch.py's own settings (programs compiling in under
``compile_cache.MIN_COMPILE_S`` are not stored).

Run (from the repository root):
  nice python -m benchmarks.bench_startup --repeats=3 --json_out=/tmp/bench_startup.json
"""

import argparse
import importlib.metadata
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {  # name -> config file, relative to the repository's root
    "paper": "experiments/configs/paper_mnist.py",
    "dcgan28": "experiments/configs/dcgan_mnist.py",
}
ONE_STEP = ("--config.num_steps=1", "--config.log_every=1", "--config.eval_every=0")
FIRST_STEP = re.compile(r"^step 1/\d+ ")


class StartupError(RuntimeError):
    """A launched run that failed or never logged its first step; the message is one line."""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, of: {', '.join(CONFIGS)}")
    p.add_argument("--repeats", type=int, default=3, help="cold/warm pairs per config")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds one run may take")
    p.add_argument("--note", default="", help="what else the machine was doing, kept in the record")
    p.add_argument("--json_out", default="")
    args = p.parse_args(argv)
    args.configs = args.configs.split(",")
    unknown = [c for c in args.configs if c not in CONFIGS]
    if unknown or args.repeats < 1:
        p.error(
            f"unknown --configs {unknown} (choose from {', '.join(CONFIGS)})" if unknown else "--repeats < 1"
        )
    return args


def time_run(cmd: list[str], env: dict, timeout: float) -> dict:
    """Runs ``cmd`` (from the repository's root) to its exit: wall seconds to its first-step line
    and to its exit, and its CPU seconds. StartupError if it fails or logs no first step."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    first, tail = None, []
    with subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            for line in proc.stdout:
                if first is None and FIRST_STEP.match(line):
                    first = time.perf_counter() - start
                tail = (tail + [line.rstrip()])[-3:]
            code = proc.wait()
        finally:
            timer.cancel()
    total = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0 or first is None:
        said = " | ".join(tail) or "nothing"
        raise StartupError(f"{' '.join(cmd[1:3])}: exit {code}, no first step logged; it said: {said}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"first_step_s": first, "total_s": total, "cpu_s": cpu}


def cache_size(directory: str) -> tuple[int, float]:
    """(files, MB) under ``directory``."""
    sizes = [os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(directory) for f in files]
    return len(sizes), sum(sizes) / 1e6


def launch(name: str, workdir: str, cache: str, args) -> dict:
    """One timed ``launch.py`` run of config ``name`` in ``workdir`` with the cache in ``cache`` ('' off),
    with the matmul precision it ran at (its config.json's)."""
    cmd = [sys.executable, "launch.py", f"--config={CONFIGS[name]}", f"--workdir={workdir}"]
    cmd += [f"--compilation_cache={cache}", *ONE_STEP]
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    row = time_run(cmd, env | {"PYTHONUNBUFFERED": "1"}, args.timeout)
    with open(os.path.join(workdir, "config.json")) as f:
        row["matmul_precision"] = json.load(f)["matmul_precision"]
    return row


def run_pairs(args, scratch: str) -> list[dict]:
    """The untimed first runs, then per repeat and config a cold run and a warm one on its cache."""
    for name in args.configs:
        launch(name, os.path.join(scratch, f"first_{name}"), "", args)
    rows = []
    for repeat in range(args.repeats):
        for name in args.configs:
            cache = os.path.join(scratch, f"xla_{name}_{repeat}")
            for kind in ("cold", "warm"):
                row = launch(name, os.path.join(scratch, f"{name}_{repeat}_{kind}"), cache, args)
                entries, mb = cache_size(cache)
                rows.append({"config": name, "repeat": repeat, "cache": kind, **row})
                rows[-1] |= {"cache_entries": entries, "cache_mb": mb}
                print(
                    f"{name:>8} {repeat} {kind}: first step {row['first_step_s']:6.2f} s, exit "
                    f"{row['total_s']:6.2f} s, CPU {row['cpu_s']:6.2f} s, cache {entries} files {mb:.1f} MB",
                    flush=True,
                )
    return rows


def machine_info() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "jax": importlib.metadata.version("jax"),
        "jaxlib": importlib.metadata.version("jaxlib"),
        "loadavg_start": os.getloadavg(),
    }


def main(argv=None) -> dict:
    args = parse_args(argv)
    info = machine_info()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    scratch = tempfile.mkdtemp(prefix="gan_jax_bench_startup_")
    try:
        rows = run_pairs(args, scratch)
    except StartupError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    info["loadavg_end"] = os.getloadavg()
    print(f"load average at the start {info['loadavg_start']}, at the end {info['loadavg_end']}")
    record = {"machine": info, "note": args.note, "args": vars(args), "one_step": list(ONE_STEP)}
    record["results"] = rows
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(record, f, indent=2)
        print(f"wrote {args.json_out}")
    return record


if __name__ == "__main__":
    main()
