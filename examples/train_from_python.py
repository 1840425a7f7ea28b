r"""gan_jax as a library: build a config, the models and the train state, step a few times, sample.

The same pieces launch.py's training loop uses (gan_jax/training/train.py adds checkpoints, logging, samples
and evaluation around them). A small version of the paper's MNIST model, seconds on a CPU:

  python examples/train_from_python.py --num_steps=50 --out=/tmp/samples.png
"""

import argparse
import os
import sys

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gan_jax import config as config_lib  # noqa: E402
from gan_jax.data import datasets
from gan_jax.game import state, steps
from gan_jax.networks import latent, models
from gan_jax.training import (
    images,
    jitting,
    validation,  # noqa: E402
)


def make_config(num_steps: int):
    """The paper's MNIST GAN (every default in gan_jax/config.py), shrunk to run in seconds."""
    config = config_lib.get_config()
    config.num_steps = num_steps
    config.model.g_hidden = (64, 64)
    config.model.d_units = 32
    config.model.d_pieces = 3
    # Any option is a field: e.g. config.game = "least_squares", or config.model = model_config("dcgan28").
    validation.validate(config)  # the checks launch.py makes, before any data is read
    return config


def train(num_steps: int = 20, seed: int = 0):
    """Returns (config, setup, final state, the last step's metrics)."""
    config = make_config(num_steps)
    x_train, _ = datasets.load_dataset(config.data)["train"]  # [50000, 784] float32 in [0, 1)
    num_train = len(x_train)
    setup = state.make_setup(config, num_train)  # the modules and the two optax optimizers (static)
    mean_pixel = models.init_mean_pixel(config.model, x_train)  # G's output bias starts at the data's
    train_state = state.create_train_state(config, setup, mean_pixel, num_train, seed=seed)
    # pure (state, data) -> (state, metrics), jitted with the state donated
    step = jitting.jit_step(steps.make_step(config, setup, num_train))
    dataset = jax.device_put(x_train)  # batches are gathered on device from the state's data position
    for _ in range(num_steps):
        train_state, metrics = step(train_state, dataset)
    return config, setup, train_state, jax.device_get(metrics)


def sample(config, setup, train_state, num: int, seed: int = 1) -> np.ndarray:
    """``num`` samples [num, 784] in [0, 1] from G in eval mode (its EMA if the config keeps one)."""
    z = latent.sample_noise(jax.random.key(seed), num, config.model.z_dim)
    return np.asarray(steps.make_sampler(setup)(steps.sampling_variables(train_state), z))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_steps", type=int, default=20)
    parser.add_argument("--out", default="", help="write a 4x4 grid of samples here (.png)")
    args = parser.parse_args()
    config, setup, train_state, metrics = train(args.num_steps)
    print(f"step {int(train_state.step)}: d_loss {metrics['d_loss']:.3f}, g_loss {metrics['g_loss']:.3f}")
    x = sample(config, setup, train_state, 16)
    print(f"samples {x.shape}, pixel mean {x.mean():.3f}")
    if args.out:
        images.save_png(args.out, images.grid(x, 4, 4))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
