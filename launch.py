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

from gan_jax import data, evaluate, games, models, parallel, steps, train
from gan_jax.state import EVAL_STREAM, num_replicas

BAD_FLAG_ERRORS = (flags.Error, AttributeError, KeyError, TypeError, ValueError)


def bad_flag(error: Exception):
    """A mistyped flag or --config.field reported in one line (exit 2) instead of a traceback."""
    message = " ".join(str(error).replace("\\n", " ").replace("\\'", "").replace("'", "").split())
    if isinstance(error, KeyError | AttributeError):  # how ml_collections says a field is not there
        message = f"unknown config field or key: {message}"
    print(f"error: bad flag: {message}", file=sys.stderr)
    sys.exit(2)


try:  # the default config's file is read here, with any --config.field overrides on the command line
    _CONFIG = config_flags.DEFINE_config_file(
        "config",
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "experiments/configs/paper_mnist.py"),
        "Experiment config (a get_config() file).",
        lock_config=True,
    )
except BAD_FLAG_ERRORS as e:
    bad_flag(e)
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
_DISTRIBUTED = flags.DEFINE_bool(
    "distributed",
    None,
    "Call jax.distributed.initialize() first (multi-host; default: env GAN_JAX_DISTRIBUTED=1).",
)
_SAMPLES = flags.DEFINE_string("samples", None, "A [N, 784] float32 .npy of samples to evaluate instead.")
_LABELS = flags.DEFINE_string(
    "labels", None, "With --samples: a [N] .npy of the classes they were drawn for (conditional metrics)."
)


def parse_flags(argv):
    """absl parsing, with a mistyped --config.field reported in one line instead of a traceback."""
    try:
        return flags.FLAGS(argv)
    except BAD_FLAG_ERRORS as e:
        bad_flag(e)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    parallel.maybe_initialize_distributed(_DISTRIBUTED.value)
    config = _CONFIG.value
    for name, flag in (("game", _GAME), ("update_scheme", _UPDATE), ("d_steps", _D_STEPS), ("seed", _SEED)):
        if flag.value is not None:
            config[name] = flag.value
    try:
        _check_mode_flags()
        if _MODE.value == "train":
            train.train(config, _WORKDIR.value)
        elif _MODE.value == "sample":
            for samples, labels, _, out_dir, _, _ in _draw(_WORKDIR.value):
                path = os.path.join(out_dir, "samples.npy")
                np.save(path, samples)
                print(f"wrote {len(samples)} samples to {path}")
                if labels is not None:  # a conditional G: the class each sample was drawn for
                    np.save(os.path.join(out_dir, "labels.npy"), labels)
                    print(f"wrote their classes to {os.path.join(out_dir, 'labels.npy')}")
        else:
            _evaluate()
    except train.Interrupted as e:
        print(e, file=sys.stderr)
        sys.exit(128 + e.signum)
    except (data.DatasetError, train.TrainError, evaluate.EvalError, ValueError) as e:
        # A refused checkpoint leaves orbax's other (cancelled) reads to report at exit: keep it one line.
        sys.unraisablehook = lambda unraisable: None
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


def _check_mode_flags():
    """A flag another --mode reads is refused rather than ignored."""
    if _MODE.value != "evaluate" and (_SAMPLES.present or _LABELS.present):
        raise ValueError("--samples/--labels are for --mode=evaluate")
    if _MODE.value == "train" and _NUM_SAMPLES.present:
        raise ValueError("--num_samples is for --mode=sample/evaluate (training uses config.eval_samples)")
    if _SAMPLES.present and _NUM_SAMPLES.present:
        raise ValueError("--num_samples draws from a checkpoint; --samples brings its own")
    if _LABELS.present and not _SAMPLES.present:
        raise ValueError("--labels go with --samples (the classes those samples were drawn for)")


def _draw(workdir):
    """Fair samples from the latest checkpoint of ``workdir``, with the run's config and data: one
    (samples, labels, step, output dir, data config, splits) per replica (workdir/replica_<r> when
    R > 1); labels are the classes a conditional G drew them for (None when unconditional)."""
    config = evaluate.load_run_config(workdir)
    splits, num_train, mean = evaluate.run_data(config)
    setup, state = evaluate.restore_generator(workdir, config, mean, num_train)
    replicas = num_replicas(config)
    dirs = train.replica_dirs(workdir, replicas)
    labels = evaluate.sample_labels(_NUM_SAMPLES.value, models.num_classes(config.model))
    for out_dir, view in zip(dirs, train.replica_views(state, replicas), strict=True):
        key = jax.random.fold_in(view.rng, EVAL_STREAM)
        samples = evaluate.draw_samples(
            setup, steps.sampling_variables(view), key, _NUM_SAMPLES.value, config.model.z_dim, labels=labels
        )
        yield samples, labels, int(view.step), out_dir, config.data, splits


def _load_npy(path: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise evaluate.EvalError(f"cannot read {path} as a .npy array ({e})") from None


def _evaluate():
    if _SAMPLES.value:
        samples = _load_npy(_SAMPLES.value)
        labels = _load_npy(_LABELS.value) if _LABELS.value else None
        # a samples file: MNIST samples from any model (and the classes a conditional one drew them for)
        mnist = ml_collections.ConfigDict({"name": "mnist"})
        out_path = os.path.splitext(_SAMPLES.value)[0] + ".eval.json"
        _write_eval(samples, None, out_path, mnist, data.load_mnist(), labels=labels)
        return
    floors = None
    for samples, labels, step, out_dir, data_config, splits in _draw(_WORKDIR.value):
        out_path = os.path.join(out_dir, "eval.json")
        floors = _write_eval(samples, step, out_path, data_config, splits, floors, labels)


def _write_eval(samples, step, out_path, data_config, splits, floors=None, labels=None) -> dict | None:
    """Evaluates, writes ``out_path`` and prints the table; returns the real-data floors for reuse."""
    results = evaluate.evaluate_samples(samples, data_config, splits, labels=labels)
    if floors is None and evaluate.is_mnist(data_config):
        floors = evaluate.real_data_floors(splits, conditional=labels is not None)
    results |= {"step": step, "num_samples": len(samples), "real_data": floors}
    with open(out_path, "w") as f:
        json.dump(results, f, indent=2)
    print(evaluate.format_table(results, floors))
    print(f"wrote {out_path}")
    return floors


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
