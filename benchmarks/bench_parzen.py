r"""Time gan_jax's jitted Parzen-window evaluation (gan_jax/metrics/sample_metrics.py) against a float64 numpy
implementation of the same estimator, at the paper's size: M = 10,000 samples, 10,000 test points and
1,000 validation points for the bandwidth search over the 10-sigma grid, d = 784.

    log p(x) = logsumexp_j(-||x - mu_j||^2 / (2 sigma^2)) - log M - d log(sigma sqrt(2 pi))

Random data in [0, 1) (the cost does not depend on the values). Reports seconds for a fixed sigma, for
the sigma selection and for the whole protocol (JAX: first call, compile included, and a second
call), and the differences between the two implementations.

Run:
  python -m benchmarks.bench_parzen                # paper size
  python -m benchmarks.bench_parzen --n=2000       # smaller
"""

import argparse
import json
import math
import os
import platform
import time

import jax
import numpy as np

from gan_jax.metrics import sample_metrics as sm
from gan_jax.training import precision


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=10_000, help="samples M and test points")
    p.add_argument("--n_valid", type=int, default=1_000)
    p.add_argument("--dim", type=int, default=784)
    p.add_argument("--sigma", type=float, default=0.2, help="the fixed bandwidth")
    p.add_argument("--batch_size", type=int, default=1000, help="test points per chunk (both)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--matmul_precision",
        choices=precision.PRECISIONS,
        default="default",
        help="float32 products of the JAX side (default: the backend's, as --mode=evaluate's metrics)",
    )
    p.add_argument("--skip_numpy", action="store_true")
    p.add_argument("--json_out", default="")
    return p.parse_args(argv)


def numpy_parzen(x: np.ndarray, samples: np.ndarray, sigmas, batch_size: int = 1000) -> np.ndarray:
    """[S, N] float64 log-likelihoods, chunked over x: ||x||^2 - 2 x.mu + ||mu||^2 (clipped at 0),
    then a max-subtracted log-sum-exp over the samples for each sigma."""
    mu = np.asarray(samples, np.float64)
    mu_sq = np.einsum("ij,ij->i", mu, mu)
    sigmas = np.asarray(sigmas, np.float64).reshape(-1)
    num, dim = mu.shape
    norm = math.log(num) + dim * np.log(sigmas * math.sqrt(2.0 * math.pi))
    out = np.empty((sigmas.size, len(x)))
    for start in range(0, len(x), batch_size):
        xc = np.asarray(x[start : start + batch_size], np.float64)
        sq = np.maximum(np.einsum("ij,ij->i", xc, xc)[:, None] - 2.0 * xc @ mu.T + mu_sq[None, :], 0.0)
        for i, s in enumerate(sigmas):
            a = sq * (-0.5 / (s * s))
            peak = a.max(axis=1)
            lse = peak + np.log(np.exp(a - peak[:, None]).sum(axis=1))
            out[i, start : start + batch_size] = lse - norm[i]
    return out


def numpy_parzen_evaluate(test_x, valid_x, samples, sigmas, batch_size: int = 1000) -> dict:
    """The paper's protocol in float64: sigma = argmax of the mean validation LL, then test mean/SE."""
    valid_mean = numpy_parzen(valid_x, samples, sigmas, batch_size).mean(axis=1)
    sigma = float(np.asarray(sigmas).reshape(-1)[np.argmax(valid_mean)])
    ll = numpy_parzen(test_x, samples, [sigma], batch_size)[0]
    return {
        "parzen_ll": float(ll.mean()),
        "parzen_se": float(ll.std() / math.sqrt(ll.size)),
        "parzen_sigma": sigma,
        "valid_mean_ll": valid_mean,
    }


def timed(fn, *args, **kwargs):
    """(result, seconds); results are host numpy arrays/floats, so the device work is done."""
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def time_jax(test, valid, samples, sigma: float, bs: int) -> tuple[dict, dict]:
    """gan_jax's Parzen functions, each called twice (the first call compiles). (times, results)."""
    times, res = {}, {}
    fixed = (sm.parzen_log_likelihood, test, samples, sigma)
    res["fixed"], times["jax_fixed_first"] = timed(*fixed, batch_size=bs)
    _, times["jax_fixed"] = timed(*fixed, batch_size=bs)
    select = (sm.select_sigma, valid, samples, sm.PAPER_SIGMAS)
    (_, res["valid_mean"]), times["jax_select_first"] = timed(*select, batch_size=bs)
    _, times["jax_select"] = timed(*select, batch_size=bs)
    res["evaluate"], times["jax_evaluate"] = timed(
        sm.parzen_evaluate, test, valid, samples, sm.PAPER_SIGMAS, batch_size=bs
    )
    return times, res


def time_numpy(test, valid, samples, sigma: float, bs: int) -> tuple[dict, dict]:
    times, res = {}, {}
    ll, times["numpy_fixed"] = timed(numpy_parzen, test, samples, [sigma], bs)
    res["fixed"] = ll[0]
    valid_ll, times["numpy_select"] = timed(numpy_parzen, valid, samples, sm.PAPER_SIGMAS, bs)
    res["valid_mean"] = valid_ll.mean(axis=1)
    ev, times["numpy_evaluate"] = timed(numpy_parzen_evaluate, test, valid, samples, sm.PAPER_SIGMAS, bs)
    res["evaluate"] = {k: v for k, v in ev.items() if k != "valid_mean_ll"}
    return times, res


def differences(jax_res: dict, np_res: dict) -> dict:
    """|float32 JAX - float64 numpy| of the mean LL (fixed sigma), per point, per sigma of the grid."""
    jax_ll = np.asarray(jax_res["fixed"], np.float64)
    return {
        "fixed_sigma_mean_ll": float(abs(jax_ll.mean() - np_res["fixed"].mean())),
        "fixed_sigma_max_per_point": float(np.abs(jax_ll - np_res["fixed"]).max()),
        "valid_mean_ll_max_over_grid": float(np.abs(jax_res["valid_mean"] - np_res["valid_mean"]).max()),
        "evaluate_ll": abs(jax_res["evaluate"]["parzen_ll"] - np_res["evaluate"]["parzen_ll"]),
        "same_sigma": jax_res["evaluate"]["parzen_sigma"] == np_res["evaluate"]["parzen_sigma"],
    }


def print_report(times: dict, jax_res: dict, np_res: dict | None, diff: dict | None) -> None:
    def cell(key):
        return f"{times[key]:>9.2f}s" if key in times else f"{'-':>10}"

    print(f"{'':<34} {'jax (1st call)':>15} {'jax':>10} {'numpy f64':>10}")
    for name, key in (("fixed sigma, test", "fixed"), ("sigma selection, valid x grid", "select")):
        print(f"{name:<34} {times[f'jax_{key}_first']:>14.2f}s {cell(f'jax_{key}')} {cell(f'numpy_{key}')}")
    print(f"{'parzen_evaluate (select + test)':<34} {'':>15} {cell('jax_evaluate')} {cell('numpy_evaluate')}")
    print(f"jax parzen_evaluate:   {jax_res['evaluate']}")
    if diff is not None:
        print(f"numpy parzen_evaluate: {np_res['evaluate']}")
        print(f"fixed-sigma mean LL (numpy): {np_res['fixed'].mean():.4f} nats")
        print(
            "|jax float32 - numpy float64|: "
            + ", ".join(f"{k}={v if isinstance(v, bool) else format(v, '.3g')}" for k, v in diff.items())
        )


def main(argv=None) -> dict:
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    samples, test, valid = (
        rng.random((n, args.dim), dtype=np.float32) for n in (args.n, args.n, args.n_valid)
    )
    print(
        f"machine: {platform.platform()}, cpus={os.cpu_count()}, jax {jax.__version__} on "
        f"{jax.devices()[0].device_kind}, numpy {np.__version__}, load {os.getloadavg()}"
    )
    print(f"M={args.n} samples, {args.n} test, {args.n_valid} valid, d={args.dim}, sigma={args.sigma}")
    with precision.scope(args):  # reads args.matmul_precision
        times, jax_res = time_jax(test, valid, samples, args.sigma, args.batch_size)
    np_res = diff = None
    if not args.skip_numpy:
        np_times, np_res = time_numpy(test, valid, samples, args.sigma, args.batch_size)
        times.update(np_times)
        diff = differences(jax_res, np_res)
    print_report(times, jax_res, np_res, diff)
    print(f"load at the end: {os.getloadavg()}")
    summary = {
        "matmul_precision": args.matmul_precision,
        "args": vars(args),
        "times_s": times,
        "jax_evaluate": jax_res["evaluate"],
        "diff": diff,
    }
    if np_res is not None:
        summary["numpy_evaluate"] = np_res["evaluate"]
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(summary, f, indent=2, default=float)
    return summary


if __name__ == "__main__":
    main()
