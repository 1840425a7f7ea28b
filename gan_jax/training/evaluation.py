"""What ``launch.py --mode=sample/evaluate`` does: restores a workdir's latest checkpoint, draws samples
from each replica's G, and writes them (``samples.npy``) or their metrics (``eval.json``, measured by
gan_jax/metrics/evaluate.py); or measures a .npy of samples from any model, alone (MNIST's metrics) or
against a reference set (``evaluate_sets_file``: gan_jax/metrics/set_metrics.py)."""

import json
import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import config as config_lib
from gan_jax.data import datasets, stacked_mnist
from gan_jax.errors import EvalError
from gan_jax.game import replicas
from gan_jax.game import steps as steps_lib
from gan_jax.game.state import INTERPOLATION_STREAM, create_state, make_setup
from gan_jax.metrics import evaluate, feature_extractors, image_sets, kid, set_metrics
from gan_jax.networks import latent, models
from gan_jax.training import images, precision
from gan_jax.training.checkpoints import checkpoint_manager, restore_checkpoint


def load_run_config(workdir: str) -> ml_collections.ConfigDict:
    """The run's config.json, upgraded to today's fields (``config.upgrade``)."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise EvalError(f"no config.json in {workdir}; is it a training workdir?")
    with open(path) as f:
        return config_lib.upgrade(json.load(f))


def run_data(config) -> tuple[dict | None, int, np.ndarray]:
    """(splits, num_train, mean pixel) that evaluating a run of ``config`` needs. MNIST and the toys
    are loaded (their metrics read the splits; the paper model's initial state reads the mean). For
    CIFAR-10 and CelebA with any model but the paper MLP nothing is read but the training set's size
    (no metric reads their images; the mean is unused: zeros), which restoring the state needs (its
    data permutation): CelebA's images are 8 GB as float32. StackedMNIST's metrics read no split either
    (its 128,000 stacks are 1.2 GB)."""
    unread = (*config_lib.IMAGE_SETS, evaluate.STACKED)
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


class Drawn(NamedTuple):
    """One replica's evaluation samples (``evaluate.draw_eval_samples``), its step and its directory."""

    samples: np.ndarray
    labels: np.ndarray | None
    step: int
    out_dir: str


def restored_replicas(workdir: str, config) -> tuple[dict | None, object, list[tuple[str, object]]]:
    """(the run's data splits, its setup, [(replica directory, that replica's state)]) of the latest
    checkpoint of ``workdir``, a run of ``config``; one-line EvalError without a checkpoint."""
    splits, num_train, mean = run_data(config)
    setup, state = restore_generator(workdir, config, mean, num_train)
    count = replicas.num_replicas(config)
    return splits, setup, list(zip(replicas.dirs(workdir, count), replicas.views(state, count), strict=True))


def draw_workdir(workdir: str, config, num: int, truncation: float = 0.0) -> tuple[dict | None, list[Drawn]]:
    """(the run's data splits, each replica's ``num`` evaluation samples, with ``truncation`` > 0 from
    the truncated normal) from the latest checkpoint of ``workdir``, a run of ``config``. A replica's
    outputs go to ``replicas.dirs``."""
    splits, setup, views = restored_replicas(workdir, config)
    drawn = []
    with precision.scope(config):
        for out_dir, view in views:
            samples, labels = evaluate.draw_eval_samples(setup, view, config, num, truncation)
            drawn.append(Drawn(samples, labels, int(view.step), out_dir))
    return splits, drawn


def sample_workdir(workdir: str, num: int | None = None, truncation: float = 0.0) -> list[str]:
    """Writes ``num`` (default: ``evaluate.protocol_samples``) evaluation samples of each replica's G,
    [num, data_dim] float32, to ``samples.npy`` in its directory (and, for a conditional G, their classes to
    ``labels.npy``). With ``truncation`` = t > 0 (a run of ``normal`` noise only) z comes from the normal
    truncated to [-t s, t s] and the files are ``samples_truncated_<t>.npy`` (``labels_...``), beside the
    fair ones. Returns the paths written."""
    config = load_run_config(workdir)
    check_truncation(config, truncation)
    num = evaluate.protocol_samples(config.data) if num is None else num
    _, drawn = draw_workdir(workdir, config, num, truncation)
    tag = f"_truncated_{truncation:g}" if truncation else ""
    paths = []
    for d in drawn:
        os.makedirs(d.out_dir, exist_ok=True)
        arrays = {f"samples{tag}.npy": d.samples}
        arrays |= {f"labels{tag}.npy": d.labels} if d.labels is not None else {}
        for name, array in arrays.items():
            paths.append(os.path.join(d.out_dir, name))
            np.save(paths[-1], array)
    return paths


def check_truncation(config, truncation: float) -> None:
    if truncation < 0 or (truncation and config.model.noise != "normal"):
        raise EvalError(
            f"truncation={truncation:g}: the truncation trick draws a truncated normal, for a run of "
            f"model.noise=normal (this run's noise is {config.model.noise!r}) and a threshold > 0"
        )


def interpolate_workdir(workdir: str, steps: int, rows: int = 10) -> list[str]:
    """Writes ``interpolations.png`` in each replica's directory: ``rows`` paths of ``steps`` samples of
    its G (eval mode, the latest checkpoint), each between two z of the run's noise
    (``latent.interpolate``: straight for uniform noise, the great circle for normal and spherical), row
    r conditioned on class r mod K for a conditional G. Returns the paths written."""
    config = load_run_config(workdir)
    shape = models.image_shape(config.model)
    if shape is None:
        raise EvalError(f"--interpolate draws image grids; model {config.model.name!r} makes no images")
    if steps < 2:
        raise EvalError(f"--interpolate needs at least 2 steps a path, got {steps}")
    _, setup, views = restored_replicas(workdir, config)
    m, paths = config.model, []
    sampler = steps_lib.make_sampler(setup)
    classes = models.num_classes(m)
    labels = np.repeat(np.arange(rows) % classes, steps).astype(np.int32) if classes else None
    pixels = datasets.pixel_range(config.data) or (0.0, 1.0)
    with precision.scope(config):
        for out_dir, view in views:
            key = jax.random.fold_in(view.rng, INTERPOLATION_STREAM)
            ends = latent.sample_noise(key, 2 * rows, m.z_dim, **latent.noise_kwargs(m))
            paths_z = [latent.interpolate(ends[2 * r], ends[2 * r + 1], steps, m.noise) for r in range(rows)]
            z = jnp.concatenate(paths_z)
            x = np.asarray(sampler(steps_lib.sampling_variables(view), z, labels))
            grid = images.sample_grid(x, shape, pixels, rows, steps)
            os.makedirs(out_dir, exist_ok=True)
            paths.append(os.path.join(out_dir, "interpolations.png"))
            images.save_png(paths[-1], grid)
    return paths


def evaluate_workdir(workdir: str, num: int | None = None) -> list[tuple[str, dict]]:
    """Evaluates ``num`` (default: ``evaluate.protocol_samples``) evaluation samples of each replica's G
    (``evaluate.evaluate_samples``) and writes ``eval.json`` in its directory: the metrics, the step,
    ``num_samples`` and the real-data floors of MNIST or StackedMNIST (computed once). Refused
    (EvalError) before drawing if the run's dataset has no metrics. Returns [(path, what it holds)]."""
    config = load_run_config(workdir)
    evaluate.check_has_metrics(config.data)
    num = evaluate.protocol_samples(config.data) if num is None else num
    splits, drawn = draw_workdir(workdir, config, num)
    reports, floors = [], None
    for d in drawn:
        results = evaluate.evaluate_samples(d.samples, config.data, splits, labels=d.labels)
        if floors is None:
            floors = evaluate.dataset_floors(config.data, splits, num, conditional=d.labels is not None)
        path = os.path.join(d.out_dir, "eval.json")
        reports.append((path, _write_report(path, results, d.step, num, floors)))
    return reports


def evaluate_samples_file(
    samples_path: str, labels_path: str | None = None, data_config=None
) -> tuple[str, dict]:
    """Evaluates a .npy of samples from any model and writes ``<samples>.eval.json`` beside it: the
    metrics, ``num_samples`` and the real-data floors. Returns (path, what it holds). MNIST samples
    [N, 784] in [0, 1] (Fashion-MNIST's when ``data_config`` is its; with a .npy of the classes a
    conditional model drew them for: the conditional metrics too), or, when ``data_config`` is
    StackedMNIST's, [N, 2352] in [0, 1] (28x28x3 channels-last; N >= its ``evaluate.protocol_samples``):
    modes covered and reverse KL."""
    samples = load_npy(samples_path)
    labels = load_npy(labels_path) if labels_path else None
    if data_config is not None and data_config.name == evaluate.STACKED:
        results = evaluate.evaluate_samples(samples, data_config, None, labels=labels)
        floors = evaluate.stacked_floors(data_config, len(samples))
    else:
        if samples.ndim == 2 and samples.shape[1] == stacked_mnist.DATA_DIM:
            raise EvalError(
                f"samples of shape {samples.shape} are StackedMNIST's: evaluate them with its config "
                "(--config=experiments/configs/stacked_mnist.py)"
            )
        name = "mnist" if data_config is None else data_config.name
        if name not in evaluate.CLASSIFIED:
            raise EvalError(
                f"--samples measures {', '.join(evaluate.CLASSIFIED)} or {evaluate.STACKED} samples, "
                f"not {name!r}'s"
            )
        splits = datasets.load_dataset(data_config or config_lib.data_config("mnist"))
        results = evaluate.mnist_metrics(samples, splits, labels=labels, dataset=name)
        floors = evaluate.real_data_floors(splits, conditional=labels is not None, dataset=name)
    path = os.path.splitext(samples_path)[0] + ".eval.json"
    return path, _write_report(path, results, None, len(samples), floors)


def evaluate_sets_file(
    samples_path: str,
    reference: str,
    data_config=None,
    *,
    features: str = "inception",
    resize: str | None = None,
    kid_protocol: set_metrics.KidProtocol = set_metrics.TORCH_FIDELITY_KID,
    make_extractor=None,
    cache_dir: str | None = None,
) -> tuple[str, dict]:
    """Measures the images in ``samples_path`` against a reference set (``set_metrics.evaluate_sets``:
    FID, KID, precision/recall, density/coverage on Inception features, with the protocol) and writes
    ``<samples>.eval.json`` beside them; returns (path, what it holds). ``reference`` is a .npy of images
    or ``[dataset:]split[:count]`` (``image_sets.parse_reference``; the dataset defaults to
    ``data_config``'s), whose features are cached under ``cache_dir``. Both sets are read and checked
    before the network's weights load; any refusal writes nothing. The features are ``features``'
    (``feature_extractors.extractor_factory``: Inception's with ``resize``, its name of a resize, default the
    network's; or the shipped classifier of the reference's dataset, else ``data_config``'s), unless
    ``make_extractor`` replaces them."""
    dataset = data_config.name if data_config else "mnist"
    split = image_sets.parse_reference(reference, dataset)
    if make_extractor is None:
        dataset = split.dataset if split else dataset
        make_extractor = feature_extractors.extractor_factory(features, resize, cache_dir, dataset)
    samples = image_sets.check_images(load_npy(samples_path), "samples", samples_path)
    if split is None:
        ref_set = image_sets.check_images(load_npy(reference), "reference", reference)
    else:
        ref_set = image_sets.load_reference_split(split, data_config)
    report = set_metrics.evaluate_sets(samples, ref_set, make_extractor, kid_protocol, split, cache_dir)
    path = os.path.splitext(samples_path)[0] + ".eval.json"
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
    return path, report


def sets_options(features: str | None, resize: str | None, kid_subset_size: int | None) -> dict:
    """The keyword options of ``evaluate_sets_file`` / ``evaluate_workdir_sets`` from the flags
    ``--features --resize --kid_subset_size`` or the fields of ``config.final_eval``: the features
    (None or '': inception), the resize (None or '': the network's) and KID's protocol
    (torch-fidelity's, with that subset size; None: its 1,000)."""
    size = kid.SUBSET_SIZE if kid_subset_size is None else int(kid_subset_size)
    kid_protocol = set_metrics.KidProtocol(subset_size=size)
    return dict(features=features or "inception", resize=resize or None, kid_protocol=kid_protocol)


def print_sets_reports(reports: list[tuple[str, dict]]) -> None:
    """Each (path, report) of the two-set metrics: its table and protocol line, then where it was written."""
    for path, report in reports:
        print(set_metrics.format_report(report))
        print(f"wrote {path}", flush=True)


SAMPLES_VS_REFERENCE = "samples_vs_reference.npy"  # (its report: samples_vs_reference.eval.json)


def evaluate_workdir_sets(
    workdir: str,
    reference: str,
    num: int | None = None,
    *,
    features: str = "inception",
    resize: str | None = None,
    kid_protocol: set_metrics.KidProtocol = set_metrics.TORCH_FIDELITY_KID,
    make_extractor=None,
    cache_dir: str | None = None,
) -> list[tuple[str, dict]]:
    """``--mode=evaluate --workdir --reference``: each replica's ``num`` (default
    ``evaluate.protocol_samples``) fair samples, measured against ``reference`` by ``evaluate_sets_file``
    (the other arguments are its). For the 28x28 grey sets only (``evaluate.CLASSIFIED``). gan_jax trains
    on their pixels as uint8 / 256 while the two-set metrics read a dataset's bytes as / 255, so the
    samples are scaled by 256 / 255 (clipped to 1) first: a G that reproduced the training images exactly
    would score as the images themselves. They are written to ``samples_vs_reference.npy`` beside their
    report. The reference, the set sizes, the resize and the weights are checked before any sample is
    drawn."""
    config = load_run_config(workdir)
    if config.data.name not in evaluate.CLASSIFIED:
        raise EvalError(
            f"--reference on a workdir measures {', '.join(evaluate.CLASSIFIED)} runs, not "
            f"{config.data.name!r}; draw its samples with --mode=sample and pass them as --samples"
        )
    num = evaluate.protocol_samples(config.data) if num is None else num
    split = image_sets.parse_reference(reference, config.data.name)
    if split is None:
        n_reference = len(image_sets.check_images(load_npy(reference), "reference", reference).images)
    else:
        n_reference = len(image_sets.load_reference_split(split, config.data).images)
    set_metrics.check_sizes(num, n_reference, kid_protocol)
    if make_extractor is None:
        dataset = split.dataset if split else config.data.name
        make_extractor = feature_extractors.extractor_factory(features, resize, cache_dir, dataset)
    extractor = make_extractor()  # (the resize and the weights checked; loaded once for all replicas)
    _, drawn = draw_workdir(workdir, config, num)
    reports = []
    for d in drawn:
        path = os.path.join(d.out_dir, SAMPLES_VS_REFERENCE)
        os.makedirs(d.out_dir, exist_ok=True)
        scale = np.float32(image_sets.DATASET_SCALE / 255.0)
        np.save(path, np.minimum(d.samples * scale, np.float32(1.0)))
        sets_report = evaluate_sets_file(
            path,
            reference,
            config.data,
            kid_protocol=kid_protocol,
            make_extractor=lambda: extractor,
            cache_dir=cache_dir,
        )
        reports.append(sets_report)
    return reports


def load_npy(path: str) -> np.ndarray:
    """The array in the .npy at ``path``; EvalError in one line when it cannot be read as one."""
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise EvalError(f"cannot read {path} as a .npy array ({e})") from None


def _write_report(path: str, results: dict, step: int | None, num: int, floors: dict | None) -> dict:
    report = results | {"step": step, "num_samples": num, "real_data": floors}
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
    return report
