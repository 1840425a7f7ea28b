"""Several seeds (or a small hyper-parameter grid) trained together in one program.

R train states stack on a leading axis (``data_index`` shared: the replicas step together), and one
step function runs over them, vmapped or in turn (``replicated_step``). Replica r trains seed
``config.seed + r`` with the optimizer values ``config.replica_hparams`` gives it: it is the single run
of ``replica_config(config, r)``.
"""

import json
import os

import jax
import jax.numpy as jnp
import ml_collections

from gan_jax import config as config_lib
from gan_jax.errors import ConfigError
from gan_jax.game import optimizers

MODES = ("auto", "vmap", "loop")
# The values an optimizer keeps in its state (optax.inject_hyperparams), which a replica can hold its
# own of; paper_sgd's learning rate and momentum are schedules of the update count.
HPARAMS = {"adam": ("learning_rate", "b1", "b2")}


def num_replicas(config) -> int:
    return int(config.num_replicas)


def replica_hparams(config) -> dict[str, list[float]]:
    """``config.replica_hparams``: a JSON object {"d.<name>" or "g.<name>": [R values]} giving replica r
    D's (``config.optim``) or G's (``config.g_optim``) field ``<name>`` = values[r]; "" for none.
    Checked: a name its optimizer keeps as a value (``HPARAMS``), one number per replica."""
    if not config.replica_hparams:
        return {}
    try:
        grid = json.loads(config.replica_hparams)
    except json.JSONDecodeError as e:
        raise ConfigError(f"config.replica_hparams is not a JSON object: {e}") from None
    if not isinstance(grid, dict):
        raise ConfigError(f"config.replica_hparams must be a JSON object, got {config.replica_hparams!r}")
    names = {"d": config.optim.name, "g": optimizers.g_optim(config).name}
    for key, values in grid.items():
        side, _, name = key.partition(".")
        if side not in names:
            raise ConfigError(f"config.replica_hparams: {key!r} must be 'd.<name>' or 'g.<name>'")
        if name not in HPARAMS.get(names[side], ()):
            kept = ", ".join(f"{k}: {', '.join(v)}" for k, v in HPARAMS.items())
            raise ConfigError(
                f"config.replica_hparams: {key!r} is not a per-replica value of {side.upper()}'s optimizer "
                f"{names[side]!r} (per-replica values: {kept}; paper_sgd's are schedules)"
            )
        numbers = isinstance(values, list) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values
        )
        if not numbers or len(values) != num_replicas(config):
            raise ConfigError(
                f"config.replica_hparams: {key!r} needs a list of num_replicas={num_replicas(config)} "
                f"numbers, got {values!r}"
            )
    return grid


def replica_config(config, r: int) -> ml_collections.ConfigDict:
    """The config whose single run replica ``r`` is: seed + r, and its ``replica_hparams`` values set
    in ``config.optim`` (d.) or ``config.g_optim`` (g.), so G follows D's values where it inherits them
    and ``g_lr_multiplier`` applies."""
    c = ml_collections.ConfigDict(config.copy_and_resolve_references().to_dict())
    c.g_optim = config.g_optim.copy_and_resolve_references()
    for key, values in replica_hparams(config).items():
        side, _, name = key.partition(".")
        (c.optim if side == "d" else c.g_optim)[name] = values[r]
    c.seed, c.num_replicas, c.replica_hparams = config.seed + r, 1, ""
    return c


def with_hparams(state, config):
    """``state`` (one replica's) with the optimizer values of ``config`` (a ``replica_config``) in its
    optimizer states: D's from ``config.optim``, G's as ``optimizers.g_optim`` resolves them."""
    for side, optim in (("d", config.optim), ("g", optimizers.g_optim(config))):
        field = f"{side}_opt_state"
        opt = getattr(state, field)
        if opt is None:  # no D (GMMN)
            continue
        values = dict(opt.hyperparams)
        for name in HPARAMS.get(optim.name, ()):
            values[name] = jnp.asarray(optim[name], values[name].dtype)
        state = state.replace(**{field: opt._replace(hyperparams=values)})
    return state


def stack(states: list):
    """The states stacked on a leading replica axis, ``data_index`` shared (the first's); the inverse
    of ``replica``."""
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *(s.replace(data_index=None) for s in states))
    return stacked.replace(data_index=states[0].data_index)


def axes(state):
    """jax.vmap axes of a stacked state: 0 for every leaf but ``data_index``, which the replicas share.
    Unbatched, it keeps the epoch-start test of ``batches.next_batch_indices`` a real ``lax.cond``;
    batched, vmap would turn it into a select that re-sorts N keys every step."""
    return jax.tree.map(lambda _: 0, state).replace(data_index=None)


def replica(state, r: int):
    """Replica ``r`` of a stacked state."""
    return jax.tree.map(lambda x: x[r], state.replace(data_index=None)).replace(data_index=state.data_index)


def views(state, count: int) -> list:
    """Each replica's state: ``[state]`` itself for a single run."""
    return [state] if count == 1 else [replica(state, r) for r in range(count)]


def dirs(workdir: str, count: int) -> list[str]:
    """Where each replica's metrics, samples and evaluations go: ``workdir`` for a single run,
    ``workdir/replica_<r>`` for R > 1 (the checkpoints hold all replicas together)."""
    if count == 1:
        return [workdir]
    return [os.path.join(workdir, f"replica_{r}") for r in range(count)]


def mode(config) -> str:
    """'vmap' (one batched program) or 'loop' (each replica's step in turn). 'auto' loops for a DCGAN on the
    CPU backend, where vmap turns every convolution into a grouped one that XLA's CPU backend runs slower per
    replica than the replicas one after another (experiments/reports/BENCHMARKS.md), and vmaps otherwise."""
    if config.replica_mode not in MODES:
        raise ConfigError(
            f"unknown config.replica_mode {config.replica_mode!r}; choose one of: {', '.join(MODES)}"
        )
    if config.replica_mode == "auto":
        convolutional = config.model.name in config_lib.DCGAN_SHAPES
        return "loop" if convolutional and jax.default_backend() == "cpu" else "vmap"
    return config.replica_mode


def replicated_step(step_fn, config):
    """``step_fn(state, data)`` over the R stacked replicas (``mode``); with ``on_nonfinite='freeze'``,
    a replica whose step turned non-finite keeps its state from before it (``freeze_nonfinite``)."""
    count = num_replicas(config)
    if mode(config) == "loop":

        def replicated(state, data):
            states, metrics = zip(*(step_fn(replica(state, r), data) for r in range(count)), strict=True)
            return stack(list(states)), jax.tree.map(lambda *xs: jnp.stack(xs), *metrics)

    else:

        def replicated(state, data):
            return jax.vmap(step_fn, in_axes=(axes(state), None), out_axes=(axes(state), 0))(state, data)

    return freeze_nonfinite(replicated) if config.on_nonfinite == "freeze" else replicated


def freeze_nonfinite(step_fn):
    """``step_fn`` over stacked replicas, where a replica whose step was non-finite (now or before:
    ``nonfinite_step`` >= 0) keeps its state from before the step; only its step count, first
    non-finite step and data position move on."""

    def step(state, data):
        new, metrics = step_fn(state, data)
        dead = new.nonfinite_step >= 0

        def keep(old, fresh):
            return jnp.where(dead.reshape(dead.shape + (1,) * (fresh.ndim - 1)), old, fresh)

        kept = jax.tree.map(keep, state.replace(data_index=None), new.replace(data_index=None))
        moving = {f: getattr(new, f) for f in ("step", "nonfinite_step", "data_index", "data_perm")}
        return kept.replace(**moving), metrics

    return step
