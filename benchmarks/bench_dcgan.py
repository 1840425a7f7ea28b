r"""Steps/s of the DCGAN-28 MNIST step (experiments/configs/dcgan_mnist.py: batch 64, alternating, Adam):
gan_jax's canonical-layout convolution gradients (``model.conv_impl='canonical'``,
gan_jax/networks/convolution.py) against lax's own autodiff of the same convolutions (``'lax'``, what gan_jax
ran before), ``num_replicas`` seeds looped or vmapped, and the PyTorch eager model of
benchmarks/torch_dcgan.py (``--torch``; torch is the optional ``bench`` extra), side by side in one process.

Run:
  python -m benchmarks.bench_dcgan --steps_per_call=1,5 --replicas=3 --windows=3

Images are random [5000, 784] in [0, 1) (a step's cost does not depend on the pixels). Every variant
is compiled and called once, then the variants take turns: ``--windows`` rounds, each variant one
timed call of ``steps_per_call`` steps per round; steps/s is the median over its windows, model-steps/s
that times the replicas. Compile time is the first call's.
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

from experiments.configs import dcgan_mnist  # noqa: E402
from gan_jax.game.state import create_state, make_setup  # noqa: E402
from gan_jax.training import jitting, precision  # noqa: E402

_PER_CALL = flags.DEFINE_list(
    "steps_per_call", ["1", "5"], "Steps fused in one dispatch (lax.scan when > 1)."
)
_REPLICAS = flags.DEFINE_integer("replicas", 3, "Replica count of the loop/vmap variants (0: none).")
_WINDOWS = flags.DEFINE_integer("windows", 3, "Timed rounds; the median is reported.")
_NUM_TRAIN = flags.DEFINE_integer("num_train", 5_000, "Rows of the random image set.")
_JSON = flags.DEFINE_string("json_out", None, "Also write the results here.")
_TORCH = flags.DEFINE_bool("torch", True, "Also time the PyTorch eager reference (one step per call).")
_TORCH_THREADS = flags.DEFINE_integer("torch_threads", 0, "torch CPU threads (0: torch's default).")


def variants(per_call: list[int], replicas: int) -> list[dict]:
    """(label, conv_impl, replicas, replica_mode, steps per call) of every timed variant."""
    out = []
    for n in per_call:
        out += [
            dict(conv_impl=impl, replicas=1, replica_mode="vmap", steps_per_call=n)
            for impl in ("canonical", "lax")
        ]
    if replicas > 1:
        n = max(per_call)
        out += [
            dict(conv_impl="canonical", replicas=replicas, replica_mode=m, steps_per_call=n)
            for m in ("loop", "vmap")
        ]
    if _TORCH.value:
        out.append(dict(conv_impl="torch eager", replicas=1, replica_mode="-", steps_per_call=max(per_call)))
    return out


def build_torch(images, steps: int):
    """(call, first-call seconds, torch's float32 matmul precision) of the PyTorch eager reference:
    ``call()`` runs ``steps`` steps."""
    import torch

    from benchmarks import torch_dcgan

    if _TORCH_THREADS.value:
        torch.set_num_threads(_TORCH_THREADS.value)
    device = "cuda" if jax.default_backend() == "gpu" else "cpu"  # the device JAX runs on
    gan = torch_dcgan.TorchDCGAN(np.asarray(images), device=device)

    def call():
        for _ in range(steps):
            metrics = torch_dcgan.step(gan)
        return {"d_loss": metrics["d_loss"].cpu().numpy()}  # .cpu() waits for the device

    start = time.perf_counter()
    metrics = call()
    assert np.isfinite(metrics["d_loss"]).all()
    return call, time.perf_counter() - start, torch.get_float32_matmul_precision()


def build(variant: dict, images):
    """(call, first-call seconds, matmul precision): ``call()`` runs one window of the variant's steps,
    traced and run at the config's ``matmul_precision`` (outside it jit would trace anew)."""
    if variant["conv_impl"] == "torch eager":
        return build_torch(images, variant["steps_per_call"])
    config = dcgan_mnist.get_config()
    config.model.conv_impl, config.num_replicas = variant["conv_impl"], variant["replicas"]
    config.replica_mode = variant["replica_mode"]
    setup = make_setup(config, len(images))
    holder = {"state": create_state(config, setup, np.asarray(images).mean(axis=0), len(images))}
    train_step, n = jitting.make_train_step(config, setup, len(images)), variant["steps_per_call"]

    def call():
        with precision.scope(config):
            holder["state"], metrics = train_step(holder["state"], images, n)
        jax.block_until_ready((holder["state"], metrics))
        return metrics

    start = time.perf_counter()
    metrics = call()
    assert np.isfinite(np.asarray(metrics["d_loss"])).all()
    return call, time.perf_counter() - start, config.matmul_precision


def main(argv):
    del argv
    images = jax.device_put(np.random.default_rng(0).uniform(size=(_NUM_TRAIN.value, 784)).astype(np.float32))
    device = jax.devices()[0]
    where = f"{platform.node()} {device.platform} {device.device_kind}"
    print(f"{where}, jax {jax.__version__}, {os.cpu_count()} CPUs")
    runs = []
    for v in variants([int(n) for n in _PER_CALL.value], _REPLICAS.value):
        call, first, matmul_precision = build(v, images)
        runs.append((v | {"matmul_precision": matmul_precision}, call, first, []))
    for _ in range(_WINDOWS.value):
        for v, call, _, rates in runs:
            start = time.perf_counter()
            call()
            rates.append(v["steps_per_call"] / (time.perf_counter() - start))
    results = []
    print(
        f"{'conv_impl':>11} {'replicas':>8} {'mode':>5} {'N':>3} {'first call s':>12} {'steps/s':>8} "
        f"{'model-steps/s':>13}"
    )
    for v, _, first, rates in runs:
        rate = statistics.median(rates)
        results.append(
            v | {"first_call_s": first, "steps_per_s": rate, "model_steps_per_s": rate * v["replicas"]}
        )
        mode = v["replica_mode"] if v["replicas"] > 1 else "-"
        print(
            f"{v['conv_impl']:>11} {v['replicas']:>8} {mode:>5} {v['steps_per_call']:>3} {first:>12.1f} "
            f"{rate:>8.2f} {rate * v['replicas']:>13.2f}"
        )
    if _JSON.value:
        with open(_JSON.value, "w") as f:
            json.dump({"device": device.device_kind, "results": results}, f, indent=2)


if __name__ == "__main__":
    app.run(main)
