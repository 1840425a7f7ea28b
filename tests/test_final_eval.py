"""``config.final_eval``: two-set metrics at the end of a training run (gan_jax/training/final_eval.py).

A tiny run (two replicas under ``-m slow``) on the shipped classifier's features (cheap on a CPU;
Inception's wiring is the same code, tested in test_evaluate_sets.py): nothing is written while the field
is off, when the workdir was already finished, or when a signal stops the run; a run that reaches its end
writes each replica's report, equal to the one ``--mode=evaluate --workdir --reference`` writes afterwards
and to the metrics of the classifier's features computed here. The refusals are one line, at validation.
"""

import json
import os
import signal

import numpy as np
import pytest
from conftest import ROOT, tiny_config
from test_evaluate import launch_in_process

from gan_jax import config as config_lib
from gan_jax.data import inception_weights
from gan_jax.errors import ConfigError
from gan_jax.game import replicas
from gan_jax.metrics import classifier, set_metrics
from gan_jax.training import evaluation, final_eval, signals, train, validation

NUM, SUBSET = 30, 10
REPORT = "samples_vs_reference.eval.json"


def grey_images(seed: int, n: int, channels: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28, channels)).astype(np.uint8)


def final_config(reference: str, replicas: int = 1, **fields):
    config = tiny_config(num_steps=4, num_replicas=replicas, log_every=2, ckpt_every=2, sample_every=2)
    fields = dict(num_samples=NUM, features="classifier", kid_subset_size=SUBSET) | fields
    config.final_eval.update(reference=reference, **fields)
    return config


def reports(workdir: str, count: int) -> list[dict | None]:
    """Each of ``count`` replicas' reports (None where there is none)."""
    paths = [os.path.join(d, REPORT) for d in replicas.dirs(workdir, count)]
    return [json.load(open(path)) if os.path.exists(path) else None for path in paths]


# one run to its end, then the same evaluation again: the whole path at its smallest (2 replicas: slow)
@pytest.mark.parametrize("count", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_a_run_that_ends_is_measured_as_evaluate_measures_it(count, tmp_path, monkeypatch, capsys):
    workdir, reference = str(tmp_path / "run"), str(tmp_path / "ref.npy")
    np.save(reference, grey_images(0, 40))

    def stopped(run, state, start):  # (the loop stopped by a signal at its first step)
        raise signals.Interrupted(signal.SIGTERM, start + 1)

    monkeypatch.setattr(train, "loop", stopped)
    with pytest.raises(signals.Interrupted, match="SIGTERM at step 1"):
        train.train(final_config(reference, count), workdir)
    assert reports(workdir, count) == [None] * count  # stopped before its end: not measured
    monkeypatch.undo()
    capsys.readouterr()

    train.train(final_config(reference, count), workdir)  # ends at 4: measured
    at_end, out = reports(workdir, count), capsys.readouterr().out
    for r, report in enumerate(at_end):
        path = os.path.join(replicas.dirs(workdir, count)[r], REPORT)
        assert f"{set_metrics.format_report(report)}\nwrote {path}" in out
        assert report["protocol"]["n_samples"] == NUM and report["protocol"]["kid_subset_size"] == SUBSET
        os.remove(path)
    assert len({report["classifier_fid"] for report in at_end}) == count  # each replica's own G
    train.train(
        final_config(reference, count), workdir
    )  # already at num_steps: nothing trained, nothing measured
    assert reports(workdir, count) == [None] * count and "nothing to do" in capsys.readouterr().out
    assert (
        final_eval.run(final_config("", count), workdir) == [] and reports(workdir, count) == [None] * count
    )  # off

    # the classifier's features of the samples written and of the reference, compared here
    params = classifier.load_classifier("mnist")
    ref = grey_images(0, 40).reshape(40, 784) / np.float32(256)  # (the classifier's inputs: bytes / 256)
    for r, report in enumerate(at_end):
        samples = np.load(os.path.join(replicas.dirs(workdir, count)[r], evaluation.SAMPLES_VS_REFERENCE))
        inputs = (samples * np.float32(255 / 256), ref)  # (the samples in [0, 1] are bytes / 255)
        feats = [classifier.features_and_probs(params, x)[0] for x in inputs]
        want = set_metrics.compare_features(*feats, set_metrics.KidProtocol(subset_size=SUBSET))
        assert report["classifier_fid"] == pytest.approx(want["fid"], rel=1e-5)
        assert report["precision"] == want["precision"] and report["coverage"] == want["coverage"]

    # --mode=evaluate --workdir --reference afterwards: the same checkpoint, the same draw, equal reports
    launch_in_process(
        "--mode=evaluate",
        f"--workdir={workdir}",
        f"--reference={reference}",
        f"--num_samples={NUM}",
        "--features=classifier",
        f"--kid_subset_size={SUBSET}",
    )
    assert reports(workdir, count) == at_end


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("refs")
    paths = {"rgb": str(folder / "rgb.npy"), "text": str(folder / "text.npy"), "ok": str(folder / "ok.npy")}
    np.save(paths["rgb"], grey_images(1, 40, channels=3))
    np.save(paths["ok"], grey_images(2, 40))
    with open(paths["text"], "w") as f:
        f.write("not an array")
    return paths


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"reference": "tset"}, "config.final_eval.reference='tset' is neither [dataset:]split[:count]"),
        ({"reference": "cifar10:test"}, "config.final_eval.reference=cifar10:test: dataset 'cifar10' has no"),
        ({"reference": "test:20000"}, "asks for 20000 mnist test images; it has 10000"),
        ({"reference": "text"}, "text.npy as a .npy array"),
        ({"reference": "test", "num_samples": 0}, "config.final_eval.num_samples must be >= 1, got 0"),
        (
            {"reference": "test", "num_samples": 500, "kid_subset_size": 1000},
            "samples: 500 images, fewer than KID's subset size 1000; pass config.final_eval.kid_subset_size",
        ),
        (
            {"reference": "test:3", "kid_subset_size": 2},
            "reference: 3 images; precision/recall (k=3) and density/coverage (k=5) need at least 6",
        ),
        ({"reference": "test", "features": "vgg"}, "unknown config.final_eval.features 'vgg'"),
        (
            {"reference": "test", "resize": "tf_bilinear"},
            "config.final_eval.resize=tf_bilinear: the classifier's features take 28x28",
        ),
        ({"reference": "rgb"}, "reference: 3 channels; these features take 1"),
        (
            {"reference": "test", "features": "inception", "resize": "lanczos"},
            "config.final_eval.resize=lanczos: not a resize the network knows; choose one of tf_bilinear",
        ),
    ],
)
def test_a_final_evaluation_that_could_not_run_is_refused_at_validation(fields, message, files):
    config = final_config(files.get(fields["reference"], fields["reference"]))
    config.final_eval.update({k: v for k, v in fields.items() if k != "reference"})
    with pytest.raises(ConfigError) as info:
        validation.validate(config)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_other_datasets_and_missing_inception_weights_are_refused(tmp_path, monkeypatch, files):
    from experiments.configs import ring

    config = ring.get_config()
    config.final_eval.reference = "test"
    with pytest.raises(ConfigError, match="measures mnist, fashion_mnist runs, not 'ring'"):
        validation.validate(config)
    validation.validate(final_config(files["ok"]))  # (the classifier's, with a file of 28x28 grey images)
    if os.path.exists(inception_weights.npz_path()):  # (Inception's: the weights' digest, not the network)
        validation.validate(final_config("test", features="inception"))
    monkeypatch.setenv("GAN_JAX_DATA_DIR", str(tmp_path))  # (an empty cache: no Inception weights)
    config = final_config("test", features="inception")
    where = os.path.join(str(tmp_path), "inception", "inception_fid.npz")
    with pytest.raises(ConfigError) as info:
        validation.validate(config)
    assert str(info.value).startswith(f"Inception weights not found at {where}; run `make data`")


def test_launch_refuses_in_one_line_before_training(tmp_path):
    from test_train import launch, one_line_error

    workdir = tmp_path / "w"
    line = one_line_error(launch("--config.final_eval.reference=tset", f"--workdir={workdir}"))
    assert line.startswith("error: config.final_eval.reference='tset' is neither") and not workdir.exists()


def test_an_old_runs_config_loads_with_the_evaluation_off():
    """A config.json written before the field existed upgrades to it, off (``config.upgrade``)."""
    with open(os.path.join(ROOT, "tests", "data", "old_run", "config.json")) as f:
        saved = json.load(f)
    assert "final_eval" not in saved
    assert config_lib.upgrade(saved).final_eval == config_lib.final_eval_config()
