"""The one train state: every array a run needs to continue, in a single pytree.

Module definitions and optax transformations are static; they live in ``Setup`` and are
closed over by the step functions, never stored in the state.
"""

from typing import NamedTuple

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax

from gan_jax.data import batches
from gan_jax.game import games, optimizers, replicas
from gan_jax.networks import models

# Independent random streams derived from the run key by fold_in.
INIT_STREAM, DATA_STREAM, STEP_STREAM, SAMPLE_STREAM, EVAL_STREAM = 0, 1, 2, 3, 4
INTERPOLATION_STREAM = 5  # the ends of --mode=sample --interpolate's paths


class TrainState(flax.struct.PyTreeNode):
    step: jax.Array  # int32: training iterations done
    data_index: jax.Array  # int32: real minibatches consumed (the data position)
    data_perm: jax.Array  # int32 [N]: the current epoch's shuffle (batches.next_batch_indices)
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
    # update_scheme='optimistic': the last step's gradients {'g': ..., 'd': ...} (else None: no leaves)
    prev_grads: dict | None = None


class Setup(NamedTuple):
    """The static half of a run: modules and optimizers (D's None in a game without D)."""

    generator: nn.Module
    discriminator: nn.Module | None
    g_tx: optax.GradientTransformation
    d_tx: optax.GradientTransformation | None


def make_setup(config, num_train: int) -> Setup:
    generator, discriminator = models.build_models(config)
    if not games.get_game(config.game).discriminator:  # GMMN: G alone, one real minibatch an update
        g_per_epoch = max(1, num_train // config.batch_size)
        return Setup(
            generator, None, optimizers.make_optimizer(optimizers.g_optim(config), g_per_epoch), None
        )
    d_per_epoch = num_train // (config.batch_size * config.pack)  # D takes one real minibatch an update
    g_per_epoch = d_per_epoch
    if config.update_scheme == "alternating":
        g_per_epoch = max(1, d_per_epoch * config.g_steps // config.d_steps)
    return Setup(
        generator=generator,
        discriminator=discriminator,
        g_tx=optimizers.make_optimizer(optimizers.g_optim(config), g_per_epoch),
        d_tx=optimizers.make_optimizer(config.optim, d_per_epoch),
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
    d_params = d_state = d_opt_state = None  # a game without D (GMMN) keeps no D entries
    if setup.discriminator is not None:
        d_variables = setup.discriminator.init(
            d_key, jnp.zeros((1, m.data_dim * config.pack)), train=False, **labels
        )
        d_params, d_state = models.split_variables(d_variables)
        d_opt_state = setup.d_tx.init(d_params)
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        data_index=jnp.zeros((), jnp.int32),
        data_perm=batches.epoch_permutation(jax.random.fold_in(rng, DATA_STREAM), 0, num_train),
        nonfinite_step=jnp.full((), -1, jnp.int32),
        g_params=g_params,
        d_params=d_params,
        g_opt_state=setup.g_tx.init(g_params),
        d_opt_state=d_opt_state,
        rng=rng,
        g_ema=jax.tree.map(jnp.copy, g_params) if config.ema_decay > 0 else None,
        g_state=g_state,
        d_state=d_state,
        prev_grads=zeros_like_grads(g_params, d_params) if config.update_scheme == "optimistic" else None,
    )


def zeros_like_grads(g_params, d_params) -> dict:
    return {"g": jax.tree.map(jnp.zeros_like, g_params), "d": jax.tree.map(jnp.zeros_like, d_params)}


def create_state(
    config, setup: Setup, mean_pixel: np.ndarray, num_train: int, *, jit: bool = False
) -> TrainState:
    """The run's initial state: one TrainState, or with ``config.num_replicas`` = R > 1 the R states of
    ``replicas.replica_config(config, r)`` (seed + r, its grid values) stacked on a leading axis.

    ``jit=True`` builds it as one compiled program, as a launch does (one compilation instead of one
    per eager operation); the same values as eager for the paper and toy models, while a DCGAN's
    normal initialisation may round differently in the last bit (XLA fuses it)."""

    def create() -> TrainState:
        count = replicas.num_replicas(config)
        states = []
        for r in range(count):
            c = replicas.replica_config(config, r)
            states.append(replicas.with_hparams(create_train_state(c, setup, mean_pixel, num_train), c))
        return states[0] if count == 1 else replicas.stack(states)

    return jax.jit(create)() if jit else create()
