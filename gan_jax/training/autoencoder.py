"""GMMN+AE's second stage (Li, Swersky & Zemel 2015): a run of model 'gmmn_ae' reads the autoencoder that
a run of its own trained first (game and model 'autoencoder', in the workdir ``config.mmd.autoencoder``).
Its decoder goes into the new run's state once (``CodeGenerator``'s ``autoencoder`` collection, saved in
every checkpoint), and its encoder turns the training images into the codes that G's codes are matched to
(eval mode: no dropout), as GMMN's code takes the MMD between generated and encoded training codes."""

import os

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.errors import ConfigError, EvalError
from gan_jax.game import replicas
from gan_jax.networks import autoencoder, models
from gan_jax.training import evaluation, storage
from gan_jax.training.checkpoints import checkpoint_manager

HOW = (
    "train it first: python launch.py --config=experiments/configs/gmmn_ae_mnist.py:autoencoder --workdir=DIR"
)


def check(config) -> None:
    """One line unless a 'gmmn_ae' run names a finished autoencoder run that fits it."""
    if config.model.name != "gmmn_ae":
        return
    path, m = config.mmd.autoencoder, config.model
    if not path:
        raise ConfigError(f"GMMN+AE needs its trained autoencoder in config.mmd.autoencoder; {HOW}")
    if config.data_parallel:
        raise ConfigError("GMMN+AE (model 'gmmn_ae') trains on one device: set config.data_parallel=False")
    ae = _finished(path)
    a = ae.model
    if ae.game != "autoencoder" or ae.data.name != config.data.name:
        raise ConfigError(
            f"config.mmd.autoencoder={path} is a {ae.game!r} run on {ae.data.name!r}, not an "
            f"autoencoder of {config.data.name!r}; {HOW}"
        )
    if (a.z_dim, a.ae_hidden, a.data_dim) != (m.code_dim, m.ae_hidden, m.data_dim):
        raise ConfigError(
            f"the autoencoder in {path} has code {a.z_dim}, hidden {a.ae_hidden}, data {a.data_dim}; "
            f"config.model has code_dim {m.code_dim}, ae_hidden {m.ae_hidden}, data_dim {m.data_dim}"
        )


def _finished(path: str):
    """The config of the autoencoder run in ``path``, whose latest checkpoint is its last step."""
    if storage.is_remote(path):
        raise ConfigError(
            f"config.mmd.autoencoder={path}: the autoencoder run is read from a local directory; copy it "
            "down first (gcloud storage cp -r)"
        )
    try:
        ae = evaluation.load_run_config(path)
    except EvalError:
        raise ConfigError(f"config.mmd.autoencoder={path} holds no run (no config.json); {HOW}") from None
    directory = os.path.join(os.path.abspath(path), "checkpoints")
    step = None
    if os.path.isdir(directory):
        with checkpoint_manager(directory) as mngr:
            step = mngr.latest_step()
    if step is None or step < int(ae.num_steps):
        raise ConfigError(
            f"the autoencoder run in {path} is not finished (checkpoint step {step} of {ae.num_steps}); "
            "resume it with its config and workdir"
        )
    return ae


def prepare(config, state, dataset):
    """(``state`` with the trained decoder in G's ``autoencoder`` collection, ``dataset`` encoded):
    the codes [N, code_dim] of the training images under the trained encoder, in eval mode."""
    ae_config = evaluation.load_run_config(config.mmd.autoencoder)
    num_train = int(np.shape(dataset)[0])
    mean = models.init_mean_pixel(ae_config.model, None)
    setup, ae_state = evaluation.restore_generator(config.mmd.autoencoder, ae_config, mean, num_train)
    params = ae_state.g_params
    decoder = {k: params[k] for k in autoencoder.DECODER_LAYERS}
    count = replicas.num_replicas(config)
    if count > 1:  # the same decoder in every replica
        decoder = jax.tree.map(lambda x: jnp.broadcast_to(x, (count, *x.shape)), decoder)
    g_state = dict(state.g_state) | {autoencoder.COLLECTION: {autoencoder.DECODER: decoder}}
    encode = jax.jit(lambda x: setup.generator.apply({"params": params}, x, method="encode"))
    codes = jnp.concatenate([encode(dataset[i : i + 10_000]) for i in range(0, num_train, 10_000)])
    return state.replace(g_state=g_state), codes
