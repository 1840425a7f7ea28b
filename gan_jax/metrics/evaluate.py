"""Measures a generator the way the 2014 paper did (Parzen, Table 1) and the way the field does now
(Fréchet classifier distance, classifier score, class histogram, precision/recall on the shipped
classifier's features), with the real-data floors computed by the same code.

StackedMNIST's mode coverage and reverse KL (gan_jax/data/stacked_mnist.py, VEEGAN/PacGAN's 26,000-sample
protocol) and the 2-D toys' (gan_jax/metrics/mode_metrics.py) go through the same entry points.

``launch.py --mode=sample/evaluate`` over a run's workdir is gan_jax/training/evaluation.py.
"""

import jax
import numpy as np

from gan_jax.data import datasets, mnist
from gan_jax.errors import EvalError
from gan_jax.game import steps
from gan_jax.game.state import EVAL_STREAM
from gan_jax.metrics import classifier, mode_metrics, sample_metrics, stacked_modes
from gan_jax.networks import latent, models

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
CLASSIFIED = ("mnist", "fashion_mnist")  # 28x28 gray sets with a shipped classifier (metrics/classifier.py)
METRIC_DATASETS = (*CLASSIFIED, STACKED, *TOY_2D)


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
    samples,
    splits,
    *,
    sigmas=sample_metrics.PAPER_SIGMAS,
    min_samples=PARZEN_SAMPLES,
    labels=None,
    dataset="mnist",
) -> dict:
    """All metrics of ``samples`` [M, 784] in [0, 1] against the held-out splits of MNIST (or of
    ``dataset``, another of ``CLASSIFIED``: Fashion-MNIST, measured through its own classifier).

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
    params = classifier.load_classifier(dataset)
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


def real_data_floors(
    splits, num: int = PARZEN_SAMPLES, conditional: bool = False, dataset: str = "mnist"
) -> dict:
    """The same metrics with ``num`` training images as the "samples": what real data scores
    (``conditional``: with their true labels as the classes they were "drawn for")."""
    x, y = splits["train"]
    labels = y[:num] if conditional else None
    return mnist_metrics(x[:num], splits, min_samples=num, labels=labels, dataset=dataset)


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


def sample_labels(num: int, num_classes: int) -> np.ndarray | None:
    """The classes a conditional G's evaluation samples are drawn for: 0, 1, ..., K-1, 0, 1, ... (as
    balanced as ``num`` allows); None for an unconditional G."""
    return (np.arange(num) % num_classes).astype(np.int32) if num_classes else None


def draw_samples(
    setup, g_variables, key, num: int, model_config, batch_size: int = 1000, labels=None, truncation=0.0
) -> np.ndarray:
    """``num`` fair samples x = G(z) [num, data_dim] float32 of G in eval mode with ``g_variables``
    (``steps.sampling_variables(state)``); batch i uses z from fold_in(key, i). A conditional G takes
    ``labels`` [num] (``sample_labels``). ``truncation`` > 0 draws z from the truncated normal instead
    (``latent.sample_truncated``; the truncation trick, for ``normal`` noise)."""
    sampler = steps.make_sampler(setup)
    m, out = model_config, []
    for i, start in enumerate(range(0, num, batch_size)):
        key_i = jax.random.fold_in(key, i)
        if truncation:
            z = latent.sample_truncated(key_i, batch_size, m.z_dim, truncation, float(m.noise_scale))
        else:
            z = latent.sample_noise(key_i, batch_size, m.z_dim, **latent.noise_kwargs(m))
        y = None
        if labels is not None:  # padded to a full batch: one compiled shape
            y = np.resize(np.asarray(labels[start : start + batch_size], np.int32), batch_size)
        out.append(np.asarray(sampler(g_variables, z, y))[: num - start])
    return np.concatenate(out).astype(np.float32)


def draw_eval_samples(
    setup, state, config, num: int, truncation: float = 0.0
) -> tuple[np.ndarray, np.ndarray | None]:
    """(samples, labels): ``num`` fair samples of the state's G (its EMA if it keeps one) with noise
    from the run key's eval stream, so every evaluation of a state draws the same samples, and the
    classes a conditional G drew them for (``sample_labels``; None when unconditional)."""
    key = jax.random.fold_in(state.rng, EVAL_STREAM)
    labels = sample_labels(num, models.num_classes(config.model))
    variables = steps.sampling_variables(state)
    samples = draw_samples(setup, variables, key, num, config.model, labels=labels, truncation=truncation)
    return samples, labels


def toy_metrics(samples, data_config) -> dict:
    """Mode coverage of a 2-D toy's samples (VEEGAN/PacGAN protocol); none for the other datasets."""
    if data_config.name not in TOY_2D:
        return {}
    return mode_metrics.mode_metrics(samples, datasets.toy_centres(data_config), data_config.std)


def is_classified(data_config) -> bool:
    """Whether ``data_config``'s dataset is measured through a shipped classifier (``CLASSIFIED``)."""
    return data_config.name in CLASSIFIED


def evaluate_samples(samples, data_config, splits, min_samples: int | None = None, labels=None) -> dict:
    """The metrics that apply to ``data_config``'s dataset: MNIST's (with the conditional ones when
    ``labels`` are given), StackedMNIST's modes, the 2-D toys' mode coverage, or none ({}; see
    ``check_has_metrics``). At least ``min_samples`` samples (default: ``protocol_samples``)."""
    min_samples = protocol_samples(data_config) if min_samples is None else min_samples
    if data_config.name == STACKED:
        if labels is not None:
            raise EvalError("StackedMNIST has no conditional metrics: evaluate its samples without labels")
        return stacked_modes.stacked_metrics(samples, min_samples=min_samples)
    if not is_classified(data_config):
        return toy_metrics(samples, data_config)
    return mnist_metrics(samples, splits, min_samples=min_samples, labels=labels, dataset=data_config.name)


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
    if is_classified(data_config):
        return real_data_floors(splits, conditional=conditional, dataset=data_config.name)
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
