r"""Where the paper model's simultaneous JAX step spends its time: the whole jitted step (state donated)
beside its parts, each jitted and timed alone on the same device, the parts taking turns window by
window (``timed``):

- ``matmuls``: the step's 20 large matrix products at its shapes and in its operand layouts (G forward;
  D forward on the real and the fake batch; D's weight gradients from both passes and its hidden-layer
  input gradients; the G loss's backward through D's two layers into the fake batch and through G; D's
  output layer, n = 1, left out), the set XLA keeps after dead-code elimination (their GFLOP are
  printed beside the compiled step's cost analysis). Forward products are [m, k] @ [k, n] ("NN"),
  input gradients dy @ W^T ("NT"), weight gradients x^T @ dy ("TN"), as autodiff writes them;
- ``dropout masks``: D's Bernoulli masks for both passes (input keep 0.8, two hidden layers);
- ``optimizer``: both momentum updates with the run's own optax transforms, state donated;
- ``grad norms``: the two global gradient norms the step logs.

With torch installed (``--torch``, the default) it also times the PyTorch eager reference's whole step
(benchmarks/torch_reference.py, 2 threads on the CPU) and the same 20 products in torch, and prints
the ceiling of bench_steps' ratio: the torch step's time over gan_jax's products alone, the speed-up
gan_jax would have over torch if everything in its step but the products took no time.

The parts do not add up to the step exactly (fusion, scheduling), but they say where the time is:
on the 2-core CPU the matmuls are more than half of it (experiments/reports/BENCHMARKS.md).

  python -m benchmarks.profile_step_parts --windows=15
"""

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from benchmarks.bench_steps import NUM_TRAIN, bench_config, random_images
from gan_jax.game import steps, updates
from gan_jax.game.state import create_train_state, make_setup
from gan_jax.training import jitting


def timed(parts: dict, windows: int, window_s: float = 0.25) -> dict:
    """ms per call of each ``fn()`` (which blocks): min and median over ``windows`` windows of about
    ``window_s`` seconds each (a part's calls per window set from its warm-up call), the parts taking
    turns window by window: a drifting machine load hits all alike, and each window is long against
    the few milliseconds that one library's idle threads keep spinning after it returns."""
    calls = {}
    for name, fn in parts.items():
        fn()
        t = time.perf_counter()
        fn()
        calls[name] = max(1, round(window_s / (time.perf_counter() - t)))
    ms = {name: [] for name in parts}
    for _ in range(windows):
        for name, fn in parts.items():
            t = time.perf_counter()
            for _ in range(calls[name]):
                fn()
            ms[name].append((time.perf_counter() - t) * 1e3 / calls[name])
    return {name: {"min_ms": min(v), "median_ms": statistics.median(v)} for name, v in ms.items()}


# the stored (lhs, rhs) shapes of each layout: NN [m, k] @ [k, n]; NT [m, k] @ [n, k]^T; TN [k, m]^T @ [k, n]
LAYOUTS = {
    "NN": lambda m, k, n: ((m, k), (k, n)),
    "NT": lambda m, k, n: ((m, k), (n, k)),
    "TN": lambda m, k, n: ((k, m), (k, n)),
}


def product(layout: str, a, b):
    """The [m, n] product of operands stored in ``layout`` (jax or torch arrays alike)."""
    return {"NN": lambda: a @ b, "NT": lambda: a @ b.T, "TN": lambda: a.T @ b}[layout]()


def matmul_shapes(model, batch: int) -> list[tuple[int, int, int, str]]:
    """(m, k, n, layout) of the step's products, each an [m, k] x [k, n] product in ``LAYOUTS``."""
    g = [model.z_dim, *model.g_hidden, model.data_dim]
    wide = model.d_units * model.d_pieces  # a maxout layer's pre-activations
    d_in = [model.data_dim] + [model.d_units] * (model.d_layers - 1)
    shapes = [(batch, a, b, "NN") for a, b in zip(g[:-1], g[1:], strict=True)]  # G forward
    shapes += [(batch, a, wide, "NN") for a in d_in] * 2  # D forward, real and fake
    shapes += [(a, batch, wide, "TN") for a in d_in] * 2  # D weight gradients, both passes
    shapes += [(batch, wide, model.d_units, "NT")] * 2 * (model.d_layers - 1)  # D hidden input grads
    shapes += [(batch, wide, a, "NT") for a in d_in]  # G loss: back through D into the fake batch
    shapes += [(a, batch, b, "TN") for a, b in zip(g[:-1], g[1:], strict=True)]  # G weight gradients
    shapes += [(batch, b, a, "NT") for a, b in zip(g[1:-1], g[2:], strict=True)]  # G input gradients
    return shapes


def product_groups(shapes) -> dict[str, list[int]]:
    """Indices into ``shapes`` of all the products ('') and of each layout's."""
    groups = {"": list(range(len(shapes)))}
    for layout in LAYOUTS:
        groups[f" {layout}"] = [i for i, (*_, lay) in enumerate(shapes) if lay == layout]
    return groups


def torch_parts(config, images, init, shapes, operands) -> dict:
    """The PyTorch eager reference's whole step (from the parameters of gan_jax's initial state
    ``init``, copied) and the same products in torch (all, and each layout's), each as a ``fn()`` that
    blocks."""
    import torch

    from benchmarks import torch_reference as ref

    gan = ref.build(config, images, "cpu", 0, g_params=init.g_params, d_params=init.d_params)
    step = ref.make_step(config)
    tensors = [(torch.from_numpy(np.array(a)), torch.from_numpy(np.array(b))) for a, b in operands]

    def products(indices):
        def run():
            with torch.no_grad():
                return [product(shapes[i][3], *tensors[i]) for i in indices]

        return run

    parts = {"torch step": lambda: step(gan)}
    return parts | {f"torch matmuls{name}": products(ix) for name, ix in product_groups(shapes).items()}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--windows", type=int, default=15, help="timed windows of ~0.25 s per part")
    p.add_argument(
        "--torch", action=argparse.BooleanOptionalAction, default=True, help="also time the torch reference"
    )
    args = p.parse_args(argv)
    config = bench_config("simultaneous")
    images = random_images(0)
    setup = make_setup(config, NUM_TRAIN)
    state = create_train_state(config, setup, images.mean(axis=0), NUM_TRAIN)
    images_dev = jnp.asarray(images)
    step = jitting.jit_step(steps.make_step(config, setup, NUM_TRAIN))
    cost = step.lower(state, images_dev).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    holder = {"state": state}

    def run_step():
        holder["state"], metrics = step(holder["state"], images_dev)
        jax.block_until_ready(metrics)

    rng = np.random.default_rng(0)
    shapes = matmul_shapes(config.model, config.batch_size)
    operands = [
        tuple(jnp.asarray(rng.normal(size=shape), jnp.float32) for shape in LAYOUTS[layout](m, k, n))
        for m, k, n, layout in shapes
    ]

    def products(indices):  # one jitted program of these products
        fn = jax.jit(lambda ops: [product(shapes[i][3], *ops[j]) for j, i in enumerate(indices)])
        chosen = [operands[i] for i in indices]
        return lambda: jax.block_until_ready(fn(chosen))

    groups = product_groups(shapes)

    m = config.model
    keeps = [(m.d_input_keep, m.data_dim)] + [(m.d_hidden_keep, m.d_units)] * m.d_layers

    @jax.jit
    def masks(key):
        keys = jax.random.split(key, 2 * len(keeps))
        return [
            jax.random.bernoulli(k, q, (config.batch_size, d))
            for k, (q, d) in zip(keys, keeps * 2, strict=True)
        ]

    def update(grads, opt):  # returns the structure it takes: XLA updates the donated buffers in place
        txs, params, states = (setup.g_tx, setup.d_tx), opt["params"], opt["states"]
        out = [updates.apply_updates(*a) for a in zip(txs, grads, states, params, strict=True)]
        return {"params": [p for p, _ in out], "states": [o for _, o in out]}

    update = jax.jit(update, donate_argnums=1)
    params = [state.g_params, state.d_params]
    grads = jax.tree.map(lambda x: jnp.full_like(x, 1e-3), params)
    # copies: the step donates (deletes) the state's own buffers
    opt = {
        "now": jax.tree.map(jnp.copy, {"params": params, "states": [state.g_opt_state, state.d_opt_state]})
    }

    def run_update():
        opt["now"] = update(grads, opt["now"])
        jax.block_until_ready(opt["now"])

    norms = jax.jit(lambda g: [optax.tree.norm(x) for x in g])
    parts = {
        "step": run_step,
        **{f"matmuls{name}": products(indices) for name, indices in groups.items()},
        "dropout masks": lambda: jax.block_until_ready(masks(jax.random.key(0))),
        "optimizer": run_update,
        "grad norms": lambda: jax.block_until_ready(norms(grads)),
    }
    if args.torch:
        parts |= torch_parts(config, images, state, shapes, operands)  # before the step donates it
    result = timed(parts, args.windows)
    flops = sum(2 * a * b * c for a, b, c, _ in shapes)
    print(f"device {jax.devices()[0].device_kind}, jax {jax.__version__}; {args.windows} windows each")
    print(
        f"compiled step: {cost.get('flops', 0) / 1e9:.3f} GFLOP; its matmuls listed here: {flops / 1e9:.3f}"
    )
    group_flops = {
        name: sum(2 * shapes[i][0] * shapes[i][1] * shapes[i][2] for i in ix) for name, ix in groups.items()
    }
    for name, r in result.items():
        share = r["median_ms"] / result["step"]["median_ms"]
        group = name.removeprefix("torch ").removeprefix("matmuls")
        rate = f"  {group_flops[group] / r['median_ms'] / 1e6:6.1f} GFLOP/s" if "matmuls" in name else ""
        print(
            f"{name:<17} min {r['min_ms']:7.2f} ms  median {r['median_ms']:7.2f} ms  {share:6.1%} of the step"
            + rate
        )
    if args.torch:
        torch_ms, step_ms = result["torch step"]["median_ms"], result["step"]["median_ms"]
        print(
            f"torch step / gan_jax step: {torch_ms / step_ms:.2f}x; ceiling (torch step / gan_jax's "
            f"products alone): {torch_ms / result['matmuls']['median_ms']:.2f}x; products, torch / "
            f"gan_jax: {result['torch matmuls']['median_ms'] / result['matmuls']['median_ms']:.2f}x"
        )
    return result


if __name__ == "__main__":
    main()
