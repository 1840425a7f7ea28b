r"""The paper's figures for a trained MNIST run: Figure 2 (fair samples, the rightmost column the
nearest training image of its neighbour), Figure 3 (linear interpolations in z) and training curves.

Run:
  python experiments/reports/paper_figures.py --workdir=/tmp/gan_jax/paper_mnist \
      --out=experiments/reports/figures
"""

import os
import sys

import jax
import numpy as np
from absl import app, flags, logging

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from gan_jax.data import datasets
from gan_jax.game import (
    replicas,
    steps,  # noqa: E402
)
from gan_jax.metrics import evaluate
from gan_jax.networks import latent
from gan_jax.training import evaluation, figures, images

_WORKDIR = flags.DEFINE_string("workdir", "/tmp/gan_jax/paper_mnist", "A trained MNIST run.")
_OUT = flags.DEFINE_string("out", "experiments/reports/figures", "Folder for the PNGs.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the fair samples and interpolation end points.")
_REPLICA = flags.DEFINE_integer("replica", 0, "Which replica of a num_replicas > 1 run.")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    os.makedirs(_OUT.value, exist_ok=True)
    config = evaluation.load_run_config(_WORKDIR.value)
    x_train = datasets.load_dataset(config.data)["train"][0]
    setup, state = evaluation.restore_generator(_WORKDIR.value, config, x_train.mean(0), len(x_train))
    count = replicas.num_replicas(config)
    state = replicas.views(state, count)[_REPLICA.value]
    run_dir = replicas.dirs(_WORKDIR.value, count)[_REPLICA.value]
    tag = f"_r{_REPLICA.value}" if count > 1 else ""
    key = jax.random.PRNGKey(_SEED.value)
    z_dim = config.model.z_dim
    step = int(state.step)

    samples = evaluate.draw_samples(setup, steps.sampling_variables(state), key, 30, config.model)
    fig2 = figures.nearest_neighbour_grid(samples, x_train, rows=5, cols=6)
    images.save_png(os.path.join(_OUT.value, f"figure2_step{step}{tag}.png"), fig2)

    ends = np.asarray(
        latent.sample_noise(jax.random.fold_in(key, 1), 10, z_dim, **latent.noise_kwargs(config.model))
    )
    z = np.concatenate([figures.interpolation_z(ends[2 * i], ends[2 * i + 1], 10) for i in range(5)])
    line = np.asarray(steps.make_sampler(setup)(steps.sampling_variables(state), z))
    images.save_png(os.path.join(_OUT.value, f"figure3_step{step}{tag}.png"), images.grid(line, 5, 10))

    figures.training_curves(
        os.path.join(_OUT.value, f"curves_step{step}{tag}.png"),
        os.path.join(run_dir, "metrics.jsonl"),
        keys=("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm", "parzen_ll", "fcd"),
    )
    print(f"wrote figure2/figure3/curves for step {step} to {_OUT.value}")


if __name__ == "__main__":
    app.run(main)
