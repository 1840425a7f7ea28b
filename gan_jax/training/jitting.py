"""The training step as compiled: jitted with the state donated, on one device or data-parallel over a
mesh, with ``num_steps`` steps fused and the replicas stacked."""

from collections.abc import Callable

import jax
from jax.sharding import Mesh

from gan_jax.game import replicas, steps
from gan_jax.training import parallel


def jit_step(step_fn: Callable, compiler_options: dict | None = None) -> Callable:
    """jit with the state donated (its buffers reused for the new one); ``compiler_options``: XLA debug
    options for this computation alone (an unknown name or value fails at compile time)."""
    return jax.jit(step_fn, donate_argnums=0, compiler_options=compiler_options or None)


def jit_sharded(step_fn: Callable, mesh: Mesh, compiler_options: dict | None = None) -> Callable:
    """jit of ``step_fn(state, data) -> (state, metrics)`` on ``mesh``: the state (and its output) and
    the metrics replicated, the state donated (``jit_step``'s donation, and its
    ``compiler_options``), the data split by rows as ``put_rows`` places it. The batch split happens
    inside."""
    replicated, rows = parallel.shardings(mesh)
    return jax.jit(
        step_fn,
        in_shardings=(replicated, rows),
        out_shardings=(replicated, replicated),
        donate_argnums=0,
        compiler_options=compiler_options or None,
    )


def jitted_step(config, setup, num_train: int, mesh=None, num_steps: int = 1, compiler_options=None):
    """The training step as jitted with the state donated: ``num_steps`` steps fused (``lax.scan``), over
    the stacked replicas when ``num_replicas`` > 1, data-parallel over ``mesh``'s ``data`` axis when a
    mesh is given (state replicated, data split by rows as ``parallel.put_rows`` places it, batch
    sharded). ``compiler_options``: XLA options of its compilation."""
    batch_sharding = None
    if mesh is not None:
        parallel.check_batch(config.batch_size, mesh)
        batch_sharding = parallel.shardings(mesh)[1]
    step_fn = steps.make_step(config, setup, num_train, batch_sharding)
    if replicas.num_replicas(config) > 1:
        step_fn = replicas.replicated_step(step_fn, config)
    step_fn = steps.make_multi_step(step_fn, num_steps, int(config.scan_unroll))
    if mesh is None:
        return jit_step(step_fn, compiler_options)
    return jit_sharded(step_fn, mesh, compiler_options)


def make_train_step(config, setup, num_train: int, mesh=None, compiler_options: dict | None = None):
    """``train_step(state, data, n)``: ``jitted_step`` of n fused steps, compiled once per distinct n."""
    compiled = {}

    def train_step(state, dataset, n):
        if n not in compiled:
            compiled[n] = jitted_step(config, setup, num_train, mesh, n, compiler_options)
        return compiled[n](state, dataset)

    return train_step
