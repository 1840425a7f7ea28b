"""Theorem 1's fixed point reached by an actual GAN run: at convergence in 1-D with enough capacity,
p_g ~ p_data and D ~ 1/2 on the data support (the paper's Figure 1 (d))."""

import jax
import numpy as np
from absl import logging

from experiments.configs import mixture1d
from gan_jax.game.state import make_setup
from gan_jax.networks import latent
from gan_jax.training import train

MEAN, STD = 1.0, 0.7


def test_converged_1d_run_has_d_one_half_and_matches_the_data(tmp_path):
    logging.set_verbosity(logging.WARNING)
    config = mixture1d.get_config()
    config.data.name, config.data.means, config.data.stds = "gauss1d", (MEAN,), (STD,)
    config.num_steps, config.seed = 6000, 0
    config.log_every = config.sample_every = config.ckpt_every = 6000
    state = train.train(config, str(tmp_path))
    setup = make_setup(config, config.data.num_train)

    # D on mu ± 2 std, where the data has 95 % of its mass. Measured at step 6000: max |D - 1/2| =
    # 0.048 (seed 0; 0.061 for seed 1); tolerance 0.15, since SGD on finite batches leaves D a few
    # hundredths from 1/2. D is already near 1/2 at step 300 (0.084), so the check that separates an
    # early from a converged run is G's: std 0.52 at step 300 vs 0.65 at step 6000 (data: 0.7).
    x = np.linspace(MEAN - 2 * STD, MEAN + 2 * STD, 200, dtype=np.float32)[:, None]
    d = jax.nn.sigmoid(setup.discriminator.apply({"params": state.d_params}, x, train=False))
    assert float(np.abs(np.asarray(d) - 0.5).max()) < 0.15

    z = latent.sample_noise(jax.random.PRNGKey(1), 20_000, 1)
    g = np.asarray(setup.generator.apply({"params": state.g_params}, z))[:, 0]
    assert abs(g.mean() - MEAN) < 0.1 and abs(g.std() - STD) < 0.1
