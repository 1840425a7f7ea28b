"""Pure update steps: ``step(state, images) -> (state, metrics)``.

The step draws its own minibatch (``data.next_batch_indices`` at ``state.data_index``) and noise
(``fold_in(rng, step)``), so N steps fuse into one dispatch as ``lax.scan(step, state, ...)``.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from gan_jax import data, games, models
from gan_jax.state import DATA_STREAM, STEP_STREAM, Setup, TrainState, hyperparams

UPDATES = ("simultaneous", "alternating")


def _mean_sigmoid(logits):
    return jnp.mean(jax.nn.sigmoid(logits))


def _apply(tx, grads, opt_state, params):
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def _finish(state: TrainState, finite, losses: tuple, logits: tuple, norms: tuple, **changes):
    """Advances the step and builds the flat metrics dict.

    ``losses`` = (d_loss, g_loss), ``logits`` = (real, fake) of the last D pass, ``norms`` =
    (G, D) gradient norms. The first non-finite step is recorded as logged: the count after the update.
    """
    step = state.step + 1
    bad = (state.nonfinite_step < 0) & ~finite
    new = state.replace(step=step, nonfinite_step=jnp.where(bad, step, state.nonfinite_step), **changes)
    hparams = hyperparams(new.d_opt_state)
    metrics = {
        "d_loss": losses[0],
        "g_loss": losses[1],
        "d_real": _mean_sigmoid(logits[0]),
        "d_fake": _mean_sigmoid(logits[1]),
        "g_grad_norm": norms[0],
        "d_grad_norm": norms[1],
        "lr": hparams["learning_rate"],
        "momentum": hparams["momentum"],
    }
    return new, metrics


def _all_finite(*xs):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in xs]))


def check_update_scheme(name: str) -> None:
    if name not in UPDATES:
        raise ValueError(f"unknown update {name!r}; choose one of: {', '.join(UPDATES)}")


def make_step(config, setup: Setup, num_train: int, batch_sharding=None) -> Callable:
    """The pure (un-jitted) train step chosen by ``config.update_scheme`` and ``config.game``.

    ``batch_sharding`` (a ``jax.sharding.Sharding`` or None): where the minibatch and its noise live;
    under ``jax.jit`` over a mesh, a batch sharded on a ``data`` axis makes the step data-parallel
    (XLA inserts the gradient all-reduce), the math unchanged.
    """
    check_update_scheme(config.update_scheme)
    game = games.get_game(config.game)
    gen, disc = setup.generator, setup.discriminator
    batch, z_dim, d_scale = config.batch_size, config.model.z_dim, config.d_loss_scale

    def place(x):
        return x if batch_sharding is None else jax.lax.with_sharding_constraint(x, batch_sharding)

    def real_batch(rng, perm, counter, images):
        data_key = jax.random.fold_in(rng, DATA_STREAM)
        perm, idx = data.next_batch_indices(data_key, perm, counter, num_train, batch)
        return perm, place(images[idx])

    def noise(key):
        return place(models.sample_noise(key, batch, z_dim))

    def d_logits(d_params, x, key):
        return disc.apply({"params": d_params}, x, train=True, rngs={"dropout": key})

    def simultaneous(state: TrainState, images):
        """Both gradients at the same (theta_G, theta_D), one minibatch, one z (the 2014 code)."""
        key = jax.random.fold_in(jax.random.fold_in(state.rng, STEP_STREAM), state.step)
        k_z, k_real, k_fake = jax.random.split(key, 3)
        perm, x_real = real_batch(state.rng, state.data_perm, state.data_index, images)
        z = noise(k_z)

        def losses(g_params, d_params):
            x_fake = gen.apply({"params": g_params}, z)
            real_logits = d_logits(d_params, x_real, k_real)
            fake_logits = d_logits(d_params, x_fake, k_fake)  # one dropped-out pass serves D and G
            d_loss = d_scale * game.d_loss(real_logits=real_logits, fake_logits=fake_logits)
            return (d_loss, game.g_loss(fake_logits=fake_logits)), (real_logits, fake_logits)

        (d_loss, g_loss), vjp, (real_logits, fake_logits) = jax.vjp(
            losses, state.g_params, state.d_params, has_aux=True
        )
        one, zero = jnp.ones_like(d_loss), jnp.zeros_like(d_loss)
        _, d_grads = vjp((one, zero))
        g_grads, _ = vjp((zero, one))
        d_params, d_opt_state = _apply(setup.d_tx, d_grads, state.d_opt_state, state.d_params)
        g_params, g_opt_state = _apply(setup.g_tx, g_grads, state.g_opt_state, state.g_params)
        g_norm, d_norm = optax.tree.norm(g_grads), optax.tree.norm(d_grads)
        finite = _all_finite(d_loss, g_loss, g_norm, d_norm)
        return _finish(
            state,
            finite,
            (d_loss, g_loss),
            (real_logits, fake_logits),
            (g_norm, d_norm),
            data_index=state.data_index + 1,
            data_perm=perm,
            g_params=g_params,
            d_params=d_params,
            g_opt_state=g_opt_state,
            d_opt_state=d_opt_state,
        )

    def alternating(state: TrainState, images):
        """Algorithm 1: k D steps (own minibatch, fresh z each), then G steps on fresh z
        through the updated D."""
        key = jax.random.fold_in(jax.random.fold_in(state.rng, STEP_STREAM), state.step)
        d_keys = jax.random.split(jax.random.fold_in(key, 0), config.d_steps)
        g_keys = jax.random.split(jax.random.fold_in(key, 1), config.g_steps)
        d_params, d_opt_state = state.d_params, state.d_opt_state
        g_params, g_opt_state = state.g_params, state.g_opt_state
        finite, perm = jnp.array(True), state.data_perm
        for i in range(config.d_steps):
            k_z, k_real, k_fake = jax.random.split(d_keys[i], 3)
            perm, x_real = real_batch(state.rng, perm, state.data_index + i, images)
            x_fake = gen.apply({"params": g_params}, noise(k_z))

            def d_objective(d_params, x_real=x_real, x_fake=x_fake, k_real=k_real, k_fake=k_fake):
                real_logits = d_logits(d_params, x_real, k_real)
                fake_logits = d_logits(d_params, x_fake, k_fake)
                d_loss = d_scale * game.d_loss(real_logits=real_logits, fake_logits=fake_logits)
                return d_loss, (real_logits, fake_logits)

            (d_loss, (real_logits, fake_logits)), d_grads = jax.value_and_grad(d_objective, has_aux=True)(
                d_params
            )
            d_params, d_opt_state = _apply(setup.d_tx, d_grads, d_opt_state, d_params)
            d_norm = optax.tree.norm(d_grads)
            finite &= _all_finite(d_loss, d_norm)
        for j in range(config.g_steps):
            k_z, k_drop = jax.random.split(g_keys[j])
            z = noise(k_z)

            def g_objective(g_params, z=z, k_drop=k_drop):
                fake_logits = d_logits(d_params, gen.apply({"params": g_params}, z), k_drop)
                return game.g_loss(fake_logits=fake_logits)

            g_loss, g_grads = jax.value_and_grad(g_objective)(g_params)
            g_params, g_opt_state = _apply(setup.g_tx, g_grads, g_opt_state, g_params)
            g_norm = optax.tree.norm(g_grads)
            finite &= _all_finite(g_loss, g_norm)
        return _finish(
            state,
            finite,
            (d_loss, g_loss),
            (real_logits, fake_logits),
            (g_norm, d_norm),
            data_index=state.data_index + config.d_steps,
            data_perm=perm,
            g_params=g_params,
            d_params=d_params,
            g_opt_state=g_opt_state,
            d_opt_state=d_opt_state,
        )

    return simultaneous if config.update_scheme == "simultaneous" else alternating


def make_multi_step(step_fn: Callable, num_steps: int) -> Callable:
    """``num_steps`` steps fused in one dispatch: ``lax.scan`` of ``step_fn`` (same signature).

    Returns the final state and the LAST step's metrics (what a loop of single steps would log at
    that step). On CPU the result is bit-identical to ``num_steps`` calls of the jitted single step
    (tests/test_steps.py).
    """
    if num_steps == 1:
        return step_fn

    def multi(state, images):
        state, metrics = jax.lax.scan(lambda s, _: step_fn(s, images), state, None, length=num_steps)
        return state, jax.tree.map(lambda m: m[-1], metrics)

    return multi


def jit_step(step_fn: Callable) -> Callable:
    """jit with the state donated: the old state's buffers are reused for the new one."""
    return jax.jit(step_fn, donate_argnums=0)


def make_sampler(setup: Setup) -> Callable:
    """Jitted x = G(z) for fixed-noise sample grids."""
    return jax.jit(lambda g_params, z: setup.generator.apply({"params": g_params}, z))
