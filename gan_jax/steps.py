"""Pure update steps: ``step(state, images) -> (state, metrics)``.

The step draws its own minibatch (``data.next_batch_indices`` at ``state.data_index``) and noise
(``fold_in(rng, step)``), so N steps fuse into one dispatch as ``lax.scan(step, state, ...)``.

Model state (``TrainState.g_state`` / ``d_state``: batch norm running averages, spectral-norm vectors).
Training applies G and D in train mode (batch norm on the batch's own moments) and threads the state
through the passes in the order they run, as the PyTorch DCGAN reference's in-place updates do:

- G's state takes every training pass of G in turn (each a batch of G's activations at the current
  parameters): the one pass of a simultaneous step; per alternating step, the pass that makes each D
  sub-step's fakes, then each G sub-step's.
- D's state takes D's own training passes, the real batch then the fake batch (separate batches through
  D, as DCGAN does), so its running averages end on the fake batch's moments (EMA momentum 0.1 each);
  with spectral norm, u moves one power iteration per such pass (``update_stats``). D's passes inside an
  alternating G sub-step and the penalties' passes (``critic(x)``) run D in train mode too, but what they
  would write is dropped: D's state changes only where D is trained. (PyTorch's DCGAN also moves D's
  running averages in G's pass; they serve only eval-mode D, never training.)

With batch norm in D a penalty's input gradient is not per example (D mixes the batch); gradient
penalties go better with ``model.spectral_norm`` (no batch norm in D), as Gulrajani et al. 2017 advise.
Sampling applies G in eval mode with its state (``make_sampler``, ``sampling_variables``).

Conditional models (``config.model.num_classes`` > 0): the step's data is ``(images, labels)`` and each
real minibatch comes with its labels y. The fakes of a D step are G(z, y) for the same y, so every D
pass (real, fake, and the penalties' passes on mixes of the two) sees the labels y, and the fakes' labels
follow the data's class frequencies. A G step conditions on the labels of the last real minibatch
(alternating: the D sub-step's; G first: the minibatch that D then takes).
"""

import json
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from gan_jax import data, games, models, options
from gan_jax.state import DATA_STREAM, STEP_STREAM, Setup, TrainState, hyperparams

UPDATES = ("simultaneous", "alternating")
PENALTY_KEY = 7  # fold_in index of the penalties' key (the step's other keys are as before)


def _mean_sigmoid(logits):
    return jnp.mean(jax.nn.sigmoid(logits))


def _apply(tx, grads, opt_state, params):
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def _finish(state: TrainState, finite, losses: tuple, logits: tuple, norms: tuple, d_updates_at_g, **changes):
    """Advances the step and builds the flat metrics dict.

    ``losses`` = (d_loss, g_loss), ``logits`` = (real, fake) of the last D pass, ``norms`` =
    (G, D) gradient norms. The first non-finite step is recorded as logged: the count after the update.
    Metrics: ``d_real`` / ``d_fake`` the mean sigmoid of D's output (D's probability of "real" in the
    cross-entropy games only), ``d_real_score`` / ``d_fake_score`` its raw mean (a critic's scores;
    their difference estimates W_1 for a Wasserstein critic), ``d_updates_at_g`` D's optimizer update
    count (a counter in the state) when G's update of this step was computed: t at step t (from 0) for
    simultaneous updates, k (t + 1) when the k D steps go first, k t when G goes first. ``lr`` and
    ``momentum`` are D's optimizer's, ``g_lr`` G's learning rate.
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
        "d_real_score": jnp.mean(logits[0]),
        "d_fake_score": jnp.mean(logits[1]),
        "d_updates_at_g": d_updates_at_g,
        "g_grad_norm": norms[0],
        "d_grad_norm": norms[1],
        "lr": hparams["learning_rate"],
        "g_lr": hyperparams(new.g_opt_state)["learning_rate"],
        "momentum": hparams["momentum"],
    }
    return new, metrics


def _all_finite(*xs):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in xs]))


def apply_train(module, params, model_state, *args, **kwargs):
    """``module`` in train mode: (output, state after the pass). With no state (None) the output alone
    is computed, the paper model's exact call; otherwise every state collection is mutable."""
    if model_state is None:
        return module.apply({"params": params}, *args, train=True, **kwargs), None
    out, new_state = module.apply(
        models.variables(params, model_state), *args, train=True, mutable=list(model_state), **kwargs
    )
    return out, dict(new_state)


def check_update_scheme(name: str) -> None:
    if name not in UPDATES:
        raise ValueError(f"unknown update {name!r}; choose one of: {', '.join(UPDATES)}")


def make_step(config, setup: Setup, num_train: int, batch_sharding=None) -> Callable:
    """The pure (un-jitted) train step chosen by ``config.update_scheme``, ``config.game`` and the
    training options of ``gan_jax.options`` (penalties, label smoothing, clipping, G EMA, order):
    ``step(state, data)``, data the training images [N, D] (on device), or the pair (images, labels
    [N] int32) for a conditional model.

    ``batch_sharding`` (a ``jax.sharding.Sharding`` or None): where the minibatch and its noise live;
    under ``jax.jit`` over a mesh, a batch sharded on a ``data`` axis makes the step data-parallel
    (XLA inserts the gradient all-reduce), the math unchanged.
    """
    check_update_scheme(config.update_scheme)
    game = games.get_game(config.game)
    options.check(config, game)
    gen, disc = setup.generator, setup.discriminator
    batch, z_dim, d_scale = config.batch_size, config.model.z_dim, config.d_loss_scale
    d_base_loss = options.d_base_loss(config, game)

    def place(x):
        return x if batch_sharding is None else jax.lax.with_sharding_constraint(x, batch_sharding)

    conditional = models.num_classes(config.model) > 0

    def real_batch(rng, perm, counter, dataset):
        """(perm, x, y): minibatch ``counter`` and its labels (None for an unconditional model)."""
        data_key = jax.random.fold_in(rng, DATA_STREAM)
        perm, idx = data.next_batch_indices(data_key, perm, counter, num_train, batch)
        if conditional:
            x, y = dataset
            return perm, place(x[idx]), place(y[idx])
        return perm, place(dataset[idx]), None

    def noise(key):
        return place(models.sample_noise(key, batch, z_dim))

    def d_logits(d_params, d_state, x, key, y):
        """D's train-mode logits (of x given labels y, when conditional) and its state after the pass."""
        return apply_train(disc, d_params, d_state, x, rngs={"dropout": key}, **models.label_kwargs(y))

    def g_forward(g_params, g_state, z, y):
        """G's train-mode samples (given labels y, when conditional) and its state after the pass."""
        return apply_train(gen, g_params, g_state, z, **models.label_kwargs(y))

    def d_objective(d_params, d_state, x_real, x_fake, y, keys, step):
        """D's loss: the game's (scaled by d_loss_scale) plus the configured penalties. ``keys`` =
        (dropout of the real pass, of the fake pass, of the penalties). Aux: ((real, fake) logits, D's
        state after the real then the fake pass; the penalties' passes leave it as it is)."""
        k_real, k_fake, k_pen = keys
        k_pen, k_drop = jax.random.split(k_pen)
        real_logits, d_state = d_logits(d_params, d_state, x_real, k_real, y)
        fake_logits, d_state = d_logits(d_params, d_state, x_fake, k_fake, y)
        d_loss = d_scale * d_base_loss(real_logits, fake_logits)

        def critic(x):
            return d_logits(d_params, d_state, x, k_drop, y)[0]

        d_loss += options.d_penalty(config, critic, x_real, x_fake, k_pen, step)
        return d_loss, ((real_logits, fake_logits), d_state)

    def simultaneous(state: TrainState, images):
        """Both gradients at the same (theta_G, theta_D), one minibatch, one z (the 2014 code)."""
        key = jax.random.fold_in(jax.random.fold_in(state.rng, STEP_STREAM), state.step)
        k_z, k_real, k_fake = jax.random.split(key, 3)
        k_d = (k_real, k_fake, jax.random.fold_in(key, PENALTY_KEY))
        perm, x_real, y = real_batch(state.rng, state.data_perm, state.data_index, images)
        z = noise(k_z)

        def losses(g_params, d_params):
            x_fake, g_state = g_forward(g_params, state.g_state, z, y)
            # one dropped-out pass serves D and G
            d_loss, ((real_logits, fake_logits), d_state) = d_objective(
                d_params, state.d_state, x_real, x_fake, y, k_d, state.step
            )
            g_loss = game.g_loss(real_logits=real_logits, fake_logits=fake_logits)
            return (d_loss, g_loss), (real_logits, fake_logits, g_state, d_state)

        (d_loss, g_loss), vjp, (real_logits, fake_logits, g_state, d_state) = jax.vjp(
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
            state.d_opt_state.count,  # G's gradient came from the D before this update
            data_index=state.data_index + 1,
            data_perm=perm,
            g_params=g_params,
            d_params=options.after_d_update(config, d_params),
            g_opt_state=g_opt_state,
            d_opt_state=d_opt_state,
            g_ema=options.after_g_update(config, state.g_ema, g_params, state.step),
            g_state=g_state,
            d_state=d_state,
        )

    def alternating(state: TrainState, images):
        """Algorithm 1: k D steps (own minibatch, fresh z each), then n G steps on fresh z through the
        updated D (``config.order='g_first'``: the G steps first, through the old D)."""
        key = jax.random.fold_in(jax.random.fold_in(state.rng, STEP_STREAM), state.step)
        d_keys = jax.random.split(jax.random.fold_in(key, 0), config.d_steps)
        g_keys = jax.random.split(jax.random.fold_in(key, 1), config.g_steps)
        s = {
            "d_params": state.d_params,
            "d_opt_state": state.d_opt_state,
            "g_params": state.g_params,
            "g_opt_state": state.g_opt_state,
            "g_state": state.g_state,
            "d_state": state.d_state,
            "perm": state.data_perm,
            "x_real": None,
            "y_real": None,
            "finite": jnp.array(True),
        }

        def d_steps(s):
            for i in range(config.d_steps):
                k_z, k_real, k_fake = jax.random.split(d_keys[i], 3)
                k_d = (k_real, k_fake, jax.random.fold_in(d_keys[i], PENALTY_KEY))
                s["perm"], x_real, y = real_batch(state.rng, s["perm"], state.data_index + i, images)
                x_fake, s["g_state"] = g_forward(s["g_params"], s["g_state"], noise(k_z), y)
                (d_loss, (logits, s["d_state"])), d_grads = jax.value_and_grad(d_objective, has_aux=True)(
                    s["d_params"], s["d_state"], x_real, x_fake, y, k_d, state.step
                )
                d_params, s["d_opt_state"] = _apply(setup.d_tx, d_grads, s["d_opt_state"], s["d_params"])
                s["d_params"] = options.after_d_update(config, d_params)
                s |= {
                    "d_loss": d_loss,
                    "logits": logits,
                    "d_norm": optax.tree.norm(d_grads),
                    "x_real": x_real,
                    "y_real": y,
                }
                s["finite"] &= _all_finite(d_loss, s["d_norm"])
            return s

        def g_steps(s):
            x_real, y = s["x_real"], s["y_real"]
            if x_real is None and (game.needs_real_for_g or conditional):  # G first: the coming batch
                _, x_real, y = real_batch(state.rng, s["perm"], state.data_index, images)
            for j in range(config.g_steps):
                k_z, k_drop = jax.random.split(g_keys[j])
                k_real = jax.random.fold_in(g_keys[j], PENALTY_KEY)  # RaGAN's real pass
                z = noise(k_z)

                def g_objective(
                    g_params,
                    z=z,
                    k_drop=k_drop,
                    k_real=k_real,
                    g_state=s["g_state"],
                    d=(s["d_params"], s["d_state"]),
                    y=y,
                ):
                    """G's loss through D in train mode; aux: G's state (D's stays: see the module doc)."""
                    d_params, d_state = d
                    x_fake, g_state = g_forward(g_params, g_state, z, y)
                    fake_logits = d_logits(d_params, d_state, x_fake, k_drop, y)[0]
                    real_logits = None
                    if game.needs_real_for_g:
                        real_logits = d_logits(d_params, d_state, x_real, k_real, y)[0]
                    return game.g_loss(real_logits=real_logits, fake_logits=fake_logits), g_state

                (g_loss, s["g_state"]), g_grads = jax.value_and_grad(g_objective, has_aux=True)(s["g_params"])
                s["g_params"], s["g_opt_state"] = _apply(setup.g_tx, g_grads, s["g_opt_state"], s["g_params"])
                s |= {"g_loss": g_loss, "g_norm": optax.tree.norm(g_grads)}
                s["finite"] &= _all_finite(g_loss, s["g_norm"])
            s["d_at_g"] = s["d_opt_state"].count  # D's updates so far: none happen among G's
            return s

        s = d_steps(g_steps(s)) if options.order(config) == "g_first" else g_steps(d_steps(s))
        return _finish(
            state,
            s["finite"],
            (s["d_loss"], s["g_loss"]),
            s["logits"],
            (s["g_norm"], s["d_norm"]),
            s["d_at_g"],
            data_index=state.data_index + config.d_steps,
            data_perm=s["perm"],
            g_params=s["g_params"],
            d_params=s["d_params"],
            g_opt_state=s["g_opt_state"],
            d_opt_state=s["d_opt_state"],
            g_ema=options.after_g_update(config, state.g_ema, s["g_params"], state.step),
            g_state=s["g_state"],
            d_state=s["d_state"],
        )

    return simultaneous if config.update_scheme == "simultaneous" else alternating


def make_multi_step(step_fn: Callable, num_steps: int, unroll: int = 1) -> Callable:
    """``num_steps`` steps fused in one dispatch: ``lax.scan`` of ``step_fn`` (same signature), its loop
    body holding ``unroll`` steps (fewer loop iterations, a larger program).

    Returns the final state and the LAST step's metrics (what a loop of single steps would log at
    that step). On CPU the result is bit-identical to ``num_steps`` calls of the jitted single step, at
    any ``unroll`` (tests/test_steps.py).
    """
    if num_steps == 1:
        return step_fn

    def multi(state, images):
        state, metrics = jax.lax.scan(
            lambda s, _: step_fn(s, images), state, None, length=num_steps, unroll=min(unroll, num_steps)
        )
        return state, jax.tree.map(lambda m: m[-1], metrics)

    return multi


def check_xla_options(opts, what: str = "xla_options") -> dict:
    """``opts`` if it is a dict of XLA debug options (name -> string, boolean or number), usable as
    ``compiler_options``; else a one-line ValueError naming ``what``."""
    if not isinstance(opts, dict) or not all(isinstance(v, str | bool | int | float) for v in opts.values()):
        raise ValueError(
            f"{what} must be a JSON object of strings, booleans or numbers: {json.dumps(opts)!r}"
        )
    return opts


def parse_xla_options(text: str, what: str = "xla_options") -> dict:
    """``check_xla_options`` of the JSON ``text``; "" gives {}. Not JSON: a one-line ValueError."""
    try:
        opts = json.loads(text) if text and text.strip() else {}
    except json.JSONDecodeError as e:
        raise ValueError(f"{what} is not JSON ({e.msg}): {text!r}") from None
    return check_xla_options(opts, what)


def jit_step(step_fn: Callable, compiler_options: dict | None = None) -> Callable:
    """jit with the state donated: the old state's buffers are reused for the new one.
    ``compiler_options``: XLA debug options for this computation alone (``jax.jit``'s, e.g.
    ``{"xla_gpu_enable_command_buffer": "FUSION,CUBLAS,CUBLASLT,CUSTOM_CALL,CUDNN,WHILE,CONDITIONAL"}``: a
    list replaces XLA's default list); an unknown name or value fails at compile time."""
    return jax.jit(step_fn, donate_argnums=0, compiler_options=compiler_options or None)


def make_sampler(setup: Setup) -> Callable:
    """Jitted ``sampler(variables, z, labels=None)`` = G(z[, labels]) in eval mode (batch norm on its
    running averages), for sample grids and evaluation; ``variables`` from ``sampling_variables(state)``."""

    def sample(variables, z, labels=None):
        return setup.generator.apply(variables, z, train=False, **models.label_kwargs(labels))

    return jax.jit(sample)


def sampling_params(state: TrainState):
    """G's parameters for samples and evaluation: the EMA when ``config.ema_decay`` > 0 keeps one."""
    return state.g_params if state.g_ema is None else state.g_ema


def sampling_variables(state: TrainState) -> dict:
    """G's variables for samples: ``sampling_params`` with G's state (the EMA, when kept, goes with the
    running averages of the trained G: no separate statistics are kept for the EMA weights)."""
    return models.variables(sampling_params(state), state.g_state)


def d_eval_variables(state: TrainState) -> dict:
    """D's variables for eval-mode plots: its params and state."""
    return models.variables(state.d_params, state.d_state)
