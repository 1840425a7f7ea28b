r"""The paper's Figure 1 in 1-D, from real training: p_data (dotted), p_g (solid), D(x) (dashed) and
the z-line with arrows z -> x = G(z), at four stages of one run (resumed from its own checkpoints).

Run (about a minute on 2 CPU cores):
  python experiments/scripts/figure1.py --out=experiments/reports/figures/figure1_mixture.png
  python experiments/scripts/figure1.py --target=gauss1d --out=experiments/reports/figures/figure1_gauss.png
"""

import os
import sys

import jax
import matplotlib.pyplot as plt
import numpy as np
from absl import app, flags, logging

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from experiments.configs import mixture1d  # noqa: E402
from gan_jax.data import datasets
from gan_jax.game.state import make_setup  # noqa: E402
from gan_jax.networks import latent, models
from gan_jax.training import (
    figures,
    train,  # noqa: E402
)

_OUT = flags.DEFINE_string("out", "experiments/reports/figures/figure1_mixture.png", "PNG to write.")
_WORKDIR = flags.DEFINE_string("workdir", "/tmp/gan_jax/figure1", "Run directory (resumed if present).")
_TARGET = flags.DEFINE_enum("target", "mixture1d", ["mixture1d", "gauss1d"], "The 1-D data distribution.")
_STAGES = flags.DEFINE_list("stages", ["0", "300", "1500", "10000"], "Steps at which to draw a panel.")


def get_config():
    config = mixture1d.get_config()
    if _TARGET.value == "gauss1d":
        config.data.name, config.data.means, config.data.stds = "gauss1d", (1.0,), (0.7,)
    config.sample_every = config.ckpt_every = 1_000_000
    return config


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    config = get_config()
    x_train = datasets.load_dataset(config.data)["train"][0]
    setup = make_setup(config, len(x_train))
    x_grid = np.linspace(-4.5, 4.5, 600, dtype=np.float32)
    p_data = datasets.toy_density(config.data, x_grid)
    z_line = np.linspace(-np.sqrt(3), np.sqrt(3), 25, dtype=np.float32)[:, None]
    z_many = latent.sample_noise(jax.random.PRNGKey(1), 20_000, 1)
    stages = [int(s) for s in _STAGES.value]
    fig, axes = plt.subplots(1, len(stages), figsize=(4 * len(stages), 3.4))
    for ax, (letter, step) in zip(axes, zip("abcdefgh", stages, strict=False), strict=True):
        config.num_steps = max(step, 1)
        state = train.train(config, _WORKDIR.value) if step else None
        if state is None:  # the initial state, before any update
            from gan_jax.game.state import create_train_state

            state = create_train_state(config, setup, x_train.mean(0), len(x_train))
        g_variables = models.variables(state.g_params, state.g_state)
        g = lambda z, v=g_variables: np.asarray(setup.generator.apply(v, z))[:, 0]  # noqa: E731
        logits = setup.discriminator.apply(
            models.variables(state.d_params, state.d_state), x_grid[:, None], train=False
        )
        figures.figure1_panel(
            ax,
            x_grid,
            p_data,
            g(z_many),
            jax.nn.sigmoid(logits),
            z_line[:, 0],
            g(z_line),
            f"({letter}) step {step}",
        )
    axes[0].legend(fontsize=7, loc="upper left")
    figures.save(fig, _OUT.value, dpi=110)
    print(f"wrote {_OUT.value}")


if __name__ == "__main__":
    app.run(main)
