"""Two-set metrics at the end of a training run (``config.final_eval``; docs/evaluation.md): once a run
reaches ``num_steps`` in this call, each replica's samples are measured against ``final_eval.reference``
by ``evaluation.evaluate_workdir_sets``, the code of ``launch.py --mode=evaluate --workdir --reference``,
on the same checkpoint and the same draw, and the reports are printed as that command prints them.

``check`` runs once in ``validation.validate``, before any data loads: everything that would refuse the
evaluation hours later (the dataset, the reference, the set sizes, the features, the resize and the
Inception weights file) is refused at the start instead, without loading the network.
"""

import os
import re
from collections.abc import Callable

import jax

from gan_jax.data import fashion_mnist, inception_weights, mnist
from gan_jax.errors import ConfigError, DataError, EvalError
from gan_jax.metrics import evaluate, feature_extractors, image_sets, set_metrics
from gan_jax.training import evaluation

# The splits a reference spec names, by size (image_sets.load_reference_split reads them), so that the
# sizes are checked without loading the data.
SPLIT_SIZES = {
    "mnist": {"train": mnist.NUM_TRAIN, "test": mnist.NUM_TEST},
    "fashion_mnist": {"train": fashion_mnist.NUM_TRAIN, "test": fashion_mnist.NUM_TEST},
}
FIELD = "config.final_eval"


def options(config) -> dict:
    """``evaluate_workdir_sets``' keyword options from ``config.final_eval``."""
    f = config.final_eval
    return evaluation.sets_options(f.features, f.resize, f.kid_subset_size)


def check(config) -> None:
    """ConfigError in one line, naming the field, when ``config.final_eval`` is set and the evaluation
    at the end could not run: a dataset without the 28x28 grey reference sets (``evaluate.CLASSIFIED``),
    several hosts, a reference that is neither a split spec nor a readable .npy of images, a split too
    short for its count, sets too small for KID's subset size or the k of precision/recall and
    density/coverage (``set_metrics.check_sizes``), unknown features, a resize the features do not take,
    or a missing or corrupt Inception weights file (its content digest; the network is not built)."""
    f = config.final_eval
    if not f.reference:
        return
    if config.data.name not in evaluate.CLASSIFIED:
        raise ConfigError(
            f"{FIELD}.reference={f.reference!r}: the evaluation at the end of a run measures "
            f"{', '.join(evaluate.CLASSIFIED)} runs, not {config.data.name!r}; draw its samples with "
            "--mode=sample and measure them with --mode=evaluate --samples --reference"
        )
    if jax.process_count() > 1:
        raise ConfigError(
            f"{FIELD} measures a run on one host; with several hosts run --mode=evaluate --reference after it"
        )
    if int(f.num_samples) < 1:
        raise ConfigError(f"{FIELD}.num_samples must be >= 1, got {f.num_samples}")
    if f.features not in feature_extractors.FEATURES:
        raise ConfigError(
            f"unknown {FIELD}.features {f.features!r}; choose one of: "
            + ", ".join(feature_extractors.FEATURES)
        )
    try:
        _check_sets(config)
    except (EvalError, DataError) as e:  # their messages name the flags, which are these fields' names
        message = re.sub(r"--(reference|features|resize|kid_subset_size)\b", rf"{FIELD}.\1", str(e))
        raise ConfigError(message) from None


def _check_sets(config) -> None:
    f, opts = config.final_eval, options(config)
    split = image_sets.parse_reference(f.reference, config.data.name)
    reference_set = None
    if split is not None:
        size = SPLIT_SIZES[split.dataset][split.split]
        if split.count > size:
            raise ConfigError(
                f"{FIELD}.reference={f.reference!r} asks for {split.count} {split.dataset} {split.split} "
                f"images; it has {size}"
            )
        n_reference = split.count or size
    elif os.path.isfile(f.reference):
        reference_set = image_sets.check_images(evaluation.load_npy(f.reference), "reference", f.reference)
        n_reference = len(reference_set.images)
    else:
        raise ConfigError(
            f"{FIELD}.reference={f.reference!r} is neither [dataset:]split[:count] (split train or test) "
            "nor a .npy file of images"
        )
    set_metrics.check_sizes(int(f.num_samples), n_reference, opts["kid_protocol"])
    dataset = split.dataset if split else config.data.name
    make_extractor = feature_extractors.extractor_factory(opts["features"], opts["resize"], None, dataset)
    if opts["features"] == "inception":
        feature_extractors.inception_resize(opts["resize"])
        inception_weights.load_arrays()  # (numpy and a digest only: the network is built at the end)
    else:  # the shipped classifier is small: built now, its input size checked against a file's images
        extractor = make_extractor()
        if reference_set is not None:
            image_sets.check_network_size(reference_set, "reference", extractor.side, extractor.channels)


def run(config, workdir: str, where: Callable[[str], str] | None = None) -> list[tuple[str, dict]]:
    """When ``config.final_eval.reference`` is set: ``evaluation.evaluate_workdir_sets`` on ``workdir``
    (its latest checkpoint: the run's last step), which writes ``samples_vs_reference.npy`` and its
    ``.eval.json`` in each replica's directory; each report printed with ``where(path)`` (a bucket
    workdir's path of a staged file). Returns [(path, report)]; [] when off."""
    f = config.final_eval
    if not f.reference:
        return []
    print(
        f"final evaluation: {f.num_samples} samples of each replica against {f.reference} "
        f"({f.features} features)",
        flush=True,
    )
    reports = evaluation.evaluate_workdir_sets(workdir, f.reference, int(f.num_samples), **options(config))
    evaluation.print_sets_reports([((where or str)(path), report) for path, report in reports])
    return reports
