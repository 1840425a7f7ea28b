r"""Where the paper model's simultaneous JAX step spends its time: the whole jitted step (state donated)
beside its parts, each jitted and timed alone on the same device:

- ``matmuls``: the step's 20 large matrix products at its shapes (G forward; D forward on the real and
  the fake batch; D's weight gradients from both passes and its hidden-layer input gradients; the G
  loss's backward through D's two layers into the fake batch and through G; D's output layer, n = 1,
  left out), the set XLA keeps after dead-code elimination (their GFLOP are printed beside the
  compiled step's cost analysis);
- ``dropout masks``: D's Bernoulli masks for both passes (input keep 0.8, two hidden layers);
- ``optimizer``: both momentum updates with the run's own optax transforms, state donated;
- ``grad norms``: the two global gradient norms the step logs.

The parts do not add up to the step exactly (fusion, scheduling), but they say where the time is:
on the 2-core CPU the matmuls are more than half of it (BENCHMARKS.md).

  python -m benchmarks.profile_step_parts --windows=30
"""

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from benchmarks.bench_steps import NUM_TRAIN, bench_config, random_images
from gan_jax import steps
from gan_jax.state import create_train_state, make_setup


def timed(fn, windows: int) -> dict:
    """ms per call of ``fn()`` (which blocks): min and median over ``windows`` calls after one warm-up."""
    fn()
    ms = []
    for _ in range(windows):
        t = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t) * 1e3)
    return {"min_ms": min(ms), "median_ms": statistics.median(ms)}


def matmul_shapes(model, batch: int) -> list[tuple[int, int, int, bool]]:
    """(m, k, n, lhs_transposed) of the step's products: [m, k] @ [k, n], or [k, m]^T @ [k, n]."""
    g = [model.z_dim, *model.g_hidden, model.data_dim]
    wide = model.d_units * model.d_pieces  # a maxout layer's pre-activations
    d_in = [model.data_dim] + [model.d_units] * (model.d_layers - 1)
    shapes = [(batch, a, b, False) for a, b in zip(g[:-1], g[1:], strict=True)]  # G forward
    shapes += [(batch, a, wide, False) for a in d_in] * 2  # D forward, real and fake
    shapes += [(a, batch, wide, True) for a in d_in] * 2  # D weight gradients, both passes
    shapes += [(batch, wide, model.d_units, False)] * 2 * (model.d_layers - 1)  # D hidden input grads
    shapes += [(batch, wide, a, False) for a in d_in]  # G loss: back through D into the fake batch
    shapes += [(a, batch, b, True) for a, b in zip(g[:-1], g[1:], strict=True)]  # G weight gradients
    shapes += [(batch, b, a, False) for a, b in zip(g[1:-1], g[2:], strict=True)]  # G input gradients
    return shapes


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--windows", type=int, default=30)
    args = p.parse_args(argv)
    config = bench_config("simultaneous")
    images = random_images(0)
    setup = make_setup(config, NUM_TRAIN)
    state = create_train_state(config, setup, images.mean(axis=0), NUM_TRAIN)
    images_dev = jnp.asarray(images)
    step = steps.jit_step(steps.make_step(config, setup, NUM_TRAIN))
    cost = step.lower(state, images_dev).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    holder = {"state": state}

    def run_step():
        holder["state"], metrics = step(holder["state"], images_dev)
        jax.block_until_ready(metrics)

    rng = np.random.default_rng(0)
    shapes = matmul_shapes(config.model, config.batch_size)
    operands = [
        (
            jnp.asarray(rng.normal(size=(k, m) if t else (m, k)), jnp.float32),
            jnp.asarray(rng.normal(size=(k, n)), jnp.float32),
        )
        for m, k, n, t in shapes
    ]
    transposed = [t for *_, t in shapes]
    products = jax.jit(lambda ops: [(a.T if t else a) @ b for (a, b), t in zip(ops, transposed, strict=True)])

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
        out = [steps._apply(*a) for a in zip(txs, grads, states, params, strict=True)]
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
        "matmuls": lambda: jax.block_until_ready(products(operands)),
        "dropout masks": lambda: jax.block_until_ready(masks(jax.random.key(0))),
        "optimizer": run_update,
        "grad norms": lambda: jax.block_until_ready(norms(grads)),
    }
    result = {name: timed(fn, args.windows) for name, fn in parts.items()}
    flops = sum(2 * a * b * c for a, b, c, _ in shapes)
    print(f"device {jax.devices()[0].device_kind}, jax {jax.__version__}; {args.windows} calls each")
    print(
        f"compiled step: {cost.get('flops', 0) / 1e9:.3f} GFLOP; its matmuls listed here: {flops / 1e9:.3f}"
    )
    for name, r in result.items():
        share = r["median_ms"] / result["step"]["median_ms"]
        print(
            f"{name:<14} min {r['min_ms']:7.2f} ms  median {r['median_ms']:7.2f} ms  {share:6.1%} of the step"
        )
    return result


if __name__ == "__main__":
    main()
