"""The moment-matching games in the one train state: GMMN (G alone, minimising the MMD between its
samples and the data; Li, Swersky & Zemel 2015) and MMD-GAN (the kernel on features D learns; Li et al.
2017), with their kernel from ``config.mmd``.

GMMN has no discriminator: its state's D entries (``d_params``, ``d_state``, ``d_opt_state``) are None,
``gmmn_step`` updates G only and logs no D metric, and ``check`` refuses, in one line, every option that
would act on a D. ``config.optim`` is then G's optimizer (``config.g_optim`` still overrides it). MMD-GAN
is an ordinary game over a D whose output is k features (``model.d_features``), trained by the usual
update schemes.
"""

import functools

import jax
import jax.numpy as jnp
import optax

from gan_jax import config as config_lib
from gan_jax.errors import ConfigError
from gan_jax.game import games, optimizers, options
from gan_jax.game.state import TrainState
from gan_jax.game.updates import Context, all_finite, apply_train, apply_updates, noise, real_batch, step_key

MMD_GAMES = ("gmmn", "mmd_gan")
AE_MODELS = {"autoencoder": "autoencoder", "gmmn_ae": "gmmn"}  # GMMN+AE's models and their games
# the fields of a run that act on D only, each refused off its default when the game has no D
D_FIELDS = ("update_scheme", "d_steps", "g_steps", "order", "d_loss_scale", "unroll_steps", "pack")
D_FIELDS += ("instance_noise", "instance_noise_steps", "g_grad_target")  # D's inputs; G's grad through D
D_MODEL_PREFIXES = ("d_", "rff_", "rconv_")  # the model fields of D (and these whole names:)
D_MODEL_FIELDS = ("discriminator", "spectral_norm", "conditioning", "ndf")


def bind(game: games.Game, config) -> games.Game:
    """``game`` with its kernel's fields from ``config.mmd`` (the moment-matching games; others as is)."""
    if config.game not in MMD_GAMES:
        return game
    kernel = {"sigmas": tuple(float(s) for s in config.mmd.sigmas)}
    if config.game == "mmd_gan":
        kernel["hinge_weight"] = float(config.mmd.hinge_weight)
        return game._replace(
            d_loss=functools.partial(game.d_loss, **kernel), g_loss=functools.partial(game.g_loss, **kernel)
        )
    return game._replace(g_loss=functools.partial(game.g_loss, **kernel))


def gmmn_step(ctx: Context, state: TrainState, dataset):
    """One GMMN iteration (yujiali/gmmn ``train.py``): a real minibatch and fresh z, G's loss
    sqrt(MMD^2_b(G(z), x)) (``ctx.game.g_loss``), one step of G's optimizer, then the G EMA. GMMN+AE
    (model 'gmmn_ae'): G's codes against the minibatch's, ``dataset`` the encoded training set."""
    perm, x_real, _ = real_batch(ctx, state.rng, state.data_perm, state.data_index, dataset)
    z = noise(ctx, step_key(state))
    method = {"method": "code"} if ctx.config.model.name == "gmmn_ae" else {}

    def loss_fn(g_params):
        x_fake, g_state = apply_train(ctx.setup.generator, g_params, state.g_state, z, **method)
        return ctx.game.g_loss(real_logits=x_real, fake_logits=x_fake), g_state

    return _update_g(ctx, state, loss_fn, perm)


def autoencoder_step(ctx: Context, state: TrainState, dataset):
    """One step of GMMN+AE's autoencoder: on a real minibatch x, the binary cross-entropy of its
    reconstruction, summed over pixels and averaged over the batch, with the encoder's dropout."""
    perm, x_real, _ = real_batch(ctx, state.rng, state.data_perm, state.data_index, dataset)
    key = step_key(state)

    def loss_fn(g_params):
        logits, g_state = apply_train(
            ctx.setup.generator, g_params, state.g_state, x_real, rngs={"dropout": key}, method="reconstruct"
        )
        return jnp.mean(jnp.sum(optax.sigmoid_binary_cross_entropy(logits, x_real), axis=1)), g_state

    return _update_g(ctx, state, loss_fn, perm)


def _update_g(ctx: Context, state: TrainState, loss_fn, perm):
    """G's update by ``loss_fn(g_params) -> (loss, g_state)``: the next state (G's optimizer step, the G
    EMA, the data position) and the metrics: G's loss, gradient norm and optimizer values (``g_lr``,
    ``g_momentum`` / ``g_b1``...); nothing of a D."""
    (loss, g_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.g_params)
    g_params, g_opt_state = apply_updates(ctx.setup.g_tx, grads, state.g_opt_state, state.g_params)
    norm = optax.tree.norm(grads)
    step = state.step + 1
    bad = (state.nonfinite_step < 0) & ~all_finite(loss, norm)
    new = state.replace(
        step=step,
        nonfinite_step=jnp.where(bad, step, state.nonfinite_step),
        g_params=g_params,
        g_opt_state=g_opt_state,
        g_state=g_state,
        g_ema=options.after_g_update(ctx.config, state.g_ema, g_params, state.g_opt_state.count),
        data_index=state.data_index + 1,
        data_perm=perm,
    )
    values = optimizers.hyperparams(g_opt_state)
    metrics = {"g_loss": loss, "g_grad_norm": norm, "g_lr": values["learning_rate"]}
    return new, metrics | {f"g_{k}": values[k] for k in ("momentum", "b1", "b2", "decay") if k in values}


ALONE = {"gmmn": gmmn_step, "autoencoder": autoencoder_step}  # the steps of the games without D


def check(config) -> None:
    """One-line ConfigError for a kernel field off its default outside the moment-matching games, a bad
    kernel, MMD-GAN without a feature D, and, for a game without D (GMMN), any field that acts on D."""
    name, game = config.game, games.get_game(config.game)
    default = config_lib.get_config()
    model = config.model.name
    if (name == "autoencoder" or model in AE_MODELS) and AE_MODELS.get(model) != name:
        raise ConfigError(
            f"game {name!r} with model {model!r}: GMMN+AE trains model 'autoencoder' with game "
            "'autoencoder', then model 'gmmn_ae' with game 'gmmn' (experiments/configs/gmmn_ae_mnist.py)"
        )
    if config.mmd.autoencoder and model != "gmmn_ae":
        raise ConfigError("config.mmd.autoencoder is GMMN+AE's: set config.model to model_config('gmmn_ae')")
    features = int(config.model.get("d_features", 0))
    if name not in MMD_GAMES:
        for key, value in config.mmd.items():  # (incl. the autoencoder: 'gmmn_ae' alone reads it)
            if _differs(value, default.mmd[key]):
                raise ConfigError(
                    f"config.mmd.{key} is the kernel of the games {', '.join(MMD_GAMES)}, not {name!r}"
                )
        if features:
            raise ConfigError(
                f"config.model.d_features={features}: game {name!r} needs D's one logit; set it to 0"
            )
        if not game.discriminator:  # GMMN+AE's autoencoder
            _check_no_discriminator(config, default)
        return
    sigmas = tuple(config.mmd.sigmas)
    if not sigmas or not all(float(s) > 0 for s in sigmas):
        raise ConfigError(f"config.mmd.sigmas must be kernel variances > 0, got {sigmas}")
    if name == "mmd_gan":
        if not features or config.model.get("discriminator", "network") != "network":
            raise ConfigError(
                "game 'mmd_gan' learns a feature map: use model 'mlp' with config.model.d_features=k > 0"
            )
        penalties = [k for k in ("gp_weight", "r1_gamma", "r2_gamma", "dragan_weight") if config.reg[k]]
        if penalties:
            raise ConfigError(
                f"config.reg.{penalties[0]} penalises a scalar critic; MMD-GAN's D outputs features"
            )
    if name != "mmd_gan" and _differs(config.mmd.hinge_weight, default.mmd.hinge_weight):
        raise ConfigError("config.mmd.hinge_weight is MMD-GAN's (game 'mmd_gan')")
    if not game.discriminator:
        _check_no_discriminator(config, default)


def _check_no_discriminator(config, default) -> None:
    """Every field of ``config`` that acts on D, refused off its default (the game has no D)."""
    name = config.game

    def refuse(field, value, expected):
        raise ConfigError(
            f"game {name!r} has no discriminator: config.{field}={value!r} cannot apply "
            f"(leave it {expected!r})"
        )

    for field in (f for f in D_FIELDS if f in default):
        if _differs(config[field], default[field]):
            refuse(field, config[field], default[field])
    for key, value in config.reg.items():
        if _differs(value, default.reg[key]):
            refuse(f"reg.{key}", value, default.reg[key])
    model_default = config_lib.model_config(config.model.name)
    d_keys = [k for k in config.model.keys() if k.startswith(D_MODEL_PREFIXES) or k in D_MODEL_FIELDS]
    for key in d_keys:
        if key in model_default and _differs(config.model[key], model_default[key]):
            refuse(f"model.{key}", config.model[key], model_default[key])
    if int(config.model.num_classes):
        refuse("model.num_classes", config.model.num_classes, 0)
    if '"d.' in config.replica_hparams:
        raise ConfigError(f"game {name!r} has no discriminator: config.replica_hparams sets 'd.' values")


def _differs(value, default) -> bool:
    if isinstance(value, tuple | list) or isinstance(default, tuple | list):
        return tuple(value) != tuple(default)
    return value != default
