"""Measures a generator the way the 2014 paper did (Parzen, Table 1) and the way the field does now
(Fréchet classifier distance, classifier score, class histogram, precision/recall on the shipped
classifier's features), with the real-data floors computed by the same code.

StackedMNIST's mode coverage and reverse KL (gan_jax/data/stacked_mnist.py, VEEGAN/PacGAN's 26,000-sample
protocol) and the 2-D toys' (gan_jax/metrics/mode_metrics.py) go through the same entry points.

Also what ``launch.py --mode=sample/evaluate`` does: restores a workdir's latest checkpoint, draws
samples from each replica's G, and writes them (``samples.npy``) or their metrics (``eval.json``).
"""

import json
import os
from typing import NamedTuple

import jax
import ml_collections
import numpy as np

from gan_jax import config as config_lib
from gan_jax.data import datasets, mnist, stacked_mnist
from gan_jax.errors import EvalError
from gan_jax.game import replicas, steps
from gan_jax.game.state import EVAL_STREAM, create_state, make_setup
from gan_jax.metrics import classifier, mode_metrics, sample_metrics, stacked_modes
from gan_jax.networks import models
from gan_jax.training.checkpoints import checkpoint_manager, restore_checkpoint

PARZEN_SAMPLES = 10_000  # the paper's protocol: 10k generated samples
PARZEN_VALID = 1_000  # sigma cross-validated on the first 1k validation images
KEYS = (
    "parzen_ll",
    "parzen_se",
    "parzen_sigma",
    "fcd",
    "classifier_score",
    "precision",
    "recall",
    "class_kl",
)
TOY_KEYS = ("modes_covered", "num_modes", "high_quality", "reverse_kl")
CONDITIONAL_KEYS = ("cond_accuracy", "per_class_fcd_mean")
FLOOR_ONLY_KEYS = ("classifier_accuracy", "mode_accuracy")  # StackedMNIST's floors (stacked_mnist.py)
TOY_2D = ("ring", "grid")  # the toys with mode coverage; the 1-D ones have none
STACKED = "stacked_mnist"
METRIC_DATASETS = ("mnist", STACKED, *TOY_2D)


def conditional_metrics(feats, probs, labels, test_feats, test_labels) -> dict:
    """How well samples drawn for given classes show them (a conditional G's measures).

    ``cond_accuracy``: the fraction of samples the classifier assigns to the class they were drawn
    for. ``per_class_fcd``: for each class c, the Fréchet distance between the features of the samples
    drawn for c and of the test images of class c (NaN for a class with fewer than 2 samples: no
    covariance). ``per_class_fcd_mean``: the mean over the ``per_class_fcd_classes`` classes with at
    least 2 samples (NaN when there is none). Labels must be MNIST's classes 0-9.
    """
    labels, test_labels = np.asarray(labels), np.asarray(test_labels)
    if labels.shape != (len(feats),):
        raise EvalError(f"labels must have shape [{len(feats)}], got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise EvalError(f"labels must be integer classes, got dtype {labels.dtype}")
    if len(labels) and (labels.min() < 0 or labels.max() >= classifier.NUM_CLASSES):
        raise EvalError(f"labels must be classes 0..{classifier.NUM_CLASSES - 1}")
    counts = np.bincount(labels.astype(np.int64), minlength=classifier.NUM_CLASSES)
    per_class = [
        sample_metrics.frechet_distance(feats[labels == c], test_feats[test_labels == c])
        if counts[c] >= 2
        else float("nan")
        for c in range(classifier.NUM_CLASSES)
    ]
    entered = [fcd for fcd, n in zip(per_class, counts, strict=True) if n >= 2]
    return {
        "cond_accuracy": float(np.mean(probs.argmax(axis=1) == labels)),
        "per_class_fcd": per_class,
        "per_class_fcd_mean": float(np.mean(entered)) if entered else float("nan"),
        "per_class_fcd_classes": len(entered),
    }


def mnist_metrics(
    samples, splits, *, sigmas=sample_metrics.PAPER_SIGMAS, min_samples=PARZEN_SAMPLES, labels=None
) -> dict:
    """All metrics of ``samples`` [M, 784] in [0, 1] against the held-out MNIST splits.

    Parzen: sigma on valid[:1000], mean LL and its standard error over the 10k test images.
    FCD, precision/recall: classifier features of the samples vs those of the test set.
    Classifier score and class KL to uniform: the classifier's softmax on the samples.
    ``labels`` [M] (samples of a conditional G, drawn for these classes): ``conditional_metrics`` too.
    """
    samples = np.asarray(samples, np.float32)
    if samples.ndim != 2 or samples.shape[1] != 784:
        raise EvalError(f"samples must have shape [N, 784], got {samples.shape}")
    if not np.isfinite(samples).all():
        raise EvalError("samples contain NaN or Inf")
    if len(sigmas) == 0:
        raise EvalError("the Parzen sigma grid is empty")
    if len(samples) < min_samples:
        raise EvalError(f"{len(samples)} samples; the Parzen protocol needs at least {min_samples}")
    test_x = splits["test"][0]
    out = sample_metrics.parzen_evaluate(test_x, splits["valid"][0][:PARZEN_VALID], samples, sigmas)
    params = classifier.load_classifier()
    feats, probs = classifier.features_and_probs(params, samples)
    test_feats, _ = classifier.features_and_probs(params, test_x)
    precision, recall = sample_metrics.precision_recall(test_feats, feats)
    hist, class_kl = sample_metrics.class_kl_to_uniform(probs.argmax(axis=1))
    if labels is not None:
        out |= conditional_metrics(feats, probs, labels, test_feats, splits["test"][1])
    return out | {
        "fcd": sample_metrics.frechet_distance(feats, test_feats),
        "classifier_score": sample_metrics.classifier_score(probs),
        "precision": precision,
        "recall": recall,
        "class_kl": class_kl,
        "class_histogram": hist.tolist(),
    }


def real_data_floors(splits, num: int = PARZEN_SAMPLES, conditional: bool = False) -> dict:
    """The same metrics with ``num`` training images as the "samples": what real data scores
    (``conditional``: with their true labels as the classes they were "drawn for")."""
    x, y = splits["train"]
    return mnist_metrics(x[:num], splits, min_samples=num, labels=y[:num] if conditional else None)


def load_run_config(workdir: str) -> ml_collections.ConfigDict:
    """The run's config.json, upgraded to today's fields (``config.upgrade``)."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise EvalError(f"no config.json in {workdir}; is it a training workdir?")
    with open(path) as f:
        return config_lib.upgrade(json.load(f))


def check_has_metrics(data_config) -> None:
    """EvalError unless ``evaluate_samples`` measures something on this dataset: MNIST (Parzen, FCD, ...),
    StackedMNIST or a 2-D toy (mode coverage)."""
    name = data_config.name
    if name not in METRIC_DATASETS:
        raise EvalError(
            f"no metrics for dataset {name!r}: evaluation measures mnist, {STACKED} and the 2-D toys "
            f"({', '.join(TOY_2D)}); use --mode=sample to draw its samples"
        )


def protocol_samples(data_config) -> int:
    """The fewest samples a dataset's metrics take, and what --mode=sample/evaluate draws by default:
    StackedMNIST's ``protocol_samples`` (VEEGAN/PacGAN's 26,000), the Parzen protocol's 10,000 otherwise."""
    return int(data_config.protocol_samples) if data_config.name == STACKED else PARZEN_SAMPLES


def run_data(config) -> tuple[dict | None, int, np.ndarray]:
    """(splits, num_train, mean pixel) that evaluating a run of ``config`` needs. MNIST and the toys
    are loaded (their metrics read the splits; the paper model's initial state reads the mean). For
    CIFAR-10 and CelebA with any model but the paper MLP nothing is read but the training set's size
    (no metric reads their images; the mean is unused: zeros), which restoring the state needs (its
    data permutation): CelebA's images are 8 GB as float32. StackedMNIST's metrics read no split either
    (its 128,000 stacks are 1.2 GB)."""
    unread = (*datasets.IMAGE_DATASETS, STACKED)
    if config.data.name in unread and not models.init_reads_mean(config.model):
        return None, datasets.train_size(config.data), models.init_mean_pixel(config.model, None)
    splits = datasets.load_dataset(config.data)
    x_train = splits["train"][0]
    return splits, len(x_train), models.init_mean_pixel(config.model, x_train)


def restore_generator(workdir: str, config, mean_pixel: np.ndarray, num_train: int):
    """(setup, state) of the latest checkpoint in ``workdir`` (replicas stacked when the run had
    ``num_replicas`` > 1); one-line EvalError if there is none."""
    setup = make_setup(config, num_train)
    state = create_state(config, setup, mean_pixel, num_train, jit=True)
    directory = os.path.join(os.path.abspath(workdir), "checkpoints")
    with checkpoint_manager(directory) as mngr:
        step = mngr.latest_step() if os.path.isdir(directory) else None
        if step is None:
            raise EvalError(f"no checkpoint in {workdir}")
        return setup, restore_checkpoint(mngr, step, state, config.model.get("d_pieces"))


def sample_labels(num: int, num_classes: int) -> np.ndarray | None:
    """The classes a conditional G's evaluation samples are drawn for: 0, 1, ..., K-1, 0, 1, ... (as
    balanced as ``num`` allows); None for an unconditional G."""
    return (np.arange(num) % num_classes).astype(np.int32) if num_classes else None


def draw_samples(
    setup, g_variables, key, num: int, z_dim: int, batch_size: int = 1000, labels=None
) -> np.ndarray:
    """``num`` fair samples x = G(z) [num, data_dim] float32 of G in eval mode with ``g_variables``
    (``steps.sampling_variables(state)``); batch i uses z from fold_in(key, i). A conditional G takes
    ``labels`` [num] (``sample_labels``)."""
    sampler = steps.make_sampler(setup)
    out = []
    for i, start in enumerate(range(0, num, batch_size)):
        z = models.sample_noise(jax.random.fold_in(key, i), batch_size, z_dim)
        y = None
        if labels is not None:  # padded to a full batch: one compiled shape
            y = np.resize(np.asarray(labels[start : start + batch_size], np.int32), batch_size)
        out.append(np.asarray(sampler(g_variables, z, y))[: num - start])
    return np.concatenate(out).astype(np.float32)


def draw_eval_samples(setup, state, config, num: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(samples, labels): ``num`` fair samples of the state's G (its EMA if it keeps one) with noise
    from the run key's eval stream, so every evaluation of a state draws the same samples, and the
    classes a conditional G drew them for (``sample_labels``; None when unconditional)."""
    key = jax.random.fold_in(state.rng, EVAL_STREAM)
    labels = sample_labels(num, models.num_classes(config.model))
    variables = steps.sampling_variables(state)
    return draw_samples(setup, variables, key, num, config.model.z_dim, labels=labels), labels


def toy_metrics(samples, data_config) -> dict:
    """Mode coverage of a 2-D toy's samples (VEEGAN/PacGAN protocol); none for the other datasets."""
    if data_config.name not in TOY_2D:
        return {}
    return mode_metrics.mode_metrics(samples, datasets.toy_centres(data_config), data_config.std)


def is_mnist(data_config) -> bool:
    return data_config.name == "mnist"


def evaluate_samples(samples, data_config, splits, min_samples: int | None = None, labels=None) -> dict:
    """The metrics that apply to ``data_config``'s dataset: MNIST's (with the conditional ones when
    ``labels`` are given), StackedMNIST's modes, the 2-D toys' mode coverage, or none ({}; see
    ``check_has_metrics``). At least ``min_samples`` samples (default: ``protocol_samples``)."""
    min_samples = protocol_samples(data_config) if min_samples is None else min_samples
    if data_config.name == STACKED:
        if labels is not None:
            raise EvalError("StackedMNIST has no conditional metrics: evaluate its samples without labels")
        return stacked_modes.stacked_metrics(samples, min_samples=min_samples)
    if not is_mnist(data_config):
        return toy_metrics(samples, data_config)
    return mnist_metrics(samples, splits, min_samples=min_samples, labels=labels)


def evaluate_generator(setup, state, splits, config) -> dict:
    """Metrics of ``config.eval_samples`` fair samples of the state's G (``draw_eval_samples``), with
    the protocol's sample count lowered to ``eval_samples`` when that is smaller."""
    samples, labels = draw_eval_samples(setup, state, config, config.eval_samples)
    least = min(protocol_samples(config.data), config.eval_samples)
    return evaluate_samples(samples, config.data, splits, least, labels=labels)


def stacked_floors(data_config, num: int) -> dict:
    """StackedMNIST's real-data floors for ``num`` samples (``stacked_modes.real_data_floors``)."""
    test_x, test_y = mnist.load_mnist(data_config.source, data_config.dir or None)["test"]
    return stacked_modes.real_data_floors(test_x, test_y, num)


def dataset_floors(data_config, splits, num: int, conditional: bool) -> dict | None:
    """The real-data floors of MNIST (``real_data_floors``) or of StackedMNIST for ``num`` samples
    (``stacked_floors``); None for the toys."""
    if is_mnist(data_config):
        return real_data_floors(splits, conditional=conditional)
    return stacked_floors(data_config, num) if data_config.name == STACKED else None


def scalars(results: dict) -> dict:
    """The numeric entries of a results dict (what goes to metrics.jsonl and TensorBoard)."""
    return {k: v for k, v in results.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def format_table(metrics: dict, floors: dict | None = None) -> str:
    """A two- or three-column text table of the headline metrics."""
    rows = [f"{'metric':<18}{'model':>14}" + (f"{'real data':>14}" if floors else "")]
    for key in KEYS + CONDITIONAL_KEYS + TOY_KEYS + ("step",):
        if metrics.get(key) is None:
            continue
        line = f"{key:<18}{metrics[key]:>14.4f}"
        if floors and key in floors:
            line += f"{floors[key]:>14.4f}"
        rows.append(line)
    for key in FLOOR_ONLY_KEYS:  # the classifier's own error, a floor with no model column
        if floors and floors.get(key) is not None:
            rows.append(f"{key:<18}{'':>14}{floors[key]:>14.4f}")
    return "\n".join(rows)


# ----------------------------------------------------------------------------------------------------
# A workdir's latest checkpoint, or a samples file: what launch.py --mode=sample/evaluate does


class Drawn(NamedTuple):
    """One replica's evaluation samples (``draw_eval_samples``), its step and its output directory."""

    samples: np.ndarray
    labels: np.ndarray | None
    step: int
    out_dir: str


def draw_workdir(workdir: str, config, num: int) -> tuple[dict | None, list[Drawn]]:
    """(the run's data splits, each replica's ``num`` evaluation samples) from the latest checkpoint
    of ``workdir``, a run of ``config``. A replica's outputs go to ``replicas.dirs``."""
    splits, num_train, mean = run_data(config)
    setup, state = restore_generator(workdir, config, mean, num_train)
    count = replicas.num_replicas(config)
    drawn = []
    for out_dir, view in zip(replicas.dirs(workdir, count), replicas.views(state, count), strict=True):
        drawn.append(Drawn(*draw_eval_samples(setup, view, config, num), int(view.step), out_dir))
    return splits, drawn


def sample_workdir(workdir: str, num: int | None = None) -> list[str]:
    """Writes ``num`` (default: ``protocol_samples``) evaluation samples of each replica's G, [num,
    data_dim] float32, to ``samples.npy`` in its directory (and, for a conditional G, their classes to
    ``labels.npy``). Returns the paths written."""
    config = load_run_config(workdir)
    _, drawn = draw_workdir(workdir, config, protocol_samples(config.data) if num is None else num)
    paths = []
    for d in drawn:
        os.makedirs(d.out_dir, exist_ok=True)
        arrays = {"samples.npy": d.samples} | ({"labels.npy": d.labels} if d.labels is not None else {})
        for name, array in arrays.items():
            paths.append(os.path.join(d.out_dir, name))
            np.save(paths[-1], array)
    return paths


def evaluate_workdir(workdir: str, num: int | None = None) -> list[tuple[str, dict]]:
    """Evaluates ``num`` (default: ``protocol_samples``) evaluation samples of each replica's G
    (``evaluate_samples``) and writes ``eval.json`` in its directory: the metrics, the step,
    ``num_samples`` and the real-data floors of MNIST or StackedMNIST (computed once). Refused
    (EvalError) before drawing if the run's dataset has no metrics. Returns [(path, what it holds)]."""
    config = load_run_config(workdir)
    check_has_metrics(config.data)
    num = protocol_samples(config.data) if num is None else num
    splits, drawn = draw_workdir(workdir, config, num)
    reports, floors = [], None
    for d in drawn:
        results = evaluate_samples(d.samples, config.data, splits, labels=d.labels)
        if floors is None:
            floors = dataset_floors(config.data, splits, num, conditional=d.labels is not None)
        path = os.path.join(d.out_dir, "eval.json")
        reports.append((path, _write_report(path, results, d.step, num, floors)))
    return reports


def evaluate_samples_file(
    samples_path: str, labels_path: str | None = None, data_config=None
) -> tuple[str, dict]:
    """Evaluates a .npy of samples from any model and writes ``<samples>.eval.json`` beside it: the
    metrics, ``num_samples`` and the real-data floors. Returns (path, what it holds). MNIST samples
    [N, 784] in [0, 1] (with a .npy of the classes a conditional model drew them for: the conditional
    metrics too), or, when ``data_config`` is StackedMNIST's, [N, 2352] in [0, 1] (28x28x3 channels-last;
    N >= its ``protocol_samples``): modes covered and reverse KL."""
    samples = _load_npy(samples_path)
    labels = _load_npy(labels_path) if labels_path else None
    if data_config is not None and data_config.name == STACKED:
        results = evaluate_samples(samples, data_config, None, labels=labels)
        floors = stacked_floors(data_config, len(samples))
    else:
        if samples.ndim == 2 and samples.shape[1] == stacked_mnist.DATA_DIM:
            raise EvalError(
                f"samples of shape {samples.shape} are StackedMNIST's: evaluate them with its config "
                "(--config=experiments/configs/stacked_mnist.py)"
            )
        splits = mnist.load_mnist()
        results = mnist_metrics(samples, splits, labels=labels)
        floors = real_data_floors(splits, conditional=labels is not None)
    path = os.path.splitext(samples_path)[0] + ".eval.json"
    return path, _write_report(path, results, None, len(samples), floors)


def _load_npy(path: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise EvalError(f"cannot read {path} as a .npy array ({e})") from None


def _write_report(path: str, results: dict, step: int | None, num: int, floors: dict | None) -> dict:
    report = results | {"step": step, "num_samples": num, "real_data": floors}
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
    return report
