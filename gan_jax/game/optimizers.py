"""D's and G's optax optimizers from the config: the 2014 code's SGD with its schedules, Adam, GMMN's
SGD with a one-time change of learning rate and momentum, or RMSprop (MMD-GAN's).

Both are wrapped in ``optax.inject_hyperparams``, so the current learning rate (and momentum or
Adam's betas) live in the optimizer state: logged each step, and per replica in a grid.
"""

import math

import jax.numpy as jnp
import ml_collections
import optax

from gan_jax import config as config_lib
from gan_jax.errors import ConfigError


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


def step_optimizer(optim) -> optax.GradientTransformation:
    """GMMN's SGD (yujiali/gmmn ``train.py``): classical momentum with lr ``learning_rate`` and momentum
    ``momentum`` for the first ``change_at`` updates, ``learning_rate_after`` and ``momentum_after`` from
    then on (MNIST: 2 and 0.9, then 0.2 and 0.99 from update 10,000)."""

    def switched(before, after):
        return lambda count: jnp.where(count < optim.change_at, before, after)

    return optax.inject_hyperparams(classical_momentum)(
        learning_rate=switched(optim.learning_rate, optim.learning_rate_after),
        momentum=switched(optim.momentum, optim.momentum_after),
    )


def make_optimizer(optim, updates_per_epoch: int) -> optax.GradientTransformation:
    """``optim.name``: 'paper_sgd' (the 2014 schedule above), 'adam' (constant lr, b1, b2), 'step_sgd'
    (``step_optimizer``) or 'rmsprop' (PyTorch's: eps outside the square root, no momentum)."""
    if optim.name == "adam":
        return optax.inject_hyperparams(optax.adam)(
            learning_rate=optim.learning_rate, b1=optim.b1, b2=optim.b2
        )
    if optim.name == "step_sgd":
        return step_optimizer(optim)
    if optim.name == "rmsprop":
        return optax.inject_hyperparams(optax.rmsprop, static_args=("eps_in_sqrt",))(
            learning_rate=optim.learning_rate, decay=optim.decay, eps=optim.eps, eps_in_sqrt=False
        )
    if optim.name != "paper_sgd":
        raise ConfigError(
            f"unknown optimizer {optim.name!r}; choose one of: {', '.join(config_lib.OPTIMIZERS)}"
        )
    return paper_optimizer(optim, updates_per_epoch)


def g_optim(config) -> ml_collections.ConfigDict:
    """G's optimizer config: D's (``config.optim``) with the fields ``config.g_optim`` sets (None
    there: D's value); another optimizer ``name`` starts from ``config.optim_config(name)`` instead of
    D's fields and needs a ``learning_rate``. G's learning rate is then x ``config.g_lr_multiplier``
    (two time scales, Heusel et al. 2017)."""
    d = config.optim.copy_and_resolve_references().to_dict()
    given = {k: v for k, v in config.g_optim.to_dict().items() if v is not None}
    name = given.get("name", d["name"])
    if name != d["name"]:
        if name not in config_lib.OPTIMIZERS:
            raise ConfigError(
                f"unknown config.g_optim.name {name!r}; choose one of: {', '.join(config_lib.OPTIMIZERS)}"
            )
        if "learning_rate" not in given:
            raise ConfigError(
                f"config.g_optim.name={name!r} (D's: {d['name']!r}) needs a g_optim.learning_rate"
            )
        d = config_lib.optim_config(name).to_dict()
    unread = set(given) - set(d)
    if unread:
        raise ConfigError(f"config.g_optim.{', '.join(sorted(unread))}: not a field of optimizer {name!r}")
    g = d | given
    g["learning_rate"] = g["learning_rate"] * config.g_lr_multiplier
    return ml_collections.ConfigDict(g)


def hyperparams(opt_state) -> dict:
    """The values ``inject_hyperparams`` keeps in an optimizer state now: the learning rate and
    momentum (paper_sgd) or b1 and b2 (Adam), by their optimizer's names."""
    return dict(opt_state.hyperparams)
