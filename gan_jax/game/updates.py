"""One update of one player, the pieces every update scheme (gan_jax/game/steps.py) is built from.

Each is a module-level function of a static ``Context`` (models, optimizers, game, config) and an
immutable ``Players`` carry (both players' parameters, optimizer and model states, the G EMA):
``d_update`` and ``g_update`` take one optimizer step of one player; ``finish`` makes the next train
state and the step's flat metrics.

Model state (batch norm running averages, spectral-norm vectors) is threaded through the training
passes in the order they run, as PyTorch's in-place updates do: G's state takes every training pass of
G; D's takes D's own training passes, the real batch then the fake batch (so its running averages end
on the fake batch's moments). D's passes inside a G update and the penalties' passes run D in train
mode, but what they would write is dropped: D's state changes only where D is trained.

Conditional models (``config.model.num_classes`` > 0): the data is ``(images, labels)``; the fakes of a
D update are G(z, y) for the real minibatch's labels y, so every D pass sees y.

Counting: lazy R1/R2 (``reg.reg_every``) applies on D updates whose count (D's optimizer's, before the
update) is a multiple of ``reg_every``, as StyleGAN2 counts them; the G EMA is updated after every G
update, copying G while G's update count is below ``ema_start``.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from gan_jax.data import batches
from gan_jax.game import games, optimizers, options
from gan_jax.game.state import DATA_STREAM, STEP_STREAM, Setup, TrainState
from gan_jax.networks import latent, models

PENALTY_KEY = 7  # fold_in index of the penalties' key
UNROLL_KEY = 8  # fold_in index of an unrolled D's dropout keys (Unrolled GAN)
# Adam's eps_root in the unrolled look-ahead updates: G differentiates through sqrt(nu + eps_root), whose
# derivative is infinite at nu = 0 (a parameter whose gradients have all been 0, e.g. a maxout piece
# that never wins) unless eps_root > 0 (optax.scale_by_adam's own remedy)
UNROLL_EPS_ROOT = 1e-8


class Context(NamedTuple):
    """What a step reads besides the state; static (closed over by the jitted step)."""

    setup: Setup
    game: games.Game
    config: Any  # the run's ConfigDict
    num_train: int
    batch_sharding: Any = None  # where the minibatch and its noise live (data parallelism)


class Players(NamedTuple):
    """Both players' trainable state, carried immutably through the updates of one step."""

    g_params: Any
    d_params: Any
    g_opt_state: Any
    d_opt_state: Any
    g_state: Any
    d_state: Any
    g_ema: Any
    finite: jax.Array  # every loss and gradient norm so far finite


class DOut(NamedTuple):
    loss: jax.Array
    logits: tuple  # (real, fake) of D's training passes
    grad_norm: jax.Array


class GOut(NamedTuple):
    loss: jax.Array
    grad_norm: jax.Array


def _place(ctx: Context, x):
    return x if ctx.batch_sharding is None else jax.lax.with_sharding_constraint(x, ctx.batch_sharding)


def real_batch(ctx: Context, rng, perm, counter, dataset):
    """(perm, x, y): minibatch ``counter`` of the epoch's shuffle and its labels (None: unconditional)."""
    perm, idx = batches.next_batch_indices(
        jax.random.fold_in(rng, DATA_STREAM), perm, counter, ctx.num_train, samples_per_batch(ctx.config)
    )
    if models.num_classes(ctx.config.model):
        x, y = dataset
        return perm, _place(ctx, x[idx]), _place(ctx, y[idx])
    return perm, _place(ctx, dataset[idx]), None


def noise(ctx: Context, key):
    m = ctx.config.model
    return _place(
        ctx, latent.sample_noise(key, samples_per_batch(ctx.config), m.z_dim, **latent.noise_kwargs(m))
    )


def samples_per_batch(config) -> int:
    """Samples of a minibatch: ``batch_size`` D inputs of ``pack`` samples each."""
    return config.batch_size * config.pack


def pack(config, x):
    """PacGAN's packing (Lin et al. 2018): [B m, D] samples as [B, m D] D inputs, m consecutive samples
    each; images concatenated along their channels (flat channels-last [B, H W m C])."""
    m = config.pack
    if m == 1:
        return x
    shape = models.image_shape(config.model)
    if shape is None:
        return x.reshape(x.shape[0] // m, m * x.shape[1])
    h, w, c = shape
    images = x.reshape(x.shape[0] // m, m, h, w, c).transpose(0, 2, 3, 1, 4)
    return images.reshape(x.shape[0] // m, h * w * m * c)


def apply_train(module, params, model_state, *args, **kwargs):
    """``module`` in train mode: (output, state after the pass). With no state (None) the output alone
    is computed, the paper model's exact call; otherwise every state collection is mutable."""
    if model_state is None:
        return module.apply({"params": params}, *args, train=True, **kwargs), None
    out, new_state = module.apply(
        models.variables(params, model_state), *args, train=True, mutable=list(model_state), **kwargs
    )
    return out, dict(new_state)


def d_logits(ctx: Context, d_params, d_state, x, key, y):
    """D's train-mode logits of x (given labels y) and its state after the pass."""
    disc = ctx.setup.discriminator
    return apply_train(disc, d_params, d_state, x, rngs={"dropout": key}, **models.label_kwargs(y))


def g_forward(ctx: Context, g_params, g_state, z, y):
    """G's train-mode samples G(z) (given labels y) and its state after the pass."""
    return apply_train(ctx.setup.generator, g_params, g_state, z, **models.label_kwargs(y))


def d_objective(ctx: Context, d_params, d_state, x_real, x_fake, y, keys, d_count):
    """D's loss: ``d_loss_scale`` x (the game's plus the configured penalties: options.d_penalty, lazy
    ones on D update ``d_count``), so that a penalty weighs its lambda or gamma / 2 against the game's
    D loss as its paper writes it, whatever the scale (docs/games.md). ``keys`` = dropout keys of the
    real pass, the fake pass and the penalties; D's inputs carry instance noise (``options.instance_noise``)
    keyed by ``options.instance_noise_key`` of the penalties' key. Aux: ((real, fake) logits, D's state
    after the real then the fake pass)."""
    k_real, k_fake, k_pen = keys
    noise_key = options.instance_noise_key(k_pen)
    k_pen, k_drop = jax.random.split(k_pen)
    x_real, x_fake = options.instance_noise(ctx.config, noise_key, d_count, x_real, x_fake)
    x_real, x_fake = pack(ctx.config, x_real), pack(ctx.config, x_fake)
    real_logits, d_state = d_logits(ctx, d_params, d_state, x_real, k_real, y)
    fake_logits, d_state = d_logits(ctx, d_params, d_state, x_fake, k_fake, y)
    loss = options.d_base_loss(ctx.config, ctx.game)(real_logits, fake_logits)

    def critic(x):
        if ctx.config.reg.penalty_dropout:
            return d_logits(ctx, d_params, d_state, x, k_drop, y)[0]
        variables = models.variables(d_params, d_state)
        return ctx.setup.discriminator.apply(variables, x, train=False, **models.label_kwargs(y))

    loss += options.d_penalty(ctx.config, critic, x_real, x_fake, k_pen, d_count)
    return ctx.config.d_loss_scale * loss, ((real_logits, fake_logits), d_state)


def apply_updates(tx, grads, opt_state, params):
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def all_finite(*xs):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in xs]))


def d_update(ctx: Context, p: Players, x_real, y, key) -> tuple[Players, DOut]:
    """One D update (Algorithm 1's inner step) on the real minibatch ``x_real`` and fakes G(z) of fresh z
    (G's train pass moves G's state), then weight clipping if configured."""
    k_z, k_real, k_fake = jax.random.split(key, 3)
    keys = (k_real, k_fake, penalty_key(key))
    x_fake, g_state = g_forward(ctx, p.g_params, p.g_state, noise(ctx, k_z), y)
    grad_fn = jax.value_and_grad(d_objective, argnums=1, has_aux=True)
    (loss, (logits, d_state)), grads = grad_fn(
        ctx, p.d_params, p.d_state, x_real, x_fake, y, keys, p.d_opt_state.count
    )
    d_params, d_opt_state = apply_updates(ctx.setup.d_tx, grads, p.d_opt_state, p.d_params)
    norm = optax.tree.norm(grads)
    p = p._replace(
        d_params=options.after_d_update(ctx.config, d_params),
        d_opt_state=d_opt_state,
        g_state=g_state,
        d_state=d_state,
        finite=p.finite & all_finite(loss, norm),
    )
    return p, DOut(loss, logits, norm)


def unrolled_d(ctx: Context, d, x_real, x_fake, y, key):
    """Unrolled GAN (Metz et al. 2017, Eq. 6-7): D's parameters after ``config.unroll_steps`` = K
    look-ahead updates of its own loss and optimizer on this minibatch and these fakes, differentiable
    in the fakes (so G's gradient flows through them). ``d`` = (params, model state, optimizer state);
    unrolled update i draws its dropout masks from fold_in(key, i); model-state writes are dropped."""
    d_params, d_state, d_opt_state = d
    if "eps_root" in d_opt_state.hyperparams:  # Adam: sqrt(nu + eps_root), differentiable at nu = 0
        hyperparams = d_opt_state.hyperparams | {"eps_root": jnp.asarray(UNROLL_EPS_ROOT, jnp.float32)}
        d_opt_state = d_opt_state._replace(hyperparams=hyperparams)

    def look_ahead(carry, i):
        params, opt_state = carry
        k = jax.random.fold_in(key, i)
        keys = (*jax.random.split(k), penalty_key(k))
        grads = jax.grad(lambda q: d_objective(ctx, q, d_state, x_real, x_fake, y, keys, opt_state.count)[0])(
            params
        )
        params, opt_state = apply_updates(ctx.setup.d_tx, grads, opt_state, params)
        return (options.after_d_update(ctx.config, params), opt_state), None

    steps = jnp.arange(ctx.config.unroll_steps)
    return jax.lax.scan(look_ahead, (d_params, d_opt_state), steps)[0][0]


def g_objective(ctx: Context, g_params, g_state, d, z, y, x_real, keys, shift=None):
    """G's loss through D in train mode (the game's ``g_loss``; a real pass of ``x_real`` where the game
    reads one), D = (params, model state, optimizer state), unrolled K steps first when
    ``config.unroll_steps`` = K > 0; ``keys``: dropout keys of the fake pass, the real pass and the
    unrolling; D's inputs carry instance noise keyed by ``options.instance_noise_key`` of the real pass's
    key. ``shift`` (zeros, or None): added to the samples S = G(z), so that its gradient is dL_G/dS.
    Aux: G's state after its pass (D's is left as it is)."""
    k_drop, k_real, k_unroll = keys
    x_fake, g_state = g_forward(ctx, g_params, g_state, z, y)
    x_fake = x_fake if shift is None else x_fake + shift
    d_params, d_state, d_opt_state = d
    if ctx.config.unroll_steps:
        d_params = unrolled_d(ctx, d, x_real, x_fake, y, k_unroll)
    noise_key, count = options.instance_noise_key(k_real), d_opt_state.count
    x_real, x_fake = options.instance_noise(ctx.config, noise_key, count, x_real, x_fake)
    fake_logits = d_logits(ctx, d_params, d_state, pack(ctx.config, x_fake), k_drop, y)[0]
    real_logits = None
    if ctx.game.needs_real_for_g:
        real_logits = d_logits(ctx, d_params, d_state, pack(ctx.config, x_real), k_real, y)[0]
    return ctx.game.g_loss(real_logits=real_logits, fake_logits=fake_logits), g_state


def g_update(ctx: Context, p: Players, x_real, y, key) -> tuple[Players, GOut]:
    """One G update on fresh z through the current D, its gradient rescaled by ``options.rescale_g_grads``,
    then the G EMA (``options.after_g_update``)."""
    k_z, k_drop = jax.random.split(key)
    keys = (k_drop, penalty_key(key), jax.random.fold_in(key, UNROLL_KEY))
    d = (p.d_params, p.d_state, p.d_opt_state)
    z = noise(ctx, k_z)
    shift = sample_shift(ctx, z)
    grad_fn = jax.value_and_grad(g_objective, argnums=(1, 8), has_aux=True)
    (loss, g_state), (grads, sample_grads) = grad_fn(ctx, p.g_params, p.g_state, d, z, y, x_real, keys, shift)
    grads = options.rescale_g_grads(ctx.config, grads, sample_grads)
    g_params, g_opt_state = apply_updates(ctx.setup.g_tx, grads, p.g_opt_state, p.g_params)
    norm = optax.tree.norm(grads)
    p = p._replace(
        g_params=g_params,
        g_opt_state=g_opt_state,
        g_state=g_state,
        g_ema=options.after_g_update(ctx.config, p.g_ema, g_params, p.g_opt_state.count),
        finite=p.finite & all_finite(loss, norm),
    )
    return p, GOut(loss, norm)


def sample_shift(ctx: Context, z):
    """Zeros shaped like G's samples of ``z`` when G's gradient is rescaled (their gradient is dL_G/dS),
    else None (the samples as they are)."""
    if not ctx.config.g_grad_target:
        return None
    return jnp.zeros((z.shape[0], ctx.config.model.data_dim), jnp.float32)


def players(state: TrainState) -> Players:
    return Players(
        state.g_params,
        state.d_params,
        state.g_opt_state,
        state.d_opt_state,
        state.g_state,
        state.d_state,
        state.g_ema,
        jnp.array(True),
    )


def penalty_key(key):
    """The penalties' key of an update drawn from ``key`` (the passes' own keys are split from ``key``)."""
    return jax.random.fold_in(key, PENALTY_KEY)


def step_key(state: TrainState):
    """The key of the step at ``state``: fold_in(fold_in(rng, STEP_STREAM), step)."""
    return jax.random.fold_in(jax.random.fold_in(state.rng, STEP_STREAM), state.step)


def finish(state: TrainState, p: Players, d_out: DOut, g_out: GOut, d_updates_at_g, **changes):
    """The next state and the flat metrics dict.

    The first non-finite step is recorded as logged: the count after the update. Metrics: ``d_real`` /
    ``d_fake`` the mean sigmoid of D's last training logits (D's probability of "real" in the
    cross-entropy games only), ``d_real_score`` / ``d_fake_score`` their raw means (for a Wasserstein
    critic their difference estimates W_1), ``d_updates_at_g`` D's update count when G's last gradient
    was computed (t at step t for simultaneous updates, k (t + 1) when the k D updates go first, k t when
    G goes first), and D's and G's optimizer values now: ``lr`` and ``g_lr``, then D's ``momentum``
    (paper_sgd) or ``b1``/``b2`` (Adam).
    """
    step = state.step + 1
    bad = (state.nonfinite_step < 0) & ~p.finite
    new = state.replace(
        step=step,
        nonfinite_step=jnp.where(bad, step, state.nonfinite_step),
        **{k: v for k, v in p._asdict().items() if k != "finite"},
        **changes,
    )
    real, fake = d_out.logits
    metrics = {
        "d_loss": d_out.loss,
        "g_loss": g_out.loss,
        "d_real": jnp.mean(jax.nn.sigmoid(real)),
        "d_fake": jnp.mean(jax.nn.sigmoid(fake)),
        "d_real_score": jnp.mean(real),
        "d_fake_score": jnp.mean(fake),
        "d_updates_at_g": d_updates_at_g,
        "g_grad_norm": g_out.grad_norm,
        "d_grad_norm": d_out.grad_norm,
    }
    d_values = optimizers.hyperparams(new.d_opt_state)
    metrics["lr"] = d_values["learning_rate"]
    metrics["g_lr"] = optimizers.hyperparams(new.g_opt_state)["learning_rate"]
    return new, metrics | {k: d_values[k] for k in ("momentum", "b1", "b2") if k in d_values}
