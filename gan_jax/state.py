"""The one train state: every array a run needs to continue, in a single pytree.

Module definitions and optax transformations are static; they live in ``Setup`` and are
closed over by the step functions, never stored in the state.
"""

import json
import math
from typing import NamedTuple

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gan_jax import data, models

# Independent random streams derived from the run key by fold_in.
INIT_STREAM, DATA_STREAM, STEP_STREAM, SAMPLE_STREAM, EVAL_STREAM = 0, 1, 2, 3, 4


class TrainState(flax.struct.PyTreeNode):
    step: jax.Array  # int32: training iterations done
    data_index: jax.Array  # int32: real minibatches consumed (the data position)
    data_perm: jax.Array  # int32 [N]: the current epoch's shuffle (data.next_batch_indices)
    nonfinite_step: jax.Array  # int32: first step with a NaN/Inf loss or gradient, -1 if none
    g_params: dict
    d_params: dict
    g_opt_state: optax.OptState
    d_opt_state: optax.OptState
    rng: jax.Array  # the run key; per-step keys are fold_in(fold_in(rng, STEP_STREAM), step)
    g_ema: dict | None = None  # EMA of g_params when config.ema_decay > 0 (else None: no leaves)
    # Non-param variable collections of G and D (batch norm running averages, spectral-norm vectors):
    # {collection: tree} as module.init made them, None when the model has none (the paper model).
    g_state: dict | None = None
    d_state: dict | None = None


class Setup(NamedTuple):
    """The static half of a run: modules and optimizers."""

    generator: nn.Module
    discriminator: nn.Module
    g_tx: optax.GradientTransformation
    d_tx: optax.GradientTransformation


def classical_momentum(learning_rate, momentum) -> optax.GradientTransformation:
    """pylearn2's Momentum: inc <- momentum * inc - lr * g; param <- param + inc."""
    return optax.chain(optax.scale_by_learning_rate(learning_rate), optax.trace(decay=momentum))


def paper_optimizer(optim, updates_per_epoch: int) -> optax.GradientTransformation:
    """SGD of mnist.yaml with its schedules, as functions of this optimizer's update count t.

    lr_t = max(lr_0 / decay^t, min_lr) (ExponentialDecay, every update); momentum rises linearly
    from ``momentum_init`` to ``momentum_final`` over epochs [start, saturate] (MomentumAdjustor,
    set once an epoch: during epoch e it uses alpha = (e + 1 - start) / (saturate - start)).
    """
    log_decay = math.log(optim.lr_decay)  # in float64: a float32 1/decay^t drifts (+0.16 % at 250k)

    def lr(count):
        return jnp.maximum(optim.learning_rate * jnp.exp(-log_decay * count), optim.min_lr)

    def momentum(count):
        epoch = count // updates_per_epoch
        span = optim.momentum_saturate_epoch - optim.momentum_start_epoch
        alpha = jnp.clip((epoch + 1 - optim.momentum_start_epoch) / span, 0.0, 1.0)
        return optim.momentum_init + alpha * (optim.momentum_final - optim.momentum_init)

    return optax.inject_hyperparams(classical_momentum)(learning_rate=lr, momentum=momentum)


OPTIMIZERS = ("paper_sgd", "adam")
# What G's optimizer starts from when config.g_optim names another optimizer than D's: optax's Adam
# betas; mnist.yaml's schedule (experiments/configs/paper_mnist.py spells out the same values)
OPTIMIZER_DEFAULTS = {
    "adam": {"b1": 0.9, "b2": 0.999},
    "paper_sgd": {
        "lr_decay": 1.000004,
        "min_lr": 1e-6,
        "momentum_init": 0.5,
        "momentum_final": 0.7,
        "momentum_start_epoch": 1,
        "momentum_saturate_epoch": 250,
    },
}


def make_optimizer(optim, updates_per_epoch: int) -> optax.GradientTransformation:
    """``optim.name``: 'paper_sgd' (the 2014 schedule above) or 'adam' (constant lr, b1, b2)."""
    name = optim.get("name", "paper_sgd")
    if name == "adam":
        return optax.inject_hyperparams(optax.adam)(
            learning_rate=optim.learning_rate, b1=optim.b1, b2=optim.b2
        )
    if name != "paper_sgd":
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    return paper_optimizer(optim, updates_per_epoch)


def g_optim(config) -> ml_collections.ConfigDict:
    """G's optimizer config: D's (``config.optim``) with the fields ``config.g_optim`` sets (None
    there: D's value); another optimizer ``name`` starts from its ``OPTIMIZER_DEFAULTS`` instead of
    D's fields and needs a ``learning_rate``. G's learning rate is then x ``config.g_lr_multiplier``
    (two time scales, Heusel et al. 2017)."""
    d = config.optim.copy_and_resolve_references().to_dict()
    given = {k: v for k, v in dict(config.get("g_optim") or {}).items() if v is not None}
    d_name = d.get("name", "paper_sgd")
    name = given.get("name", d_name)
    if name != d_name:
        if name not in OPTIMIZER_DEFAULTS:
            raise ValueError(f"unknown config.g_optim.name {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
        if "learning_rate" not in given:
            raise ValueError(f"config.g_optim.name={name!r} (D's: {d_name!r}) needs a g_optim.learning_rate")
        d = OPTIMIZER_DEFAULTS[name]
    unread = set(given) - {"name", "learning_rate", *OPTIMIZER_DEFAULTS.get(name, ())}
    if unread:
        raise ValueError(f"config.g_optim.{', '.join(sorted(unread))}: not a field of optimizer {name!r}")
    g = d | given
    g["learning_rate"] = g["learning_rate"] * config.get("g_lr_multiplier", 1.0)
    return ml_collections.ConfigDict(g)


def make_setup(config, num_train: int) -> Setup:
    generator, discriminator = models.build_models(config)
    d_per_epoch = num_train // config.batch_size  # D takes one real minibatch per update
    g_per_epoch = d_per_epoch
    if config.update_scheme == "alternating":
        g_per_epoch = max(1, d_per_epoch * config.g_steps // config.d_steps)
    return Setup(
        generator=generator,
        discriminator=discriminator,
        g_tx=make_optimizer(g_optim(config), g_per_epoch),
        d_tx=make_optimizer(config.optim, d_per_epoch),
    )


def create_train_state(
    config, setup: Setup, mean_pixel: np.ndarray, num_train: int, seed: int | None = None
) -> TrainState:
    """Initial state; the paper model's G output bias is the marginal logit of the training pixels.
    G's and D's non-param collections (``module.init``'s all but 'params') become ``g_state`` / ``d_state``.

    ``seed`` defaults to ``config.seed``."""
    rng = jax.random.PRNGKey(config.seed if seed is None else seed)
    g_key, d_key = jax.random.split(jax.random.fold_in(rng, INIT_STREAM))
    m = config.model
    labels = models.label_kwargs(jnp.zeros((1,), jnp.int32) if models.num_classes(m) else None)
    g_variables = setup.generator.init(g_key, jnp.zeros((1, m.z_dim)), **labels)
    g_params, g_state = models.split_variables(g_variables)
    if models.init_reads_mean(m):  # sigmoid output: start at the data's marginals
        g_params["out"]["bias"] = jnp.asarray(models.marginal_logit(mean_pixel))
    d_variables = setup.discriminator.init(d_key, jnp.zeros((1, m.data_dim)), train=False, **labels)
    d_params, d_state = models.split_variables(d_variables)
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        data_index=jnp.zeros((), jnp.int32),
        data_perm=data.epoch_permutation(jax.random.fold_in(rng, DATA_STREAM), 0, num_train),
        nonfinite_step=jnp.full((), -1, jnp.int32),
        g_params=g_params,
        d_params=d_params,
        g_opt_state=setup.g_tx.init(g_params),
        d_opt_state=setup.d_tx.init(d_params),
        rng=rng,
        g_ema=jax.tree.map(jnp.copy, g_params) if config.get("ema_decay", 0.0) > 0 else None,
        g_state=g_state,
        d_state=d_state,
    )


def num_replicas(config) -> int:
    return int(config.get("num_replicas", 1))


# The hyper-parameters an optimizer keeps as values in its state (optax.inject_hyperparams), which a
# replica can therefore hold its own of; paper_sgd's learning rate and momentum are schedules of the
# update count, recomputed every update.
REPLICA_HPARAMS = {"adam": ("learning_rate", "b1", "b2")}


def replica_hparams(config) -> dict[str, list[float]]:
    """``config.replica_hparams``: a JSON object {"d.<name>" or "g.<name>": [R values]}, R =
    ``num_replicas``, giving replica r D's or G's optimizer hyper-parameter ``<name>`` = values[r] (a
    small grid trained in one program); "" for none. Checked: a name the optimizer keeps as a value
    (``REPLICA_HPARAMS``), one number per replica."""
    text = config.get("replica_hparams", "") or ""
    if not text:
        return {}
    try:
        grid = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"config.replica_hparams is not a JSON object: {e}") from None
    if not isinstance(grid, dict):
        raise ValueError(f"config.replica_hparams must be a JSON object, got {text!r}")
    optimizers = {"d": config.optim.get("name", "paper_sgd"), "g": g_optim(config).get("name", "paper_sgd")}
    replicas = num_replicas(config)
    for key, values in grid.items():
        side, _, name = key.partition(".")
        if side not in optimizers:
            raise ValueError(f"config.replica_hparams: {key!r} must be 'd.<name>' or 'g.<name>'")
        allowed = REPLICA_HPARAMS.get(optimizers[side], ())
        if name not in allowed:
            kept = ", ".join(f"{k}: {', '.join(v)}" for k, v in REPLICA_HPARAMS.items())
            raise ValueError(
                f"config.replica_hparams: {key!r} is not a per-replica value of {side.upper()}'s optimizer "
                f"{optimizers[side]!r} (per-replica values: {kept}; paper_sgd's are schedules)"
            )
        numbers = isinstance(values, list) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values
        )
        if not numbers or len(values) != replicas:
            raise ValueError(
                f"config.replica_hparams: {key!r} needs a list of num_replicas={replicas} numbers, "
                f"got {values!r}"
            )
    return grid


def with_hparams(state: TrainState, grid: dict[str, list[float]], r: int) -> TrainState:
    """``state`` with replica ``r``'s values of ``grid`` (``replica_hparams``) in its optimizer states."""
    for key, values in grid.items():
        side, _, name = key.partition(".")
        field = f"{side}_opt_state"
        opt = getattr(state, field)
        hparams = dict(opt.hyperparams)
        hparams[name] = jnp.asarray(values[r], hparams[name].dtype)
        state = state.replace(**{field: opt._replace(hyperparams=hparams)})
    return state


def create_state(
    config, setup: Setup, mean_pixel: np.ndarray, num_train: int, *, jit: bool = False
) -> TrainState:
    """The run's initial state: one TrainState, or with ``config.num_replicas`` = R > 1 the R states
    of seeds ``seed, ..., seed + R - 1`` stacked on a leading axis (trained together under jax.vmap),
    each with its own optimizer hyper-parameters where ``config.replica_hparams`` gives them.

    ``jit=True`` builds it as one compiled program, as a launch does: one compilation instead of one
    per operation of the eager initialisation (on the CPU ~3 s instead of ~6 s for a process's first
    state). The same values as eager for the paper and toy models; a DCGAN's normal initialisation
    may round differently in the last bit (XLA fuses it). Eager calls in one process reuse their
    compiled operations, so tests and notebooks that build many states keep the default."""
    replicas = num_replicas(config)
    if replicas < 1:
        raise ValueError(f"config.num_replicas must be >= 1, got {replicas}")

    grid = replica_hparams(config)

    def create() -> TrainState:
        if replicas == 1:
            return with_hparams(create_train_state(config, setup, mean_pixel, num_train), grid, 0)
        states = [
            with_hparams(create_train_state(config, setup, mean_pixel, num_train, config.seed + r), grid, r)
            for r in range(replicas)
        ]
        return stack_replicas(states)

    return jax.jit(create)() if jit else create()


def stack_replicas(states: list[TrainState]) -> TrainState:
    """The states stacked on a leading replica axis, ``data_index`` shared (the first's: the replicas
    step together); the inverse of ``replica``."""
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *(s.replace(data_index=None) for s in states))
    return stacked.replace(data_index=states[0].data_index)


def replica_axes(state: TrainState) -> TrainState:
    """jax.vmap axes of a stacked state: 0 for every leaf but ``data_index``, which the replicas share
    (they step together). Unbatched, it keeps the epoch-start test of ``data.next_batch_indices`` a
    real ``lax.cond``; batched, vmap would turn it into a select that re-sorts N keys every step."""
    return jax.tree.map(lambda _: 0, state).replace(data_index=None)


def replica(state: TrainState, r: int) -> TrainState:
    """Replica ``r`` of a stacked state."""
    return jax.tree.map(lambda x: x[r], state.replace(data_index=None)).replace(data_index=state.data_index)


def hyperparams(opt_state) -> dict:
    """The current lr and momentum (Adam's b1) that ``inject_hyperparams`` keeps in an optimizer state."""
    h = opt_state.hyperparams
    return {"learning_rate": h["learning_rate"], "momentum": h["momentum"] if "momentum" in h else h["b1"]}
