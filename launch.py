r"""Trains a GAN. The paper's MNIST model, end to end:

python launch.py --game=nonsaturating
python launch.py --game=minimax --update=alternating --d_steps=1 --workdir=/tmp/w
python launch.py --config=experiments/configs/smoke.py --config.num_steps=50 --workdir=/tmp/w
"""

import os
import sys

# Before jax loads: C++ log lines below FATAL stay quiet (gan_jax/training/compile_cache.py says why).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from gan_jax import errors  # noqa: E402
from gan_jax.game import games, steps  # noqa: E402
from gan_jax.metrics import evaluate, feature_extractors  # noqa: E402
from gan_jax.training import compile_cache, evaluation, parallel, signals, storage, train  # noqa: E402

BAD_FLAG_ERRORS = (flags.Error, AttributeError, KeyError, OSError, TypeError, ValueError)


def bad_flag(error: Exception):
    """A mistyped flag or --config.field reported in one line (exit 2) instead of a traceback. An error
    that the config file's own code raised is a bug there: raised again, with its traceback (exit 1)."""
    raised_in_config = _raised_in_config_file(error)
    if raised_in_config is not None:
        raise raised_in_config
    message = " ".join(str(error).replace("\\n", " ").replace("\\'", "").replace("'", "").split())
    if isinstance(error, KeyError | AttributeError):  # how ml_collections says a field is not there
        message = f"unknown config field or key: {message}"
    print(f"error: bad flag: {message}", file=sys.stderr)
    sys.exit(2)


def _raised_in_config_file(error: BaseException) -> BaseException | None:
    """The first exception of ``error``'s chain (itself, then those it was raised from or during) whose
    traceback passes through a config file's code (ml_collections loads it as module ``config_config``,
    then wraps what it raised), else None: the parsing of a flag or override failed instead."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        tb = error.__traceback__
        while tb is not None:
            if tb.tb_frame.f_globals.get("__name__") == f"{_CONFIG_NAME}_config":
                return error
            tb = tb.tb_next
        error = error.__cause__ or error.__context__
    return None


_CONFIG_NAME = "config"
try:  # the default config's file is read here, with any --config.field overrides on the command line
    _CONFIG = config_flags.DEFINE_config_file(
        _CONFIG_NAME,
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
_NUM_SAMPLES = flags.DEFINE_integer(
    "num_samples",
    None,
    "Samples to draw (--mode=sample/evaluate); default: the dataset's protocol (10k; StackedMNIST 26k).",
)
_TRUNCATION = flags.DEFINE_float(
    "truncation",
    None,
    "--mode=sample: draw z from the normal truncated at this many stds (a run of model.noise=normal).",
)
_INTERPOLATE = flags.DEFINE_integer(
    "interpolate", None, "--mode=sample: also write interpolations.png, 10 paths of this many steps."
)
_COMPILATION_CACHE = flags.DEFINE_string(
    "compilation_cache",
    None,
    "Where compiled programs are kept between runs; default $JAX_COMPILATION_CACHE_DIR or "
    "~/.cache/gan_jax/xla; '' turns it off.",
)
_DISTRIBUTED = flags.DEFINE_bool(
    "distributed",
    None,
    "Call jax.distributed.initialize() first (multi-host; default: env GAN_JAX_DISTRIBUTED=1).",
)
_SAMPLES = flags.DEFINE_string(
    "samples",
    None,
    "A float32 .npy of samples to evaluate instead: [N, 784] MNIST, [N, 2352] with a StackedMNIST --config; "
    "with --reference, images of any size (docs/evaluation.md).",
)
_LABELS = flags.DEFINE_string(
    "labels", None, "With --samples: a [N] .npy of the classes they were drawn for (conditional metrics)."
)
_REFERENCE = flags.DEFINE_string(
    "reference",
    None,
    "With --samples: Inception FID/KID, precision/recall, density/coverage against this set: a .npy of "
    "images, or [dataset:]split[:count] (e.g. test, fashion_mnist:train:10000) of --config's dataset.",
)
_RESIZE = flags.DEFINE_string(
    "resize", None, "With --reference: the resize to 299x299 (default: the network's)."
)
_FEATURES = flags.DEFINE_enum(
    "features",
    None,
    list(feature_extractors.FEATURES),
    "With --reference: the feature network (default inception; classifier: the dataset's, 28x28 grey).",
)
_KID_SUBSET_SIZE = flags.DEFINE_integer(
    "kid_subset_size", None, "With --reference: KID's subset size (default 1,000, torch-fidelity's)."
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
    compile_cache.enable(_COMPILATION_CACHE.value)
    config = _CONFIG.value
    try:  # a config file that failed to load (not found) raises its error at the first access
        config.get("game")
    except OSError as e:
        bad_flag(e)
    for name, flag in (("game", _GAME), ("update_scheme", _UPDATE), ("d_steps", _D_STEPS), ("seed", _SEED)):
        if flag.value is not None:
            config[name] = flag.value
    try:
        _check_mode_flags()
        _run(config)
    except signals.Interrupted as e:
        print(e, file=sys.stderr)
        sys.exit(128 + e.signum)
    except errors.GanJaxError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


def _check_mode_flags():
    """A flag another --mode reads is refused rather than ignored."""
    if _MODE.value != "evaluate" and (_SAMPLES.present or _LABELS.present):
        raise errors.ConfigError("--samples/--labels are for --mode=evaluate")
    if _MODE.value == "train" and _NUM_SAMPLES.present:
        raise errors.ConfigError(
            "--num_samples is for --mode=sample/evaluate (training uses config.eval_samples)"
        )
    if _SAMPLES.present and _NUM_SAMPLES.present:
        raise errors.ConfigError("--num_samples draws from a checkpoint; --samples brings its own")
    set_flags = _RESIZE.present or _KID_SUBSET_SIZE.present or _FEATURES.present
    if (_REFERENCE.present or set_flags) and _MODE.value != "evaluate":
        raise errors.ConfigError("--reference/--features/--resize/--kid_subset_size are for --mode=evaluate")
    if set_flags and not _REFERENCE.present:
        raise errors.ConfigError(
            "--features/--resize/--kid_subset_size go with --reference (two-set metrics)"
        )
    if _REFERENCE.present and _LABELS.present:
        raise errors.ConfigError("--labels are for MNIST's conditional metrics, not for --reference")
    if _LABELS.present and not _SAMPLES.present:
        raise errors.ConfigError("--labels go with --samples (the classes those samples were drawn for)")
    if _MODE.value != "sample" and (_TRUNCATION.present or _INTERPOLATE.present):
        raise errors.ConfigError("--truncation/--interpolate are for --mode=sample")
    if _NUM_SAMPLES.value is not None and _NUM_SAMPLES.value < 1:
        raise errors.ConfigError(f"--num_samples must be at least 1, got {_NUM_SAMPLES.value}")


def _run(config):
    """What --mode asks of --workdir (or of --samples), with what it wrote printed."""
    if _MODE.value == "train":
        train.train(config, _WORKDIR.value)
    elif _MODE.value == "sample":
        with storage.staged(_WORKDIR.value) as staged:  # (a gs:// workdir: read and written back)
            paths = evaluation.sample_workdir(staged.local, _NUM_SAMPLES.value, _TRUNCATION.value or 0.0)
            if _INTERPOLATE.value is not None:
                paths += evaluation.interpolate_workdir(staged.local, _INTERPOLATE.value)
        for path in paths:
            print(f"wrote {staged.path(path)}")
    else:
        if _REFERENCE.value is not None:
            _evaluate_two_sets(config)
            return
        staged = storage.Staged(None)
        if _SAMPLES.value:
            reports = [evaluation.evaluate_samples_file(_SAMPLES.value, _LABELS.value, config.data)]
        else:
            with storage.staged(_WORKDIR.value) as staged:
                reports = evaluation.evaluate_workdir(staged.local, _NUM_SAMPLES.value)
        for path, report in reports:
            print(evaluate.format_table(report, report["real_data"]))
            print(f"wrote {staged.path(path)}")


def _evaluate_two_sets(config):
    """--samples (or the workdir's samples) against --reference: FID, KID, precision/recall,
    density/coverage on one feature set."""
    options = evaluation.sets_options(_FEATURES.value, _RESIZE.value, _KID_SUBSET_SIZE.value)
    if _SAMPLES.value:
        reports = [evaluation.evaluate_sets_file(_SAMPLES.value, _REFERENCE.value, config.data, **options)]
    else:  # the workdir's samples (a gs:// workdir: read and written back)
        with storage.staged(_WORKDIR.value) as staged:
            reports = evaluation.evaluate_workdir_sets(
                staged.local, _REFERENCE.value, _NUM_SAMPLES.value, **options
            )
        reports = [(staged.path(path), report) for path, report in reports]
    evaluation.print_sets_reports(reports)


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
