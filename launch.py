r"""Trains a GAN. The paper's MNIST model, end to end:

python launch.py --game=nonsaturating
python launch.py --game=minimax --update=alternating --d_steps=1 --workdir=/tmp/w
python launch.py --config=experiments/configs/smoke.py --config.num_steps=50 --workdir=/tmp/w
"""

import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from gan_jax import data, games, steps, train

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
        train.train(config, _WORKDIR.value)
    except train.Interrupted as e:
        print(e, file=sys.stderr)
        sys.exit(128 + e.signum)
    except (data.DatasetError, train.TrainError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
