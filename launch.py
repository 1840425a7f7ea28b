r"""Trains a GAN. The paper's MNIST model, end to end:

python launch.py --game=nonsaturating
python launch.py --game=minimax --update=alternating --d_steps=1 --workdir=/tmp/w
python launch.py --config=experiments/configs/smoke.py --config.num_steps=50 --workdir=/tmp/w
"""

import json
import os
import sys

import jax
import ml_collections
import numpy as np
from absl import app, flags, logging
from ml_collections import config_flags

from gan_jax import data, evaluate, games, steps, train
from gan_jax.state import EVAL_STREAM

_CONFIG = config_flags.DEFINE_config_file(
    "config",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "experiments/configs/paper_mnist.py"),
    "Experiment config (a get_config() file).",
    lock_config=True,
)
_WORKDIR = flags.DEFINE_string(
    "workdir", "/tmp/gan_jax/paper_mnist", "Checkpoints, metrics and samples go here."
)
_GAME = flags.DEFINE_enum("game", None, list(games.GAMES), "The game; overrides config.game.")
_UPDATE = flags.DEFINE_enum(
    "update", None, list(steps.UPDATES), "Update scheme; overrides config.update_scheme."
)
_D_STEPS = flags.DEFINE_integer(
    "d_steps", None, "k, D steps per G step (alternating); overrides config.d_steps."
)
_SEED = flags.DEFINE_integer("seed", None, "Random seed; overrides config.seed.")
_MODE = flags.DEFINE_enum("mode", "train", ["train", "evaluate", "sample"], "What to do with --workdir.")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 10_000, "Samples to draw (--mode=sample/evaluate).")
_SAMPLES = flags.DEFINE_string("samples", None, "A [N, 784] float32 .npy of samples to evaluate instead.")


def parse_flags(argv):
    """absl parsing, with a mistyped --config.field reported in one line instead of a traceback."""
    try:
        return flags.FLAGS(argv)
    except (flags.Error, AttributeError, KeyError, TypeError, ValueError) as e:
        message = " ".join(str(e).replace("\\n", " ").replace("\\'", "").replace("'", "").split())
        print(f"error: bad flag: {message}", file=sys.stderr)
        sys.exit(2)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    config = _CONFIG.value
    for name, flag in (("game", _GAME), ("update_scheme", _UPDATE), ("d_steps", _D_STEPS), ("seed", _SEED)):
        if flag.value is not None:
            config[name] = flag.value
    try:
        if _MODE.value == "train":
            train.train(config, _WORKDIR.value)
        elif _MODE.value == "sample":
            path = os.path.join(_WORKDIR.value, "samples.npy")
            np.save(path, _draw(_WORKDIR.value)[0])
            print(f"wrote {_NUM_SAMPLES.value} samples to {path}")
        else:
            _evaluate()
    except train.Interrupted as e:
        print(e, file=sys.stderr)
        sys.exit(128 + e.signum)
    except (data.DatasetError, train.TrainError, evaluate.EvalError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


def _draw(workdir):
    """Fair samples from the latest checkpoint of ``workdir``, with the run's config and data."""
    config = evaluate.load_run_config(workdir)
    splits = data.load_dataset(config.data)
    x_train = splits["train"][0]
    setup, state = evaluate.restore_generator(workdir, config, x_train.mean(axis=0), len(x_train))
    key = jax.random.fold_in(state.rng, EVAL_STREAM)
    samples = evaluate.draw_samples(setup, state.g_params, key, _NUM_SAMPLES.value, config.model.z_dim)
    return samples, int(state.step), config.data, splits


def _evaluate():
    if _SAMPLES.value:
        try:
            samples, step = np.load(_SAMPLES.value, allow_pickle=False), None
        except (OSError, ValueError) as e:
            raise evaluate.EvalError(f"cannot read {_SAMPLES.value} as a .npy array ({e})") from None
        out_path, data_config, splits = os.path.splitext(_SAMPLES.value)[0] + ".eval.json", None, None
    else:
        samples, step, data_config, splits = _draw(_WORKDIR.value)
        out_path = os.path.join(_WORKDIR.value, "eval.json")
    if data_config is None:  # a samples file: MNIST samples from any model
        data_config, splits = ml_collections.ConfigDict({"name": "mnist"}), data.load_mnist()
    results = evaluate.evaluate_samples(samples, data_config, splits)
    floors = evaluate.real_data_floors(splits) if evaluate.is_mnist(data_config) else None
    results |= {"step": step, "num_samples": len(samples), "real_data": floors}
    with open(out_path, "w") as f:
        json.dump(results, f, indent=2)
    print(evaluate.format_table(results, floors))
    print(f"wrote {out_path}")


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
