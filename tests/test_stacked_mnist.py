"""StackedMNIST: the fixed training set (each channel a real training digit of the stated class, in the
stated layout), the mode metrics against float64 hand computations on images built from digits the shipped
classifier reads with known classes, the real-data floors against the multinomial's expected KL, and the
--samples contract of launch.py end to end; MNIST and the toys evaluate as before."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT
from test_evaluate import launch_in_process

from experiments.configs import r3gan_stacked_mnist
from experiments.configs import stacked_mnist as stacked_config
from experiments.sweeps import stacked_mnist as stacked_sweep
from gan_jax import config as config_lib
from gan_jax import errors
from gan_jax.data import datasets, mnist, stacked_mnist
from gan_jax.metrics import classifier, evaluate, stacked_modes
from gan_jax.training import evaluation, validation

# Multisets of (R, G, B) classes and their counts: 4 modes over 10 samples.
KNOWN = {(1, 2, 3): 5, (9, 0, 4): 3, (7, 7, 7): 1, (0, 0, 0): 1}
# KL(q || uniform) of q = (5, 3, 1, 1) / 10: sum q log(1000 q), written out
KNOWN_KL = 0.5 * math.log(500) + 0.3 * math.log(300) + 2 * 0.1 * math.log(100)


@pytest.fixture(scope="module")
def splits():
    return mnist.load_mnist()


@pytest.fixture(scope="module")
def digit_of_class(splits):
    """One test digit per class 0-9 [10, 784] that the shipped classifier reads as its true class."""
    x, y = splits["test"]
    _, probs = classifier.features_and_probs(classifier.load_classifier(), x[:200])
    right = probs.argmax(axis=1) == y[:200]
    return np.stack([x[:200][right & (y[:200] == c)][0] for c in range(10)])


def rgb(digit_of_class, triples) -> np.ndarray:
    """Images [N, 2352] whose R, G, B channels are the digits of the given classes: 28x28x3, flattened
    channels-last (the documented layout, built here independently of the module)."""
    return np.stack([np.stack([digit_of_class[c] for c in t], axis=-1).reshape(-1) for t in triples])


def known_samples(digit_of_class) -> np.ndarray:
    return rgb(digit_of_class, [t for t, n in KNOWN.items() for _ in range(n)])


def stacked_data_config(**fields):
    cfg = config_lib.data_config("stacked_mnist")
    for key, value in fields.items():
        cfg[key] = value
    return cfg


# --- the training set -----------------------------------------------------------------------------


def test_the_training_set_is_fixed_and_each_channel_a_training_digit_of_its_class(splits):
    cfg = stacked_data_config(num_train=300)
    x, y = datasets.load_dataset(cfg)["train"]
    again = datasets.load_dataset(cfg)["train"]
    np.testing.assert_array_equal(x, again[0])
    np.testing.assert_array_equal(y, again[1])
    other = datasets.load_dataset(stacked_data_config(num_train=300, seed=1))["train"][0]
    assert not np.array_equal(x, other)
    assert x.shape == (300, 2352) and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert datasets.pixel_range(cfg) == (0.0, 1.0)

    train_x, train_y = splits["train"]
    w = np.random.default_rng(0).normal(size=784)  # a fingerprint of each digit, checked exactly below
    where = {f: i for i, f in enumerate(train_x.astype(np.float64) @ w)}
    images = x.reshape(300, 28, 28, 3)  # channels-last
    for c, place in enumerate((100, 10, 1)):
        digits = images[..., c].reshape(300, 784)
        found = [where[f] for f in digits.astype(np.float64) @ w]
        np.testing.assert_array_equal(digits, train_x[found])  # a training digit, exactly
        np.testing.assert_array_equal(train_y[found], (y // place) % 10)  # of the class its label states


def test_the_training_set_size_is_read_without_building_it(monkeypatch):
    monkeypatch.setattr(stacked_mnist, "load", lambda cfg: pytest.fail("built the training set"))
    config = stacked_config.get_config()
    assert datasets.train_size(config.data) == 128_000
    splits, num_train, mean = evaluation.run_data(config)
    assert (splits, num_train, mean.shape) == (None, 128_000, (2352,))


# --- the metrics ----------------------------------------------------------------------------------


def test_known_modes_by_hand(digit_of_class):
    samples = known_samples(digit_of_class)
    got = stacked_modes.stacked_metrics(samples, min_samples=10)
    assert (got["modes_covered"], got["num_modes"]) == (4, 1000)
    assert got["reverse_kl"] == pytest.approx(KNOWN_KL, rel=1e-12)
    hist = np.asarray(got["mode_histogram"])
    assert (hist[123], hist[904], hist[777], hist[0], hist.sum()) == (5, 3, 1, 1, 10)  # R is the hundreds
    shuffled = stacked_modes.stacked_metrics(
        samples[np.random.default_rng(0).permutation(10)], min_samples=10
    )
    assert shuffled == got


def test_one_mode_scores_log_1000_and_an_even_cover_zero(digit_of_class):
    one = stacked_modes.stacked_metrics(rgb(digit_of_class, [(4, 2, 8)] * 50), min_samples=50)
    assert one["modes_covered"] == 1
    assert one["reverse_kl"] == pytest.approx(math.log(1000), rel=1e-12)
    every = [(a, b, c) for a in range(10) for b in range(10) for c in range(10)]
    even = stacked_modes.stacked_metrics(rgb(digit_of_class, every), min_samples=1000)
    assert even["modes_covered"] == 1000 and abs(even["reverse_kl"]) < 1e-12
    assert even["mode_histogram"] == [1] * 1000


@pytest.mark.parametrize(
    "samples, message",
    [
        (np.zeros((10, 784), np.float32), r"shape \[N, 2352\]"),
        (np.full((10, 2352), np.nan, np.float32), "NaN"),
        (np.full((10, 2352), -0.5, np.float32), r"in \[0, 1\].*\(x \+ 1\) / 2"),
        (np.zeros((10, 2352), np.float32), "10 samples; the StackedMNIST protocol needs at least 26000"),
    ],
)
def test_bad_samples_are_refused_in_one_line(samples, message):
    with pytest.raises(errors.EvalError, match=message):
        stacked_modes.stacked_metrics(samples)


def test_the_classifier_and_real_stacked_images_give_the_floors(splits):
    """The classifier's accuracy on the real test digits is its documented 99.42 %; a real stack is read
    right when its three channels are (about 0.9942^3). N real stacks cover all 1,000 modes and score
    KL(p || u) + (K - 1) / (2N): p's product of the test set's class frequencies f (3 KL(f || u_10),
    f from the true labels), plus the multinomial's finite-sample bias (sd ~ sqrt(2 (K - 1)) / (2N))."""
    n = stacked_modes.EVAL_SAMPLES
    floors = evaluate.stacked_floors(stacked_data_config(), n)
    assert floors["classifier_accuracy"] == pytest.approx(0.9942, abs=1e-9)
    assert floors["mode_accuracy"] == pytest.approx(0.9942**3, abs=0.004)
    assert (floors["modes_covered"], floors["num_modes"]) == (1000, 1000)
    f = np.bincount(splits["test"][1], minlength=10) / len(splits["test"][1])
    expected = 3 * float(np.sum(f * np.log(10 * f))) + 999 / (2 * n)
    assert floors["reverse_kl"] == pytest.approx(expected, abs=5 * math.sqrt(2 * 999) / (2 * n))


# --- evaluation entry points ----------------------------------------------------------------------


def test_samples_file_cli_end_to_end(tmp_path, digit_of_class):
    """launch.py --mode=evaluate --samples=S.npy --config=<stacked> writes S.eval.json with the metrics,
    the count and the floors (protocol_samples lowered to 10 for the test)."""
    np.save(tmp_path / "s.npy", known_samples(digit_of_class).astype(np.float32))
    cmd = [
        sys.executable,
        "launch.py",
        "--mode=evaluate",
        f"--samples={tmp_path / 's.npy'}",
        "--config=experiments/configs/stacked_mnist.py",
        "--config.data.protocol_samples=10",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {tmp_path / 's.eval.json'}" in proc.stdout
    with open(tmp_path / "s.eval.json") as f:
        got = json.load(f)
    assert (got["modes_covered"], got["num_samples"], got["step"]) == (4, 10, None)
    assert got["reverse_kl"] == pytest.approx(KNOWN_KL, rel=1e-12)
    assert {"modes_covered", "reverse_kl", "classifier_accuracy", "mode_accuracy"} <= set(got["real_data"])


@pytest.mark.parametrize(
    "config, error",
    [
        ("experiments/configs/stacked_mnist.py", "10 samples; the StackedMNIST protocol needs at least"),
        ("experiments/configs/paper_mnist.py", "samples of shape (10, 2352) are StackedMNIST's: evaluate"),
    ],
)
def test_samples_file_refusals_are_one_line(tmp_path, capsys, digit_of_class, config, error):
    """Fewer samples than the protocol's, or stacked samples under an MNIST config: one line, exit 2."""
    np.save(tmp_path / "s.npy", known_samples(digit_of_class))
    with pytest.raises(SystemExit) as exit_info:
        launch_in_process("--mode=evaluate", f"--samples={tmp_path / 's.npy'}", f"--config={config}")
    assert exit_info.value.code == 2
    [line] = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert line.startswith(f"error: {error}")
    assert not os.path.exists(tmp_path / "s.eval.json")


def test_mnist_samples_file_takes_the_mnist_path(tmp_path, monkeypatch, splits):
    """Without a StackedMNIST --config the samples file is MNIST's, as before (metrics stubbed)."""
    np.save(tmp_path / "s.npy", np.zeros((3, 784), np.float32))
    monkeypatch.setattr(stacked_modes, "stacked_metrics", lambda *a, **k: pytest.fail("stacked metrics"))
    monkeypatch.setattr(mnist, "load_mnist", lambda source="hub", data_dir=None: splits)
    monkeypatch.setattr(evaluate, "mnist_metrics", lambda x, s, labels=None, dataset="mnist": {"fcd": 1.5})
    monkeypatch.setattr(evaluate, "real_data_floors", lambda s, conditional, dataset: {"fcd": 0.5})
    launch_in_process("--mode=evaluate", f"--samples={tmp_path / 's.npy'}")
    with open(tmp_path / "s.eval.json") as f:
        assert json.load(f) == {"fcd": 1.5, "step": None, "num_samples": 3, "real_data": {"fcd": 0.5}}


def test_other_datasets_evaluate_as_before():
    mnist, ring = config_lib.data_config("mnist"), config_lib.data_config("ring")
    stacked = stacked_data_config()
    assert [evaluate.protocol_samples(c) for c in (mnist, ring, stacked)] == [10_000, 10_000, 26_000]
    centres = datasets.toy_centres(ring)
    got = evaluate.evaluate_samples(np.repeat(centres, 2, axis=0), ring, None)
    assert (got["modes_covered"], got["reverse_kl"]) == (8, pytest.approx(0.0, abs=1e-12))
    evaluate.check_has_metrics(stacked)
    with pytest.raises(errors.EvalError, match="no metrics for dataset 'cifar10'.*mnist.*ring, grid"):
        evaluate.check_has_metrics(config_lib.data_config("cifar10"))
    with pytest.raises(errors.EvalError, match="no conditional metrics"):
        evaluate.evaluate_samples(np.zeros((10, 2352), np.float32), stacked, None, 10, labels=np.zeros(10))


def test_every_sweep_row_is_a_valid_config():
    """The sweep's rows and the R3GAN config validate (a penalised row has an unnormalised D)."""
    rows = stacked_sweep.get_sweep()
    for row in rows:
        config = stacked_config.get_config()
        for key, value in row.items():
            *path, field = key.removeprefix("config.").split(".")
            node = config
            for name in path:
                node = node[name]
            node[field] = value
        validation.validate(config)
        assert config.reg.r1_gamma == config.reg.r2_gamma
    games = [(r["game"], r.get("config.reg.r1_gamma", 0.0), r.get("config.model.d_norm")) for r in rows]
    assert games[:2] == [("nonsaturating", 0.0, None), ("nonsaturating", 0.0, "none")]
    assert {g for g, gamma, _ in games if gamma} == {"nonsaturating", "relativistic_pairing"}
    r3gan = r3gan_stacked_mnist.get_config()
    validation.validate(r3gan)
    assert (r3gan.game, r3gan.reg.r1_gamma, r3gan.reg.r2_gamma) == ("relativistic_pairing", 1.0, 1.0)


@pytest.mark.slow
def test_a_trained_stacked_workdir_evaluates(tmp_path):
    """A short run of a tiny stacked config through launch.py, then --mode=evaluate on its workdir:
    eval.json holds the protocol's count of samples (protocol_samples, lowered here), the floors, and
    the mode metrics of those samples as read here (300 steps: G's channels no longer all read as 0)."""
    tiny = {"num_steps": 300, "data.num_train": 256, "model.ngf": 8, "model.ndf": 8, "model.z_dim": 8}
    tiny |= {"batch_size": 8, "eval_every": 0, "data.protocol_samples": 200}
    args = [f"--config.{k}={v}" for k, v in tiny.items()]
    train = [sys.executable, "launch.py", "--config=experiments/configs/stacked_mnist.py", *args]
    train.append(f"--workdir={tmp_path}")
    proc = subprocess.run(train, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    evaluate_cmd = [sys.executable, "launch.py", "--mode=evaluate", f"--workdir={tmp_path}"]
    proc = subprocess.run(evaluate_cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "eval.json") as f:
        got = json.load(f)
    assert (got["num_samples"], got["step"], len(got["mode_histogram"])) == (200, 300, 1000)
    assert 1 <= got["modes_covered"] <= 200 and got["real_data"]["classifier_accuracy"] > 0.99
    # the same 200 evaluation samples, their modes read here: channel c of pixel p is column 3p + c
    launch_in_process("--mode=sample", f"--workdir={tmp_path}")
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (200, 2352)
    channels = np.concatenate([samples[:, c::3] for c in range(3)])  # R rows, then G, then B
    _, probs = classifier.features_and_probs(classifier.load_classifier(), channels)
    r, g, b = probs.argmax(axis=1).reshape(3, 200)
    modes = 100 * r + 10 * g + b
    hist = [int(np.sum(modes == m)) for m in range(1000)]
    q = np.array([n for n in hist if n]) / 200.0
    # several modes, and not the same histogram with R and B swapped: the check can see the channel order
    assert len(set(modes.tolist())) > 1 and sorted(modes) != sorted(100 * b + 10 * g + r)
    assert got["mode_histogram"] == hist
    assert got["modes_covered"] == len(set(modes.tolist()))
    assert got["reverse_kl"] == pytest.approx(float(np.sum(q * np.log(1000 * q))), abs=1e-9)
