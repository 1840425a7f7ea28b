"""Training options beyond the game: D regularisers, label smoothing, weight clipping, the G EMA, the
order of alternating sub-steps. All are config fields (``config.reg.*``, ``config.ema_decay``,
``config.ema_start``, ``config.order``); all default off, which is the 2014 setup.

``check(config, game)`` refuses, in one line, a value out of range, an option that does not apply
to the chosen game (weight clipping without a Wasserstein critic, label smoothing of a loss that has no
labels), or one that would be ignored (a penalty's shape without the penalty, k D steps with
simultaneous updates). ``d_penalty`` is the weighted sum added to D's loss.
"""

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.errors import ConfigError
from gan_jax.game import games, regularisers
from gan_jax.networks import models

ORDERS = ("d_first", "g_first")


def check(config, game: games.Game) -> None:
    """One-line ValueError for an option out of range or one that does not apply to ``game``."""
    r, name = config.reg, config.game
    for key in ("gp_weight", "r1_gamma", "r2_gamma", "dragan_weight", "clip", "consensus"):
        if r[key] < 0:
            raise ConfigError(f"config.reg.{key} must be >= 0, got {r[key]}")
    if int(r["reg_every"]) < 1:
        raise ConfigError(f"config.reg.reg_every must be >= 1, got {r['reg_every']}")
    if not 0.0 <= r["label_smoothing"] < 1.0:
        raise ConfigError(f"config.reg.label_smoothing must be in [0, 1), got {r['label_smoothing']}")
    if r["clip"] > 0 and not game.needs_lipschitz:
        raise ConfigError(
            f"config.reg.clip (weight clipping) needs a Wasserstein critic; game {name!r} is not one"
        )
    spectral = bool(config.model.spectral_norm)
    if game.needs_lipschitz and r["clip"] == 0 and r["gp_weight"] == 0 and not spectral:
        raise ConfigError(
            f"game {name!r} needs a Lipschitz critic: set config.reg.clip (e.g. 0.01), "
            "config.reg.gp_weight (e.g. 10) or config.model.spectral_norm=True"
        )
    penalties = [k for k in ("gp_weight", "r1_gamma", "r2_gamma", "dragan_weight") if r[k]]
    if r["consensus"] and config.update_scheme == "alternating":
        raise ConfigError(
            "config.reg.consensus regularises the joint gradient field: use --update=simultaneous, "
            "extragradient or optimistic (alternating updates take the gradients at different points)"
        )
    if config.unroll_steps < 0 or (config.unroll_steps and config.update_scheme != "alternating"):
        raise ConfigError(
            f"config.unroll_steps={config.unroll_steps}: unrolled D for G's loss needs >= 0 steps and "
            "--update=alternating (D's own update stays the usual one)"
        )
    if not r["penalty_dropout"] and not penalties:
        raise ConfigError(
            "config.reg.penalty_dropout applies to the gradient penalties: set one of their weights"
        )
    if penalties and models.d_mixes_batch(config.model):
        raise ConfigError(
            f"config.reg.{penalties[0]}: a gradient penalty needs a per-example D, and this D has batch "
            "norm: set config.model.d_norm=layer (Gulrajani et al.'s critic) or none, or spectral_norm=True"
        )
    if r["label_smoothing"] > 0 and name not in ("minimax", "nonsaturating"):
        raise ConfigError(
            f"config.reg.label_smoothing applies to the cross-entropy D loss only, not game {name!r}"
        )
    _check_2014_options(config)
    if not 0.0 <= config.ema_decay < 1.0:
        raise ConfigError(f"config.ema_decay must be in [0, 1) (0: off), got {config.ema_decay}")
    if config.order not in ORDERS:
        raise ConfigError(f"unknown config.order {config.order!r}; choose one of: {', '.join(ORDERS)}")
    if config.order == "g_first" and config.update_scheme != "alternating":
        raise ConfigError("config.order=g_first applies to alternating updates only")
    _check_inert(config, r)


def _check_2014_options(config) -> None:
    """Instance noise and G-gradient rescaling: in range, not inert, not combined with what they cannot
    follow."""
    std, steps, target = config.instance_noise, int(config.instance_noise_steps), config.g_grad_target
    if not (np.isfinite(std) and std >= 0) or steps < 0:
        raise ConfigError(
            f"config.instance_noise must be >= 0 and instance_noise_steps >= 0, got {std} and {steps}"
        )
    if steps and not std:
        raise ConfigError(
            f"config.instance_noise_steps={steps} anneals instance noise: set config.instance_noise > 0"
        )
    if not (np.isfinite(target) and target >= 0):
        raise ConfigError(f"config.g_grad_target must be >= 0 (0: off), got {target}")
    if target and config.reg.consensus:
        raise ConfigError(
            "config.g_grad_target rescales G's gradient after it is taken; consensus (config.reg.consensus) "
            "differentiates the gradient field itself: use one of them"
        )


def _check_inert(config, r: dict) -> None:
    """Refuses a value that would be silently ignored: an option set whose switch is off."""
    if config.update_scheme != "alternating":
        for name in ("d_steps", "g_steps"):
            if int(config[name]) != 1:
                raise ConfigError(
                    f"config.{name}={config[name]} applies to alternating updates only "
                    "(--update=alternating); a simultaneous step updates D and G once each"
                )
    if not float(config.g_lr_multiplier) > 0:
        raise ConfigError(f"config.g_lr_multiplier must be > 0, got {config.g_lr_multiplier}")
    if r["gp_weight"] == 0 and (r["gp_one_sided"] or r["gp_target"] != 1.0):
        raise ConfigError("config.reg.gp_one_sided / gp_target shape the gradient penalty: set gp_weight > 0")
    if int(r["reg_every"]) != 1 and not (r["r1_gamma"] or r["r2_gamma"]):
        raise ConfigError(
            "config.reg.reg_every (lazy regularisation) applies to R1/R2: set r1_gamma/r2_gamma"
        )
    start = int(config.ema_start)
    if start < 0:
        raise ConfigError(f"config.ema_start must be >= 0, got {start}")
    if start and not config.ema_decay:
        raise ConfigError(f"config.ema_start={start} needs the G EMA on (config.ema_decay > 0)")


def d_base_loss(config, game: games.Game):
    """D's loss as a function of (real_logits, fake_logits): the game's, or its label-smoothed form."""
    alpha = config.reg.label_smoothing
    if alpha > 0:
        return lambda real, fake: regularisers.label_smoothed_d_loss(
            real_logits=real, fake_logits=fake, alpha=alpha
        )
    return lambda real, fake: game.d_loss(real_logits=real, fake_logits=fake)


def d_penalty(config, critic, x_real, x_fake, key, d_count) -> jax.Array:
    """lambda_GP GP + (gamma_1/2) R1 + (gamma_2/2) R2 + lambda_DRAGAN DRAGAN (each term only when its
    weight is non-zero; R1/R2 lazily on the D updates whose count ``d_count`` is a multiple of ``reg_every``,
    scaled by it, as StyleGAN2 counts them). ``critic(x) -> [B]``."""
    r = config.reg
    k_gp, k_dragan = jax.random.split(key)
    total = jnp.zeros((), jnp.float32)
    if r["gp_weight"]:
        gp = regularisers.gradient_penalty(
            critic, x_real, x_fake, k_gp, target=r["gp_target"], one_sided=bool(r["gp_one_sided"])
        )
        total += r["gp_weight"] * gp
    if r["dragan_weight"]:
        total += r["dragan_weight"] * regularisers.dragan_penalty(critic, x_real, k_dragan)
    if r["r1_gamma"] or r["r2_gamma"]:
        apply, scale = regularisers.lazy_scale(d_count, int(r["reg_every"]))

        def r12():
            out = jnp.zeros((), jnp.float32)
            if r["r1_gamma"]:
                out += 0.5 * r["r1_gamma"] * regularisers.r1_penalty(critic, x_real)
            if r["r2_gamma"]:
                out += 0.5 * r["r2_gamma"] * regularisers.r2_penalty(critic, x_fake)
            return out

        total += scale * jax.lax.cond(apply, r12, lambda: jnp.zeros((), jnp.float32))
    return total


INSTANCE_NOISE_KEY = 9  # fold_in index, under a pass's penalty key, of its instance noise


def instance_noise_key(key):
    """The instance noise's key of the D passes whose penalty key is ``key`` (updates.penalty_key)."""
    return jax.random.fold_in(key, INSTANCE_NOISE_KEY)


def instance_noise(config, key, d_count, x_real, x_fake):
    """D's inputs with instance noise (the 2014 code's ``noise_both``, goodfeli/adversarial __init__.py
    ``AdversaryCost2.get_samples_and_objectives``: S + N(0, 1) noise_both, X + N(0, 1) noise_both;
    Sonderby et al. 2016, Arjovsky & Bottou 2017 anneal it):

        x~ = x + s_t eps_real,  G(z)~ = G(z) + s_t eps_fake,  s_t = s max(0, 1 - t / N),

    eps_real, eps_fake ~ N(0, I) from ``jax.random.split(key, 2)``, t = ``d_count`` (D's updates so far),
    s = ``config.instance_noise``, N = ``config.instance_noise_steps`` (0: s_t = s). The inputs are
    returned as they are when s = 0 (no option, the same program)."""
    std = config.instance_noise
    if not std:
        return x_real, x_fake
    steps = int(config.instance_noise_steps)
    if steps:
        std = std * jnp.maximum(0.0, 1.0 - d_count.astype(jnp.float32) / steps)
    k_real, k_fake = jax.random.split(key)
    noisy = lambda k, x: x + std * jax.random.normal(k, x.shape, x.dtype)  # noqa: E731
    return noisy(k_real, x_real), noisy(k_fake, x_fake)


def rescale_g_grads(config, g_grads, sample_grads):
    """The 2014 code's ``scale_grads`` (goodfeli/adversarial __init__.py, ``AdversaryCost2.get_gradients``,
    lines 400-403): G's gradient times

        max(1, target_scale / ||dL_G/dS||_F),

    S the minibatch of samples G(z) [B, D] (the Frobenius norm over the whole batch), target_scale =
    ``config.g_grad_target``: a G whose samples barely move its loss takes larger steps. Off (the grads
    as they are) when the target is 0; a zero ``sample_grads`` (then G's gradient is 0 too) keeps scale 1."""
    target = config.g_grad_target
    if not target:
        return g_grads
    norm = jnp.sqrt(jnp.sum(jnp.square(sample_grads)))
    scale = jnp.where(norm > 0, jnp.maximum(1.0, target / jnp.where(norm > 0, norm, 1.0)), 1.0)
    return jax.tree.map(lambda g: g * scale, g_grads)


def after_d_update(config, d_params):
    """Weight clipping (when ``config.reg.clip`` > 0)."""
    c = config.reg.clip
    return regularisers.clip_weights(d_params, c) if c > 0 else d_params


def after_g_update(config, g_ema, g_params, g_count):
    """The G EMA after a G update whose count (before it) is ``g_count``: a copy of G while
    ``g_count`` < ``ema_start``, then decay * ema + (1 - decay) * params."""
    if g_ema is None:
        return None
    return regularisers.ema_update(g_ema, g_params, config.ema_decay, g_count, int(config.ema_start))
