"""The evaluation glue end to end: MNIST's metrics of real, collapsed and noise sets against the
real-data floors, the Parzen number against float64 numpy, and launch.py --mode=evaluate on a trained
workdir (eval.json, a samples file, in-training rows, one-line refusals; a bug left to its traceback)."""

import json
import math
import os
import subprocess
import sys

import ml_collections
import numpy as np
import pytest
from absl import flags
from conftest import ROOT

from experiments.configs import mixture1d
from gan_jax import errors
from gan_jax.data import mnist
from gan_jax.metrics import evaluate, sample_metrics
from gan_jax.training import evaluation

N = 1000  # samples per in-process set, against the first N test images (the protocol's 10k: ~10x slower)
EVAL_SAMPLES = 200  # the in-training evaluation's samples
MNIST = ml_collections.ConfigDict({"name": "mnist"})


def launch(*args):
    """launch.py with the smoke config and ``args``, in a subprocess."""
    cmd = [sys.executable, "launch.py", "--config=experiments/configs/smoke.py", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def launch_in_process(*args):
    """launch.main with ``args`` parsed as its flags (for monkeypatched runs); SystemExit on an error."""
    import launch as launch_module

    flags.FLAGS(["launch.py", *args])
    try:
        launch_module.main(["launch.py"])
    finally:
        flags.FLAGS.unparse_flags()


def stderr_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture(scope="session")
def splits():
    return mnist.load_mnist()


@pytest.fixture(scope="module")
def small(splits):
    """The MNIST splits with N training and test images and the validation images Parzen's sigma is
    chosen on."""
    (xt, yt), (xv, yv), (xs, ys) = splits["train"], splits["valid"], splits["test"]
    valid = (xv[: evaluate.PARZEN_VALID], yv[: evaluate.PARZEN_VALID])
    return {"train": (xt[:N], yt[:N]), "valid": valid, "test": (xs[:N], ys[:N])}


@pytest.fixture(scope="module")
def floors(small):
    return evaluate.real_data_floors(small, num=N)


@pytest.fixture(scope="module")
def held_out(splits):
    """N validation images that no metric reads (Parzen's sigma uses the first PARZEN_VALID)."""
    return splits["valid"][0][evaluate.PARZEN_VALID : evaluate.PARZEN_VALID + N]


def metrics(samples, small):
    return evaluate.mnist_metrics(samples, small, min_samples=N)


def test_held_out_images_score_as_the_real_data_floors(small, floors, held_out):
    """Real images the metrics never saw, as samples, score what training images do."""
    real = metrics(held_out, small)
    assert floors["fcd"] < 30 and abs(real["fcd"] - floors["fcd"]) < 0.3 * floors["fcd"]
    for key in ("precision", "recall"):
        assert real[key] > 0.8 and floors[key] > 0.8 and abs(real[key] - floors[key]) < 0.05
    assert real["class_kl"] < 0.01 and floors["class_kl"] < 0.01
    assert real["classifier_score"] > 9.5 and abs(real["classifier_score"] - floors["classifier_score"]) < 0.2
    se = math.hypot(real["parzen_se"], floors["parzen_se"])
    assert abs(real["parzen_ll"] - floors["parzen_ll"]) < 3 * se
    assert sum(real["class_histogram"]) == N


@pytest.mark.parametrize("kind", ["one image", "one class", "uniform noise"])
def test_collapse_and_noise_move_every_metric_away_from_the_floors(small, floors, kind, splits):
    x, y = splits["train"]
    samples = {
        "one image": np.repeat(x[:1], N, axis=0),
        "one class": x[y == 1][:N],
        "uniform noise": np.random.default_rng(0).uniform(size=(N, 784)).astype(np.float32),
    }[kind]
    bad = metrics(samples, small)
    assert bad["fcd"] > 20 * floors["fcd"]
    assert bad["recall"] < floors["recall"] - 0.5
    assert bad["class_kl"] > 2.0 > 100 * floors["class_kl"]  # log 10 = 2.30 when all are one class
    assert bad["parzen_ll"] < floors["parzen_ll"] - 150
    if kind == "uniform noise":
        assert bad["precision"] < floors["precision"] - 0.5
    else:
        assert bad["classifier_score"] < 1.1 < 9.0 < floors["classifier_score"]


def parzen_log_likelihood64(x, samples, sigma: float) -> np.ndarray:
    """log (1/M) sum_j N(x; mu_j, sigma^2 I) per row of x, in float64 numpy (distances expanded)."""
    x, mu = np.asarray(x, np.float64), np.asarray(samples, np.float64)
    sq = (x * x).sum(1)[:, None] - 2.0 * x @ mu.T + (mu * mu).sum(1)[None, :]
    a = -sq / (2.0 * sigma**2)
    peak = a.max(axis=1)
    log_mean = peak + np.log(np.exp(a - peak[:, None]).sum(axis=1)) - np.log(len(mu))
    return log_mean - x.shape[1] * np.log(sigma * np.sqrt(2.0 * np.pi))


def test_parzen_numbers_equal_a_float64_reference(small, held_out):
    """mnist_metrics' Parzen: sigma the grid's best on valid[:1000], then the test images' mean LL and
    its standard error, as float64 numpy computes them on the same samples."""
    sigmas = (0.1, 0.15, 0.2, 0.3)
    out = evaluate.mnist_metrics(held_out, small, sigmas=sigmas, min_samples=N)
    valid = [parzen_log_likelihood64(small["valid"][0], held_out, s).mean() for s in sigmas]
    assert 0 < np.argmax(valid) < len(sigmas) - 1  # an interior choice: the grid's ends would hide a bug
    assert out["parzen_sigma"] == sigmas[int(np.argmax(valid))]
    ll = parzen_log_likelihood64(small["test"][0], held_out, out["parzen_sigma"])
    assert out["parzen_ll"] == pytest.approx(ll.mean(), abs=1e-3)
    assert out["parzen_se"] == pytest.approx(ll.std() / math.sqrt(len(ll)), rel=1e-4)


def test_per_class_fcd_mean_is_over_the_classes_with_two_samples():
    """A class with fewer than 2 samples has no covariance: NaN for it, and the mean is over the others
    (``per_class_fcd_classes`` of them); with no such class the mean is NaN."""
    rng = np.random.default_rng(0)
    test_labels = np.repeat(np.arange(10), 20)
    test_feats = rng.normal(size=(200, 4)) + test_labels[:, None]
    labels = np.concatenate([np.repeat(np.arange(8), 5), [8]])  # 5 each of 0..7, one 8, no 9
    feats = rng.normal(size=(len(labels), 4)) + 0.5 * labels[:, None]
    probs = np.eye(10)[labels]
    out = evaluate.conditional_metrics(feats, probs, labels, test_feats, test_labels)
    assert np.isnan(out["per_class_fcd"][8]) and np.isnan(out["per_class_fcd"][9])
    fcd = sample_metrics.frechet_distance
    each = [fcd(feats[labels == c], test_feats[test_labels == c]) for c in range(8)]
    assert out["per_class_fcd"][:8] == each
    assert out["per_class_fcd_classes"] == 8
    assert out["per_class_fcd_mean"] == pytest.approx(np.mean(each), rel=1e-12)
    alone = evaluate.conditional_metrics(feats[:10:5], probs[:10:5], labels[:10:5], test_feats, test_labels)
    assert alone["per_class_fcd_classes"] == 0 and np.isnan(alone["per_class_fcd_mean"])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 10-step smoke run that evaluates EVAL_SAMPLES samples at its last step."""
    workdir = str(tmp_path_factory.mktemp("run"))
    args = ["--config.num_steps=10", "--config.eval_every=10", f"--config.eval_samples={EVAL_SAMPLES}"]
    proc = launch(f"--workdir={workdir}", *args)
    assert proc.returncode == 0, proc.stderr
    return workdir


def test_training_writes_the_evaluation_of_its_samples(run):
    """The in-training row at step 10 holds the scalars of ``evaluate_samples`` on the evaluation samples
    of the step-10 checkpoint, drawn again here."""
    with open(os.path.join(run, "metrics.jsonl")) as f:
        rows = [row for row in map(json.loads, f) if "fcd" in row]
    assert [row["step"] for row in rows] == [10]
    config = evaluation.load_run_config(run)
    splits, [drawn] = evaluation.draw_workdir(run, config, EVAL_SAMPLES)
    want = evaluate.scalars(evaluate.evaluate_samples(drawn.samples, MNIST, splits, min_samples=EVAL_SAMPLES))
    assert set(want) == set(evaluate.KEYS)
    got = {k: v for k, v in rows[0].items() if k != "step"}
    assert set(got) == set(want)
    np.testing.assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-4)


# ~30 s on 2 idle cores (10,000 samples and the floors, in a subprocess and here); the default suite runs
# the same command through the README (test_docs) and the glue in process (evaluation during training)
@pytest.mark.slow
def test_evaluate_mode_writes_the_metrics_of_the_drawn_samples(run, splits):
    """--mode=evaluate's eval.json: the metrics ``evaluate_samples`` gives the samples --mode=sample
    draws, the step, the count and the real-data floors."""
    num = evaluate.PARZEN_SAMPLES
    [path] = evaluation.sample_workdir(run, num)
    assert path == os.path.join(run, "samples.npy")
    samples = np.load(path)
    proc = subprocess.Popen(  # evaluated while the reference below is computed
        [sys.executable, "launch.py", "--mode=evaluate", f"--num_samples={num}", f"--workdir={run}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    want = evaluate.evaluate_samples(samples, MNIST, splits)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert f"wrote {os.path.join(run, 'eval.json')}" in stdout
    with open(os.path.join(run, "eval.json")) as f:
        got = json.load(f)
    assert set(got) == set(want) | {"step", "num_samples", "real_data"}
    assert (got["step"], got["num_samples"]) == (10, num)
    assert got["class_histogram"] == want["class_histogram"]
    np.testing.assert_allclose([got[k] for k in evaluate.KEYS], [want[k] for k in evaluate.KEYS], rtol=1e-5)
    floors = got["real_data"]
    assert set(evaluate.KEYS) <= set(floors)
    assert floors["fcd"] < got["fcd"] and floors["precision"] > 0.8


def test_samples_file_writes_its_eval_json(tmp_path, monkeypatch, splits):
    """--samples=S.npy (--labels=L.npy) writes S.eval.json with the metrics of those samples (and
    classes) beside the floors: the metrics stubbed here, the files and flags real."""
    samples = np.random.default_rng(0).uniform(size=(30, 784)).astype(np.float32)
    labels = np.arange(30) % 10
    np.save(tmp_path / "s.npy", samples)
    np.save(tmp_path / "l.npy", labels)
    seen = {}

    def fake_metrics(x, s, labels=None, dataset=None):
        seen["samples"], seen["labels"], seen["splits"], seen["dataset"] = x, labels, s, dataset
        return {"fcd": float(np.sum(x, dtype=np.float64))}

    monkeypatch.setattr(mnist, "load_mnist", lambda source="hub", data_dir=None: splits)
    monkeypatch.setattr(evaluate, "mnist_metrics", fake_metrics)
    monkeypatch.setattr(
        evaluate, "real_data_floors", lambda s, conditional, dataset: {"conditional": conditional}
    )
    launch_in_process("--mode=evaluate", f"--samples={tmp_path / 's.npy'}", f"--labels={tmp_path / 'l.npy'}")
    with open(tmp_path / "s.eval.json") as f:
        got = json.load(f)
    assert got == {
        "fcd": pytest.approx(float(np.sum(samples, dtype=np.float64))),
        "step": None,
        "num_samples": 30,
        "real_data": {"conditional": True},
    }
    np.testing.assert_array_equal(seen["samples"], samples)
    np.testing.assert_array_equal(seen["labels"], labels)
    assert seen["splits"] is splits and seen["dataset"] == "mnist"


@pytest.mark.parametrize("name", ["cifar10", "celeb_a", "gauss1d"])
def test_datasets_without_metrics_are_refused_before_sampling(tmp_path, monkeypatch, name):
    (tmp_path / "config.json").write_text(json.dumps({"data": {"name": name}}))
    monkeypatch.setattr(evaluation, "draw_workdir", lambda *a: pytest.fail("drew samples"))
    with pytest.raises(errors.EvalError, match=f"no metrics for dataset '{name}'.*mnist.*ring, grid"):
        evaluation.evaluate_workdir(str(tmp_path), 10)


def test_evaluate_mode_refuses_a_1d_toy_in_one_line(tmp_path, monkeypatch, capsys):
    """A mixture1d run's workdir: one line on stderr and exit 2, before any checkpoint is read."""
    (tmp_path / "config.json").write_text(mixture1d.get_config().to_json_best_effort())
    monkeypatch.setattr(evaluation, "run_data", lambda *a: pytest.fail("read the run's data"))
    with pytest.raises(SystemExit) as exit_info:
        launch_in_process("--mode=evaluate", f"--workdir={tmp_path}")
    assert exit_info.value.code == 2
    line = stderr_line(capsys.readouterr().err)
    assert line.startswith("error: no metrics for dataset 'mixture1d'") and "mnist" in line
    assert not os.path.exists(tmp_path / "eval.json")


@pytest.mark.parametrize("error", [RuntimeError, ValueError])
def test_a_bug_is_not_turned_into_a_one_line_error(tmp_path, monkeypatch, capsys, error):
    """An exception that is no GanJaxError (a ValueError included) leaves launch.main as it is: absl's
    app.run then lets Python print its traceback and exit 1."""

    def planted(workdir):
        raise error("a planted bug")

    monkeypatch.setattr(evaluation, "load_run_config", planted)
    with pytest.raises(error, match="a planted bug"):
        launch_in_process("--mode=evaluate", f"--workdir={tmp_path}")
    assert capsys.readouterr().err == ""


def test_flag_misuse_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        launch_in_process("--mode=sample", "--num_samples=0", f"--workdir={tmp_path}")
    assert exit_info.value.code == 2
    assert stderr_line(capsys.readouterr().err) == "error: --num_samples must be at least 1, got 0"
