"""The update schemes: pure steps ``step(state, data) -> (state, metrics)`` built from the one-player
updates of gan_jax/game/updates.py.

A step draws its own minibatch (``batches.next_batch_indices`` at ``state.data_index``) and noise
(``fold_in(rng, step)``), so N steps fuse into one dispatch as ``lax.scan(step, state, ...)``.

- ``simultaneous``: both gradients at the same point from one minibatch (the 2014 code);
- ``alternating``: Algorithm 1's k D updates, then G's through the updated D (``order='g_first'``: G's
  first, on the real minibatch and labels that D then takes);
- ``extragradient`` (Korpelevich 1976; Gidel et al. 2019) and ``optimistic`` (Daskalakis et al. 2018).
A game without D (GMMN, GMMN+AE's autoencoder) takes its ``moment_matching.ALONE`` step: G's update alone.
``config.reg.consensus`` adds consensus optimisation (Mescheder et al. 2017) to the joint-gradient schemes.
"""

import json
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from gan_jax.errors import ConfigError
from gan_jax.game import games, moment_matching, options
from gan_jax.game.state import Setup, TrainState
from gan_jax.game.updates import (
    Context,
    DOut,
    GOut,
    Players,
    all_finite,
    apply_updates,
    d_objective,
    d_update,
    finish,
    g_forward,
    g_update,
    noise,
    penalty_key,
    players,
    real_batch,
    sample_shift,
    step_key,
)
from gan_jax.networks import models

UPDATES = ("simultaneous", "alternating", "extragradient", "optimistic")


def check_update_scheme(name: str) -> None:
    if name not in UPDATES:
        raise ConfigError(f"unknown update {name!r}; choose one of: {', '.join(UPDATES)}")


class Joint(NamedTuple):
    """Both players' losses and gradients at one point, and the model states after its passes."""

    d_loss: jax.Array
    g_loss: jax.Array
    logits: tuple  # (real, fake)
    g_state: Any
    d_state: Any
    g_grads: Any
    d_grads: Any


def joint_gradients(ctx: Context, p: Players, batch, keys) -> Joint:
    """Both gradients at the players' (theta_G, theta_D) from one dropped-out D pass of the real and fake
    batches (the 2014 code's simultaneous gradients), with their model states and D's update count;
    ``batch`` = (x_real, y, z). With ``config.reg.consensus`` = gamma
    > 0 each gradient gains gamma * grad (1/2)||v||^2 = gamma J^T v, v the joint field (the players'
    gradients): consensus optimisation (Mescheder et al. 2017, Alg. 2)."""
    x_real, y, z = batch
    g_state, d_state, d_count = p.g_state, p.d_state, p.d_opt_state.count

    def losses(g_params, d_params, shift):
        x_fake, new_g_state = g_forward(ctx, g_params, g_state, z, y)
        x_fake = x_fake if shift is None else x_fake + shift  # (its gradient is dL/dS)
        d_loss, (logits, new_d_state) = d_objective(ctx, d_params, d_state, x_real, x_fake, y, keys, d_count)
        g_loss = ctx.game.g_loss(real_logits=logits[0], fake_logits=logits[1])
        return (d_loss, g_loss), (logits, new_g_state, new_d_state)

    def field(g_params, d_params):
        shift = sample_shift(ctx, z)
        (d_loss, g_loss), vjp, aux = jax.vjp(losses, g_params, d_params, shift, has_aux=True)
        one, zero = jnp.ones_like(d_loss), jnp.zeros_like(d_loss)
        g_grads, _, sample_grads = vjp((zero, one))
        g_grads = options.rescale_g_grads(ctx.config, g_grads, sample_grads)  # (the 2014 scale_grads)
        return (g_grads, vjp((one, zero))[1]), (d_loss, g_loss, aux)

    gamma = ctx.config.reg.consensus
    if not gamma:
        (g_grads, d_grads), (d_loss, g_loss, (logits, g_state, d_state)) = field(p.g_params, p.d_params)
    else:
        (g_grads, d_grads), field_vjp, (d_loss, g_loss, (logits, g_state, d_state)) = jax.vjp(
            field, p.g_params, p.d_params, has_aux=True
        )
        g_extra, d_extra = field_vjp((g_grads, d_grads))
        g_grads = jax.tree.map(lambda g, e: g + gamma * e, g_grads, g_extra)
        d_grads = jax.tree.map(lambda g, e: g + gamma * e, d_grads, d_extra)
    return Joint(d_loss, g_loss, logits, g_state, d_state, g_grads, d_grads)


def joint_gradients_at(ctx: Context, state: TrainState, batch, keys) -> Joint:
    """``joint_gradients`` at the state's players."""
    return joint_gradients(ctx, players(state), batch, keys)


def joint_inputs(ctx: Context, state: TrainState, dataset):
    """The step's (perm, (x_real, y, z), dropout keys) of the schemes that take both gradients at once."""
    k_z, k_real, k_fake = jax.random.split(step_key(state), 3)
    keys = (k_real, k_fake, penalty_key(step_key(state)))
    perm, x_real, y = real_batch(ctx, state.rng, state.data_perm, state.data_index, dataset)
    return perm, (x_real, y, noise(ctx, k_z)), keys


def apply_joint(ctx: Context, state: TrainState, g_grads, d_grads, g_state, d_state, finite) -> Players:
    """Both players updated from the current point with the given gradients (then clipping, the EMA)."""
    d_params, d_opt_state = apply_updates(ctx.setup.d_tx, d_grads, state.d_opt_state, state.d_params)
    g_params, g_opt_state = apply_updates(ctx.setup.g_tx, g_grads, state.g_opt_state, state.g_params)
    return Players(
        g_params,
        options.after_d_update(ctx.config, d_params),
        g_opt_state,
        d_opt_state,
        g_state,
        d_state,
        options.after_g_update(ctx.config, state.g_ema, g_params, state.g_opt_state.count),
        finite & all_finite(optax.tree.norm(g_grads), optax.tree.norm(d_grads)),
    )


def _joint_finish(ctx, state, j: Joint, p: Players, g_grads, d_grads, perm, **changes):
    """``finish`` for the joint schemes: losses and logits at the current point, norms of the gradients
    applied; G's gradient came from the D before this step's update (D's update count then)."""
    outs = DOut(j.d_loss, j.logits, optax.tree.norm(d_grads)), GOut(j.g_loss, optax.tree.norm(g_grads))
    p = p._replace(finite=p.finite & all_finite(j.d_loss, j.g_loss))
    changes |= {"data_index": state.data_index + 1, "data_perm": perm}
    return finish(state, p, *outs, state.d_opt_state.count, **changes)


def simultaneous_step(ctx: Context, state: TrainState, dataset):
    """Both gradients at the same (theta_G, theta_D) from one minibatch and one z (the 2014 code)."""
    perm, batch, keys = joint_inputs(ctx, state, dataset)
    j = joint_gradients_at(ctx, state, batch, keys)
    p = apply_joint(ctx, state, j.g_grads, j.d_grads, j.g_state, j.d_state, jnp.array(True))
    return _joint_finish(ctx, state, j, p, j.g_grads, j.d_grads, perm)


def extragradient_step(ctx: Context, state: TrainState, dataset):
    """Extragradient (Korpelevich 1976; Gidel et al. 2019): both players take a look-ahead step with their
    optimizers from the gradients at theta, then update theta from the gradients at the look-ahead point
    (same minibatch, z and dropout masks). The look-ahead's optimizer state is dropped: each optimizer
    moves once per step; the model states are the current point's passes'."""
    perm, batch, keys = joint_inputs(ctx, state, dataset)
    j = joint_gradients_at(ctx, state, batch, keys)
    look_g, _ = apply_updates(ctx.setup.g_tx, j.g_grads, state.g_opt_state, state.g_params)
    look_d, _ = apply_updates(ctx.setup.d_tx, j.d_grads, state.d_opt_state, state.d_params)
    look_d = options.after_d_update(ctx.config, look_d)
    ahead = joint_gradients(ctx, players(state)._replace(g_params=look_g, d_params=look_d), batch, keys)
    finite = all_finite(ahead.d_loss, ahead.g_loss)
    p = apply_joint(ctx, state, ahead.g_grads, ahead.d_grads, j.g_state, j.d_state, finite)
    return _joint_finish(ctx, state, j, p, ahead.g_grads, ahead.d_grads, perm)


def optimistic_step(ctx: Context, state: TrainState, dataset):
    """Optimistic gradient descent (Daskalakis et al. 2018): each player's optimizer takes 2 g_t - g_{t-1},
    the previous step's gradients kept in ``state.prev_grads`` (at the first step g_{-1} = g_0)."""
    perm, batch, keys = joint_inputs(ctx, state, dataset)
    j = joint_gradients_at(ctx, state, batch, keys)
    first = state.step == 0
    prev = jax.tree.map(
        lambda old, new: jnp.where(first, new, old), state.prev_grads, {"g": j.g_grads, "d": j.d_grads}
    )
    g_grads = jax.tree.map(lambda g, old: 2.0 * g - old, j.g_grads, prev["g"])
    d_grads = jax.tree.map(lambda g, old: 2.0 * g - old, j.d_grads, prev["d"])
    p = apply_joint(ctx, state, g_grads, d_grads, j.g_state, j.d_state, jnp.array(True))
    grads = {"g": j.g_grads, "d": j.d_grads}
    return _joint_finish(ctx, state, j, p, g_grads, d_grads, perm, prev_grads=grads)


def player_keys(key, d_steps: int, g_steps: int) -> tuple[jax.Array, jax.Array]:
    """The alternating step's (D keys [d_steps], G keys [g_steps]) from its ``step_key``: D update i
    draws from split(fold_in(key, 0), d_steps)[i], G update j from split(fold_in(key, 1), g_steps)[j]."""
    return (
        jax.random.split(jax.random.fold_in(key, 0), d_steps),
        jax.random.split(jax.random.fold_in(key, 1), g_steps),
    )


def alternating_step(ctx: Context, state: TrainState, dataset):
    """Algorithm 1: ``d_steps`` D updates (each its own minibatch and fresh z), then ``g_steps`` G updates
    on fresh z through the updated D; ``config.order='g_first'``: the G updates first, through the old D,
    on the real minibatch (and labels) that D then takes."""
    config, key = ctx.config, step_key(state)
    d_keys, g_keys = player_keys(key, config.d_steps, config.g_steps)
    p, perm = players(state), state.data_perm
    batches = []  # the D updates' real minibatches: (x, y)

    def d_updates(p, perm):
        for i in range(config.d_steps):
            perm, x_real, y = real_batch(ctx, state.rng, perm, state.data_index + i, dataset)
            p, d_out = d_update(ctx, p, x_real, y, d_keys[i])
            batches.append((x_real, y))
        return p, perm, d_out

    def g_updates(p, x_real, y):
        for j in range(config.g_steps):
            p, g_out = g_update(ctx, p, x_real, y, g_keys[j])
        return p, g_out

    if config.order == "g_first":
        _, x_real, y = real_batch(ctx, state.rng, perm, state.data_index, dataset)
        p, g_out = g_updates(p, x_real, y)
        d_at_g = p.d_opt_state.count
        p, perm, d_out = d_updates(p, perm)
    else:
        p, perm, d_out = d_updates(p, perm)
        d_at_g = p.d_opt_state.count
        p, g_out = g_updates(p, *batches[-1])
    return finish(
        state, p, d_out, g_out, d_at_g, data_index=state.data_index + config.d_steps, data_perm=perm
    )


SCHEMES = {
    "simultaneous": simultaneous_step,
    "alternating": alternating_step,
    "extragradient": extragradient_step,
    "optimistic": optimistic_step,
}


def make_step(config, setup: Setup, num_train: int, batch_sharding=None) -> Callable:
    """The pure (un-jitted) train step chosen by ``config.update_scheme``: ``step(state, data)``, data the
    training images [N, D] (on device), or the pair (images, labels [N] int32) for a conditional model.

    ``batch_sharding`` (a ``jax.sharding.Sharding`` or None): where the minibatch and its noise live;
    under ``jax.jit`` over a mesh, a batch sharded on a ``data`` axis makes the step data-parallel (XLA
    inserts the gradient all-reduce), the math unchanged. The config is validated by ``validate``.
    """
    game = moment_matching.bind(games.get_game(config.game), config)
    ctx = Context(setup, game, config, num_train, batch_sharding)
    check_update_scheme(config.update_scheme)
    scheme = SCHEMES[config.update_scheme] if game.discriminator else moment_matching.ALONE[config.game]

    def step(state: TrainState, dataset):
        return scheme(ctx, state, dataset)

    return step


def make_multi_step(step_fn: Callable, num_steps: int, unroll: int = 1) -> Callable:
    """``num_steps`` steps fused in one dispatch: ``lax.scan`` of ``step_fn`` (same signature), its loop
    body holding ``unroll`` steps. Returns the final state and the LAST step's metrics (what a loop of
    single steps would log at that step); on CPU bit-identical to ``num_steps`` jitted single steps."""
    if num_steps == 1:
        return step_fn

    def multi(state, dataset):
        state, metrics = jax.lax.scan(
            lambda s, _: step_fn(s, dataset), state, None, length=num_steps, unroll=min(unroll, num_steps)
        )
        return state, jax.tree.map(lambda m: m[-1], metrics)

    return multi


def parse_xla_options(text: str, what: str = "xla_options") -> dict:
    """The JSON object ``text`` of XLA debug options (name -> string, boolean or number) as
    ``compiler_options``; "" gives {}. Anything else: a one-line ConfigError naming ``what``."""
    try:
        opts = json.loads(text) if text and text.strip() else {}
    except json.JSONDecodeError as e:
        raise ConfigError(f"{what} is not JSON ({e.msg}): {text!r}") from None
    if not isinstance(opts, dict) or not all(isinstance(v, str | bool | int | float) for v in opts.values()):
        raise ConfigError(f"{what} must be a JSON object of strings, booleans or numbers: {text!r}")
    return opts


def make_sampler(setup: Setup) -> Callable:
    """Jitted ``sampler(variables, z, labels=None)`` = G(z[, labels]) in eval mode (batch norm on its
    running averages); ``variables`` from ``sampling_variables(state)``."""

    def sample(variables, z, labels=None):
        return setup.generator.apply(variables, z, train=False, **models.label_kwargs(labels))

    return jax.jit(sample)


def sampling_params(state: TrainState):
    """G's parameters for samples and evaluation: the EMA when ``config.ema_decay`` > 0 keeps one."""
    return state.g_params if state.g_ema is None else state.g_ema


def sampling_variables(state: TrainState) -> dict:
    """G's variables for samples: ``sampling_params`` with G's state (the EMA goes with the trained
    G's running averages)."""
    return models.variables(sampling_params(state), state.g_state)


def d_eval_variables(state: TrainState) -> dict:
    """D's variables for eval-mode plots: its params and state."""
    return models.variables(state.d_params, state.d_state)
