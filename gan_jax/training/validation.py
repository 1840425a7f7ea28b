"""Every check of a run's config, in one place, run once before any data loads.

A mistake is one ``ConfigError`` line naming the field, what it holds and what it may hold.
"""

import jax
import numpy as np

from gan_jax import config as config_lib
from gan_jax.data import datasets
from gan_jax.errors import ConfigError, DataError
from gan_jax.game import games, moment_matching, optimizers, options, replicas, steps
from gan_jax.metrics import evaluate
from gan_jax.networks import latent, models
from gan_jax.training import autoencoder, collapse, final_eval, parallel, precision

NONFINITE = ("stop", "freeze")
POSITIVE = ("num_steps", "batch_size", "log_every", "ckpt_every", "sample_every", "d_steps", "g_steps")
POSITIVE += ("steps_per_call", "num_replicas", "scan_unroll", "keep_checkpoints", "pack")


def validate(config) -> None:
    """Raises ``ConfigError`` for the first field that is unknown, out of range, or inert."""
    _choice(config, "game", list(games.GAMES))  # (before anything looks the game up)
    steps.check_update_scheme(config.update_scheme)
    moment_matching.check(config)  # (first: a game without D refuses D's options by that name)
    autoencoder.check(config)  # GMMN+AE's trained autoencoder
    options.check(config, games.get_game(config.game))
    for name in POSITIVE:
        if int(config[name]) < 1:
            raise ConfigError(f"config.{name} must be >= 1, got {config[name]}")
    if config.eval_every < 0 or (config.eval_every and config.eval_samples < 1):
        raise ConfigError("config.eval_every must be >= 0 (0: never) and config.eval_samples >= 1")
    _choice(config, "on_nonfinite", NONFINITE)
    _choice(config, "on_collapse", collapse.ON_COLLAPSE)
    for name in ("collapse_d_fake", "collapse_grad_drop", "collapse_diversity"):
        if not 0 <= config[name] <= 1:
            raise ConfigError(f"config.{name} must be in [0, 1], got {config[name]}")
    if config.data.name not in config_lib.DATASETS:
        raise ConfigError(
            f"unknown dataset {config.data.name!r}; choose one of: {', '.join(config_lib.DATASETS)}"
        )
    if config.eval_every and config.data.name not in evaluate.METRIC_DATASETS:  # (it would draw for nothing)
        raise ConfigError(
            f"config.eval_every={config.eval_every}, but dataset {config.data.name!r} has no metrics "
            f"(evaluation measures {', '.join(evaluate.METRIC_DATASETS)}): set config.eval_every=0"
        )
    models.build_models(config)  # unknown model, dtype, conv_impl, d_norm or conditioning
    _check_noise(config.model)
    _check_random_features(config)
    precision.check(config)
    optimizers.make_optimizer(config.optim, 1)
    optimizers.g_optim(config)
    replicas.replica_hparams(config)
    replicas.mode(config)
    xla_options(config, check=True)
    _check_data_fits_model(config)
    if config.pack > 1 and models.num_classes(config.model):
        raise ConfigError(
            "config.pack > 1 (PacGAN) is for unconditional models: set config.model.num_classes=0"
        )
    _check_processes(config)
    if config.data_parallel and replicas.num_replicas(config) > 1:
        raise ConfigError("config.num_replicas > 1 and config.data_parallel cannot be combined")
    if config.data_parallel:  # the batch is split over every device (train's mesh), found before any write
        parallel.check_batch(config.batch_size, parallel.make_mesh())
    final_eval.check(config)  # the two-set metrics at the end, refused now rather than after training


def _check_processes(config) -> None:
    """Several processes (--distributed) train one model together, data-parallel."""
    if jax.process_count() > 1 and not config.data_parallel:
        raise ConfigError(
            f"{jax.process_count()} processes (--distributed) train one model together only with "
            "config.data_parallel=True; alone, each would train its own copy into the same workdir"
        )
    if jax.process_count() > 1 and config.on_collapse == "stop":
        raise ConfigError("config.on_collapse=stop is decided on host 0 alone: use 'warn' with several hosts")


def _check_noise(model_config) -> None:
    if model_config.noise not in latent.NOISES:
        raise ConfigError(
            f"unknown config.model.noise {model_config.noise!r}; choose one of: {', '.join(latent.NOISES)}"
        )
    scale = float(model_config.noise_scale)
    if not (np.isfinite(scale) and scale >= 0):
        raise ConfigError(
            f"config.model.noise_scale must be finite and >= 0 (0: the noise's own), got {scale}"
        )


def _check_random_features(config) -> None:
    """A random-feature D (gan_jax/networks/random_features.py) has no batch, dropout or unrolling of its
    own to configure: the options that shape the family's D network are refused, not ignored."""
    m = config.model
    defaults = config_lib.model_config(m.name)
    for prefix, owner in (("rff_", "random_fourier"), ("rconv_", "random_conv")):
        changed = [k for k in m if k.startswith(prefix) and m[k] != defaults.get(k)]
        if changed and m.discriminator != owner:
            raise ConfigError(
                f"config.model.{changed[0]} shapes config.model.discriminator={owner!r}, not "
                f"{m.discriminator!r}: set config.model.discriminator={owner} or leave it at its default"
            )
    if m.discriminator == "network":
        return
    if m.get("d_minibatch_std", False):
        raise ConfigError(
            f"config.model.d_minibatch_std is a feature of the family's D network, not of "
            f"config.model.discriminator={m.discriminator!r}: set it False"
        )
    if not config.reg.penalty_dropout:
        raise ConfigError(
            f"config.reg.penalty_dropout=False turns off a dropout that "
            f"config.model.discriminator={m.discriminator!r} does not have: leave it True"
        )


def _choice(config, name: str, choices) -> None:
    if config[name] not in choices:
        raise ConfigError(f"unknown config.{name} {config[name]!r}; choose one of: {', '.join(choices)}")


def _check_data_fits_model(config) -> None:
    """Labels for a conditional model, and G's output range against the data's pixel range."""
    classes, name = models.num_classes(config.model), config.data.name
    if classes and name not in datasets.LABELLED:
        raise ConfigError(
            f"config.model.num_classes={classes}: a conditional model needs class labels; dataset "
            f"{name!r} has none (labelled: {', '.join(datasets.LABELLED)})"
        )
    if classes and classes != datasets.NUM_CLASSES[name]:
        raise ConfigError(
            f"config.model.num_classes={classes} but {name!r} has {datasets.NUM_CLASSES[name]} classes"
        )
    pixels, output = datasets.pixel_range(config.data), models.output_range(config.model)
    if None not in (pixels, output) and pixels != output:
        raise ConfigError(
            f"G's output range {output} does not match the data's {pixels}: "
            "set config.model.output (sigmoid for [0, 1], tanh for [-1, 1])"
        )


def check_data(config, x_train: np.ndarray, y_train: np.ndarray, num_train: int) -> None:
    """What needs the loaded training set: its dimension, its size against the batch, and a conditional
    model's labels in [0, num_classes) (a host that reads its own rows checks those)."""
    classes = models.num_classes(config.model)
    if classes and len(y_train) and (y_train.min() < 0 or y_train.max() >= classes):
        raise DataError(
            f"training labels span [{y_train.min()}, {y_train.max()}]; config.model.num_classes={classes}"
        )
    if x_train.shape[1] != config.model.data_dim:
        raise ConfigError(
            f"dataset {config.data.name!r} has {x_train.shape[1]} dims, config.model.data_dim="
            f"{config.model.data_dim}"
        )
    if config.batch_size * config.pack > num_train:
        raise ConfigError(
            f"config.batch_size={config.batch_size} (x config.pack={config.pack}) exceeds the {num_train} "
            f"training examples of {config.data.name!r}"
        )


def xla_options(config, check: bool = False) -> dict:
    """``config.xla_options`` as the training step's ``compiler_options``. ``check``: compile a trivial
    function with them, so that an unknown option or value fails here, in one line."""
    opts = steps.parse_xla_options(config.xla_options, "config.xla_options")
    if check and opts:
        try:
            jax.jit(lambda x: x + 1).lower(np.float32(0)).compile(compiler_options=opts)
        except jax.errors.JaxRuntimeError as e:  # XLA's own message names the option and why
            raise ConfigError(f"config.xla_options: {(str(e).splitlines() or [repr(e)])[0]}") from None
    return opts
