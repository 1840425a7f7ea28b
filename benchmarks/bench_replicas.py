r"""Seeds in parallel: aggregate model-steps/s of R replicas trained in one program (jax.vmap over the
train state, ``config.num_replicas``) against one replica, the paper's MNIST model, fused steps.

Run:
  python benchmarks/bench_replicas.py --replicas=1,2,8 --steps_per_call=100 --json_out=/tmp/rep.json

Images are random [50000, 784] in [0, 1) (the step's cost does not depend on the pixels). Each
number is the median over ``--windows`` timed windows of ``steps_per_call`` steps after one
compiling call; the first call's time is reported apart, and compile time as the first call less
one timed call (the median window).
"""

import json
import os
import platform
import statistics
import sys
import time

import jax
import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from experiments.configs import paper_mnist  # noqa: E402
from gan_jax.game import steps
from gan_jax.game.state import create_state, make_setup  # noqa: E402
from gan_jax.training import jitting, precision  # noqa: E402

_REPLICAS = flags.DEFINE_list("replicas", ["1", "8"], "Replica counts to time.")
_PER_CALL = flags.DEFINE_integer("steps_per_call", 100, "Steps fused in one dispatch.")
_WINDOWS = flags.DEFINE_integer("windows", 5, "Timed windows (one call each); the median is reported.")
_UPDATE = flags.DEFINE_enum("update", "simultaneous", ["simultaneous", "alternating"], "Update scheme.")
_NUM_TRAIN = flags.DEFINE_integer("num_train", 50_000, "Rows of the random image set.")
_UNROLL = flags.DEFINE_list("scan_unroll", ["1"], "config.scan_unroll values to time (steps per loop body).")
_XLA = flags.DEFINE_string("xla_options", "", "JSON object of XLA options for the step's compilation.")
_JSON = flags.DEFINE_string("json_out", None, "Also write the results here.")


def time_replicas(
    replicas: int, images, per_call: int, windows: int, unroll: int = 1, options: dict | None = None
) -> dict:
    """Compile seconds and the median steps/s (one replica's steps) of ``replicas`` seeds in one program,
    traced and run at the config's ``matmul_precision``."""
    config = paper_mnist.get_config()
    config.update_scheme, config.num_replicas = _UPDATE.value, replicas
    config.scan_unroll = unroll
    with precision.scope(config):  # every call inside: outside it jit would trace anew
        row = _time_steps(config, images, per_call, windows, options)
    return {"replicas": replicas, "scan_unroll": unroll, "matmul_precision": config.matmul_precision} | row


def _time_steps(config, images, per_call: int, windows: int, options: dict | None) -> dict:
    """The first call's seconds, then the median of ``windows`` timed calls of ``per_call`` steps."""
    setup = make_setup(config, len(images))
    state = create_state(config, setup, np.asarray(images).mean(axis=0), len(images))
    train_step = jitting.make_train_step(config, setup, len(images), compiler_options=options)
    start = time.perf_counter()
    state, metrics = train_step(state, images, per_call)
    jax.block_until_ready((state, metrics))
    compile_s = time.perf_counter() - start
    rates = []
    for _ in range(windows):
        start = time.perf_counter()
        state, metrics = train_step(state, images, per_call)
        jax.block_until_ready((state, metrics))
        rates.append(per_call / (time.perf_counter() - start))
    rate = statistics.median(rates)
    replicas = config.num_replicas
    return {
        "first_call_s": compile_s,
        "compile_s": max(0.0, compile_s - per_call / rate),  # the first call less one median window
        "steps_per_s": rate,
        "model_steps_per_s": rate * replicas,
        "finite": bool(np.isfinite(np.asarray(metrics["d_loss"])).all()),
    }


def main(argv):
    del argv
    images = jax.device_put(np.random.default_rng(0).uniform(size=(_NUM_TRAIN.value, 784)).astype(np.float32))
    device = jax.devices()[0]
    print(
        f"{platform.node()} {device.platform} {device.device_kind} x{jax.device_count()}, "
        f"jax {jax.__version__}, {os.cpu_count()} CPUs"
    )
    print(
        f"update={_UPDATE.value} steps_per_call={_PER_CALL.value} windows={_WINDOWS.value} "
        f"xla_options={_XLA.value or '{}'}"
    )
    options = steps.parse_xla_options(_XLA.value, "--xla_options")
    results = [
        time_replicas(int(r), images, _PER_CALL.value, _WINDOWS.value, int(u), options)
        for u in _UNROLL.value
        for r in _REPLICAS.value
    ]
    base = results[0]["model_steps_per_s"]
    print(
        f"{'replicas':>8} {'unroll':>6} {'first call s':>12} {'compile s':>9} {'steps/s':>10} "
        f"{'model-steps/s':>14} {'vs first':>9}"
    )
    for r in results:
        r["speedup_vs_first"] = r["model_steps_per_s"] / base
        print(
            f"{r['replicas']:>8} {r['scan_unroll']:>6} {r['first_call_s']:>12.1f} {r['compile_s']:>9.1f} "
            f"{r['steps_per_s']:>10.1f} "
            f"{r['model_steps_per_s']:>14.1f} {r['speedup_vs_first']:>8.2f}x"
        )
    if _JSON.value:
        with open(_JSON.value, "w") as f:
            json.dump(
                {
                    "device": device.device_kind,
                    "update": _UPDATE.value,
                    "xla_options": options,
                    "results": results,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    app.run(main)
