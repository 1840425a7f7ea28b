"""``--mode=evaluate --samples=A.npy --reference=B.npy``: metrics between any two image sets with the
protocol beside them (gan_jax/metrics/set_metrics.py, image_sets.py, feature_extractors.py,
reference_cache.py).

The feature network is replaced by a fixed random projection (cheap, deterministic), so the files,
checks, protocol fields and cache are tested here in seconds; the metrics on fixed features are checked
against the published formulas in float64 numpy (FID by scipy's sqrtm as pytorch-fid computes it and by
an exact nuclear norm on a rank-deficient pair, KID on torch-fidelity's subsets, precision/recall as
torch-fidelity and prdc compare, density/coverage as prdc). One test runs the real Inception network and
skips while ``gan_jax.metrics.inception`` or its weights are absent.
"""

import json
import os
import re
import sys
import types

import ml_collections
import numpy as np
import pytest
import scipy.linalg
from test_evaluate import launch_in_process

import gan_jax.data
import gan_jax.metrics
from gan_jax import errors
from gan_jax.metrics import feature_extractors, image_sets, reference_cache, set_metrics
from gan_jax.training import evaluation

SMALL_KID = set_metrics.KidProtocol(subsets=5, subset_size=10, seed=3)
DIM = 16


def projection(images) -> np.ndarray:
    """A fixed random projection of the images (grey tiled to RGB) to DIM features, float64."""
    x = np.asarray(images, np.float64)
    x = np.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x
    flat = x.reshape(len(x), -1)
    w = np.random.default_rng(0).standard_normal((flat.shape[1], DIM)) / np.sqrt(flat.shape[1])
    return flat @ w


def extractor(calls=None, resize="test-resize", side=None):
    """A FeatureExtractor of ``projection``; ``calls`` collects the number of images of each call."""

    def fn(images):
        if calls is not None:
            calls.append(len(images))
        return projection(images)

    return lambda: feature_extractors.FeatureExtractor("projection", "ab" * 32, resize, fn, "inception", side)


def uint8_images(seed, n, shape=(12, 12, 1), bright=0):
    rng = np.random.default_rng(seed)
    return np.clip(rng.integers(0, 200, size=(n, *shape)) + bright, 0, 255).astype(np.uint8)


def save(tmp_path, name, array):
    np.save(tmp_path / name, array)
    return str(tmp_path / name)


# ------------------------------------------------------------------ the metrics on fixed features


def pytorch_fid(a, b):
    """pytorch-fid's calculate_frechet_distance: scipy sqrtm of S_a S_b, eps fallback, real part."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s_a @ s_b)  # pytorch-fid passes disp=False, deprecated in SciPy 1.17
    if not np.isfinite(covmean).all():
        offset = np.eye(len(s_a)) * 1e-6
        covmean = scipy.linalg.sqrtm((s_a + offset) @ (s_b + offset))
    assert np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3)
    diff = mu_a - mu_b
    return diff @ diff + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(covmean.real)


def numpy_kid(a, b, protocol):
    """torch-fidelity's KID: subsets drawn a's then b's from RandomState(seed); unbiased MMD^2 under
    (x.y / d + 1)^3; mean and population std."""
    rng, d, m = np.random.RandomState(protocol.seed), a.shape[1], protocol.subset_size
    values = []
    for _ in range(protocol.subsets):
        x, y = a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
        off = ~np.eye(m, dtype=bool)
        values.append((kxx[off].sum() + kyy[off].sum()) / (m * (m - 1)) - 2 * kxy.mean())
    return np.mean(values), np.std(values)


def prdc_reference(real, fake, k_pr, k_dc):
    """Precision/recall (torch-fidelity: radius = k-th neighbour, itself excluded, ``<=``), density and
    coverage (prdc.compute_prdc: np.partition's k-th smallest including itself, ``<``), float64; also
    the smallest relative gap between a distance and a radius (the ties a float32 pass could flip)."""
    dist = lambda p, q: np.sqrt(((p[:, None] - q[None]) ** 2).sum(-1))  # noqa: E731
    d_rr, d_ff, d_rf = dist(real, real), dist(fake, fake), dist(real, fake)
    radius = lambda d, k: np.partition(d, k, axis=1)[:, k]  # noqa: E731
    r_pr, f_pr, r_dc = radius(d_rr, k_pr), radius(d_ff, k_pr), radius(d_rr, k_dc)
    out = {
        "precision": (d_rf <= r_pr[:, None]).any(axis=0).mean(),
        "recall": (d_rf <= f_pr[None, :]).any(axis=1).mean(),
        "density": (d_rf < r_dc[:, None]).sum(axis=0).mean() / k_dc,
        "coverage": (d_rf.min(axis=1) < r_dc).mean(),
    }
    gaps = [np.abs(d_rf - r[:, None]) / r[:, None] for r in (r_pr, r_dc)] + [np.abs(d_rf - f_pr) / f_pr]
    return out, min(g.min() for g in gaps)


def relu_features(seed, n, d, shift=0.0):
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((d, d)) / np.sqrt(d)
    return np.maximum(rng.standard_normal((n, d)) @ mix + shift, 0).astype(np.float32)


def test_compare_features_equals_the_published_formulas_in_float64():
    fake, real = relu_features(0, 60, 24, 0.2), relu_features(1, 50, 24)
    got = set_metrics.compare_features(fake, real, SMALL_KID)
    f64, r64 = fake.astype(np.float64), real.astype(np.float64)
    assert got["fid"] == pytest.approx(pytorch_fid(f64, r64), rel=1e-9)
    np.testing.assert_allclose([got["kid_mean"], got["kid_std"]], numpy_kid(f64, r64, SMALL_KID), rtol=1e-10)
    want, gap = prdc_reference(r64, f64, set_metrics.PR_K, set_metrics.DC_K)
    assert gap > 1e-5  # no near-tie a float32 distance could flip: the counts below must agree exactly
    assert {k: got[k] for k in want} == want
    assert 0 < want["precision"] < 1 and 0 < want["coverage"] < 1 and want["density"] > 0


def test_fid_of_a_rank_deficient_pair_matches_sqrtm_and_the_exact_nuclear_norm():
    """n = 12 rows of d = 64 features: both covariances have rank 11. Tr (S_a S_b)^{1/2} is then the
    nuclear norm of A_a A_b^T, A = centred rows / sqrt(n - 1) (the nonzero eigenvalues of S_a S_b are
    the squared singular values of that 12 x 12 matrix): exact in float64, unlike sqrtm of a singular
    matrix. Both square-root routes lose ~3e-8 (relative) to the 53 null directions' round-off here
    (measured: eigenvalues 2.0e-8, sqrtm 3.0e-8), hence rel 1e-7."""
    a, b = relu_features(2, 12, 64).astype(np.float64), relu_features(3, 12, 64, 0.3).astype(np.float64)
    got = set_metrics.compare_features(a, b, set_metrics.KidProtocol(3, 6, 0))["fid"]
    centred = [(x - x.mean(0)) / np.sqrt(len(x) - 1) for x in (a, b)]
    nuclear = np.linalg.svd(centred[0] @ centred[1].T, compute_uv=False).sum()
    diff = a.mean(0) - b.mean(0)
    exact = diff @ diff + sum((c * c).sum() for c in centred) - 2 * nuclear
    assert got == pytest.approx(exact, rel=1e-7)
    assert pytorch_fid(a, b) == pytest.approx(exact, rel=1e-7)
    note = set_metrics.rank_note(12, 12, 64)
    assert "samples 12 rows, reference 12 rows" in note and set_metrics.rank_note(65, 65, 64) is None
    assert set_metrics.rank_note(64, 100, 64).startswith("samples 64 rows <= 64 features")


# ------------------------------------------------------------------ files, fields and protocol


def test_two_files_give_eval_json_with_the_metrics_and_the_protocol(tmp_path):
    a, b = uint8_images(0, 40, bright=30), uint8_images(1, 36)
    a_path, b_path = save(tmp_path, "a.npy", a), save(tmp_path, "b.npy", b[..., 0])  # B as [N, H, W]
    path, report = evaluation.evaluate_sets_file(
        a_path, b_path, make_extractor=extractor(), kid_protocol=SMALL_KID
    )
    assert path == str(tmp_path / "a.eval.json")
    with open(path) as f:
        assert json.load(f) == report
    feats = [np.float32(projection(image_sets.to_float(x))) for x in (a, b)]
    want = set_metrics.compare_features(*feats, SMALL_KID)
    assert report["inception_fid"] == want["fid"] and report["inception_kid_mean"] == want["kid_mean"]
    assert report["inception_kid_std"] == want["kid_std"]
    assert {k: report[k] for k in ("precision", "recall", "density", "coverage")} == {
        k: want[k] for k in ("precision", "recall", "density", "coverage")
    }
    assert report["inception_fid"] > 0.5 * pytorch_fid(*[np.float64(f) for f in feats])  # a real shift
    assert report["protocol"] == {
        "features": "projection",
        "features_sha256": "ab" * 32,
        "feature_dim": DIM,
        "resize": "test-resize",
        "samples": a_path,
        "samples_shape": [12, 12, 1],
        "samples_pixels": "uint8 / 255",
        "n_samples": 40,
        "reference": b_path,
        "reference_shape": [12, 12, 1],
        "reference_pixels": "uint8 / 255",
        "n_reference": 36,
        "reference_cache": None,
        "kid_subsets": 5,
        "kid_subset_size": 10,
        "kid_seed": 3,
        "precision_recall_k": 3,
        "density_coverage_k": 5,
        "rank_deficient": None,
    }
    line = report["protocol_line"]
    assert "projection sha256 abababababab" in line and "samples 40 (12x12x1, uint8 / 255)" in line
    assert "KID 5 subsets x 10, seed 3" in line and "rank" not in line


def test_small_sets_are_measured_and_flagged_rank_deficient(tmp_path):
    a_path = save(tmp_path, "a.npy", uint8_images(2, 10))
    b_path = save(tmp_path, "b.npy", uint8_images(3, 12))
    _, report = evaluation.evaluate_sets_file(
        a_path, b_path, make_extractor=extractor(), kid_protocol=SMALL_KID
    )
    assert np.isfinite(report["inception_fid"])
    assert report["protocol"]["rank_deficient"].startswith(
        "samples 10 rows, reference 12 rows <= 16 features"
    )
    assert report["protocol_line"].endswith("rank-deficient covariance")


def test_uint8_float_and_flat_rows_give_the_same_numbers(tmp_path):
    a, b = uint8_images(4, 30, (28, 28, 1), bright=20), uint8_images(5, 30, (28, 28, 1))
    b_path = save(tmp_path, "b.npy", b)
    as_float = a.astype(np.float32) / np.float32(255)
    variants = {
        "uint8": a,
        "float32": as_float,
        "flat_float32": as_float.reshape(30, 784),
        "flat_uint8": a.reshape(30, 784),
        "float64": a / 255.0,
    }
    reports = {}
    for name, array in variants.items():
        path = save(tmp_path, f"{name}.npy", array)
        _, report = evaluation.evaluate_sets_file(
            path, b_path, make_extractor=extractor(), kid_protocol=SMALL_KID
        )
        reports[name] = {k: v for k, v in report.items() if isinstance(v, float)}
    for name in ("float32", "flat_float32", "flat_uint8"):
        assert reports[name] == reports["uint8"], name
    for key, value in reports["uint8"].items():
        assert reports["float64"][key] == pytest.approx(value, rel=1e-5, abs=1e-9), key


def test_rgb_flat_rows_are_read_channels_last():
    rgb = uint8_images(6, 3, (5, 5, 3))
    got = image_sets.check_images(rgb.reshape(3, 75), "samples", "x")
    np.testing.assert_array_equal(got.images, rgb)


# ------------------------------------------------------------------ one-line refusals, nothing written


def bad_sets():
    good = uint8_images(7, 20)
    nan = good / 255.0
    nan[3, 4, 5, 0] = np.nan
    return {  # name -> (samples array, reference array, KID subset size, the error's text)
        "nan": (nan, good, 10, r"samples: 1 pixels are NaN or Inf"),
        "above_one": (good * 1.0, good, 10, r"samples: float pixels in \[0, 199\], outside \[0, 1\]$"),
        "tanh_range": (good / 100.0 - 1.0, good, 10, r"outside \[0, 1\]; map tanh outputs .* \(x \+ 1\) / 2"),
        "int64": (good.astype(np.int64), good, 10, r"samples: pixels of dtype int64; give uint8"),
        "channels": (np.concatenate([good, good], -1), good, 10, r"samples: 2 channels; the network takes 1"),
        "rank5": (good[None], good, 10, r"samples: shape \(1, 20, 12, 12, 1\) is not images"),
        "not_square": (np.zeros((20, 785), np.float32), good, 10, r"samples: flat rows of 785 values"),
        "empty": (good[:0], good, 10, r"samples: an empty set"),
        "reference_nan": (good, nan, 10, r"^reference: 1 pixels are NaN"),
        "kid_subset": (good, good[:15], 16, r"reference: 15 images, fewer than KID's subset size 16; pass"),
        "dc_k": (good, good[:5], 2, r"reference: 5 images; .*density/coverage \(k=5\) need at least 6"),
        "pr_k": (good[:3], good, 2, r"samples: 3 images; precision/recall \(k=3\) .* at least 4"),
    }


@pytest.mark.parametrize("case", list(bad_sets()))
def test_bad_input_is_one_error_before_any_feature_and_writes_nothing(tmp_path, case):
    samples, reference, subset_size, message = bad_sets()[case]
    made = []

    def never():
        made.append(1)
        pytest.fail("the feature extractor was made")

    a_path, b_path = save(tmp_path, "a.npy", samples), save(tmp_path, "b.npy", reference)
    with pytest.raises(errors.EvalError, match=message):
        evaluation.evaluate_sets_file(
            a_path, b_path, make_extractor=never, kid_protocol=set_metrics.KidProtocol(5, subset_size, 0)
        )
    assert not made and sorted(os.listdir(tmp_path)) == ["a.npy", "b.npy"]


def test_unreadable_file_and_unsized_images_are_refused(tmp_path):
    (tmp_path / "b.npy").write_text("not an array")
    a_path = save(tmp_path, "a.npy", uint8_images(8, 20))
    with pytest.raises(errors.EvalError, match="cannot read .*b.npy as a .npy array"):
        evaluation.evaluate_sets_file(a_path, str(tmp_path / "b.npy"), make_extractor=extractor())
    calls = []
    with pytest.raises(
        errors.EvalError, match="samples: 12x12 images; without a resize the network takes 299x299"
    ):
        evaluation.evaluate_sets_file(
            a_path, a_path, make_extractor=extractor(calls, "none", 299), kid_protocol=SMALL_KID
        )
    assert calls == [] and not os.path.exists(tmp_path / "a.eval.json")


def fake_inception(monkeypatch, load_variables):
    """``gan_jax.metrics.inception`` and ``gan_jax.data.inception_weights`` replaced by stand-ins with
    their API (the projection as the network), so the real wiring of ``inception_extractor`` runs."""
    inception = types.SimpleNamespace(
        RESIZES=("bilinear", "bicubic"),
        DEFAULT_RESIZE="bilinear",
        load_variables=load_variables,
        inception_features=lambda images, *, variables, batch_size, resize, value_range: (
            projection(images) * variables["params"]["w"]
        ),
    )
    weights = types.SimpleNamespace(content_sha256=lambda flat: "digest:" + ",".join(sorted(flat)))
    for package, name, module in (
        (gan_jax.metrics, "inception", inception),
        (gan_jax.data, "inception_weights", weights),
    ):
        monkeypatch.setitem(sys.modules, f"{package.__name__}.{name}", module)
        monkeypatch.setattr(package, name, module, raising=False)


def test_launch_measures_two_files_and_refuses_missing_weights_in_one_line(tmp_path, monkeypatch, capsys):
    fake_inception(monkeypatch, lambda cache_dir=None: {"params": {"w": 2.0}})
    a_path, b_path = (
        save(tmp_path, "a.npy", uint8_images(9, 12, bright=40)),
        save(tmp_path, "b.npy", uint8_images(10, 12)),
    )
    launch_in_process(
        "--mode=evaluate", f"--samples={a_path}", f"--reference={b_path}", "--kid_subset_size=12"
    )
    out = capsys.readouterr().out
    with open(tmp_path / "a.eval.json") as f:
        report = json.load(f)
    assert report["protocol"]["features_sha256"] == "digest:params/w"
    assert report["protocol"]["resize"] == "bilinear" and report["protocol"]["kid_subset_size"] == 12
    assert report["protocol"]["features"] == feature_extractors.INCEPTION_NAME
    assert (
        f"wrote {tmp_path / 'a.eval.json'}" in out and "inception_fid" in out and "protocol: features" in out
    )
    os.remove(tmp_path / "a.eval.json")

    def missing(cache_dir=None):
        raise gan_jax.data.mnist.DatasetError("the Inception weights are not at /x; run `make data`")

    fake_inception(monkeypatch, missing)
    for extra, message in (
        ([], "error: the Inception weights are not at /x; run `make data`"),
        (
            ["--resize=lanczos"],
            "error: --resize=lanczos: not a resize the network knows; choose one of bilinear, bicubic",
        ),
    ):
        with pytest.raises(SystemExit) as exit_info:
            launch_in_process(
                "--mode=evaluate",
                f"--samples={a_path}",
                f"--reference={b_path}",
                "--kid_subset_size=12",
                *extra,
            )
        assert exit_info.value.code == 2
        lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert lines == [message]
        assert not os.path.exists(tmp_path / "a.eval.json")


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--mode=train", "--reference=b.npy"],
            "--reference/--features/--resize/--kid_subset_size are for --mode=evaluate",
        ),
        (
            ["--samples=a.npy", "--resize=bicubic"],
            "--features/--resize/--kid_subset_size go with --reference",
        ),
        (["--samples=a.npy", "--reference=b.npy", "--labels=l.npy"], "--labels are for MNIST's conditional"),
        (
            ["--mode=sample", "--reference=b.npy"],
            "are for --mode=evaluate",
        ),
    ],
)
def test_flag_misuse_is_one_line(args, message, capsys):
    args = args if any(a.startswith("--mode") for a in args) else ["--mode=evaluate", *args]
    with pytest.raises(SystemExit) as exit_info:
        launch_in_process(*args)
    assert exit_info.value.code == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert line.startswith("error: ") and re.search(message, line)


def test_classifier_features_through_launch_and_their_refusals(tmp_path, capsys):
    """--features=classifier: the shipped classifier's features of x * 255 / 256 (the uint8 / 256 pixels
    it was trained on), 28x28 grey only; the reference's dataset picks the classifier."""
    from gan_jax.metrics import classifier

    a, b = uint8_images(12, 24, (28, 28, 1), bright=40), uint8_images(13, 24, (28, 28, 1))
    a_path, b_path = save(tmp_path, "a.npy", a), save(tmp_path, "b.npy", b.reshape(24, 784))
    launch_in_process(
        "--mode=evaluate",
        f"--samples={a_path}",
        f"--reference={b_path}",
        "--features=classifier",
        "--kid_subset_size=12",
    )
    with open(tmp_path / "a.eval.json") as f:
        report = json.load(f)
    params = classifier.load_classifier()
    feats = [classifier.features_and_probs(params, x.reshape(24, 784) / np.float32(256))[0] for x in (a, b)]
    want = set_metrics.compare_features(*feats, set_metrics.KidProtocol(subset_size=12))
    assert report["classifier_fid"] == pytest.approx(want["fid"], rel=1e-5)
    assert report["classifier_kid_mean"] == pytest.approx(want["kid_mean"], rel=1e-4, abs=1e-9)
    p = report["protocol"]
    assert p["features_sha256"] == classifier.WEIGHTS_SHA256["mnist"] and p["feature_dim"] == 128
    assert p["features"] == "gan_jax mnist classifier, penultimate layer"
    assert p["resize"] == "none" and p["kid_subsets"] == 100
    for bad, message in (
        (uint8_images(14, 24, (28, 28, 3)), "samples: 3 channels; these features take 1"),
        (
            uint8_images(15, 24, (32, 32, 1)),
            "samples: 32x32 images; without a resize the network takes 28x28",
        ),
    ):
        np.save(a_path, bad)
        with pytest.raises(errors.EvalError, match=message):
            evaluation.evaluate_sets_file(a_path, b_path, features="classifier", kid_protocol=SMALL_KID)
    with pytest.raises(errors.EvalError, match="--resize=bilinear: the classifier's features take 28x28"):
        evaluation.evaluate_sets_file(a_path, b_path, features="classifier", resize="bilinear")
    cifar = ml_collections.ConfigDict({"name": "cifar10"})
    with pytest.raises(errors.EvalError, match="no shipped classifier for 'cifar10'; there are: mnist"):
        evaluation.evaluate_sets_file(a_path, b_path, cifar, features="classifier", kid_protocol=SMALL_KID)
    _, report = evaluation.evaluate_sets_file(
        save(tmp_path, "a.npy", a),
        "fashion_mnist:test:12",
        features="classifier",
        kid_protocol=SMALL_KID,
        cache_dir=str(tmp_path / "cache"),
    )
    assert report["protocol"]["features_sha256"] == classifier.WEIGHTS_SHA256["fashion_mnist"]
    assert report["protocol"]["features"] == "gan_jax fashion_mnist classifier, penultimate layer"


# ------------------------------------------------------------------ the dataset's reference and its cache


def test_reference_specs_parse():
    assert image_sets.parse_reference("test", "mnist") == ("mnist", "test", 0)
    assert image_sets.parse_reference("fashion_mnist:train:100", "mnist") == ("fashion_mnist", "train", 100)
    assert image_sets.parse_reference("train:5", "fashion_mnist") == ("fashion_mnist", "train", 5)
    assert image_sets.parse_reference("/tmp/test.npy", "mnist") is None
    with pytest.raises(errors.EvalError, match="dataset 'cifar10' has no reference split here"):
        image_sets.parse_reference("cifar10:test", "mnist")
    with pytest.raises(errors.EvalError, match="dataset 'ring' has no reference split"):
        image_sets.parse_reference("test", "ring")


def test_a_split_too_short_for_the_count_is_refused(monkeypatch):
    from gan_jax.data import datasets

    x = np.arange(5 * 784).reshape(5, 784) % 256 / 256.0
    monkeypatch.setattr(datasets, "load_dataset", lambda data_config: {"test": (x, None)})
    with pytest.raises(errors.EvalError, match="asks for 6 fashion_mnist test images; it has 5"):
        image_sets.load_reference_split(image_sets.ReferenceSplit("fashion_mnist", "test", 6))
    got = image_sets.load_reference_split(image_sets.ReferenceSplit("fashion_mnist", "test", 0))
    assert got.source == "fashion_mnist test[:5]" and got.images.shape == (5, 28, 28, 1)
    np.testing.assert_array_equal(got.images.reshape(5, 784), np.arange(5 * 784).reshape(5, 784) % 256)


def test_dataset_reference_is_cached_by_protocol(tmp_path, monkeypatch):
    """--reference=test:30: MNIST's first 30 test images (their original bytes), whose features a second
    evaluation reads from the cache instead of computing; another resize is another cache entry."""
    from gan_jax.data import datasets

    real_load, loaded = datasets.load_dataset, []

    def load_once(data_config):  # MNIST read once (seconds), then shared by the evaluations below
        assert data_config.name == "mnist"
        loaded[:] = loaded or [real_load(data_config)]
        return loaded[0]

    monkeypatch.setattr(datasets, "load_dataset", load_once)
    ref = image_sets.load_reference_split(image_sets.ReferenceSplit("mnist", "test", 30))
    np.testing.assert_array_equal(ref.images.reshape(30, 784) / 256.0, loaded[0]["test"][0][:30])
    assert ref.source == "mnist test[:30]" and ref.images.dtype == np.uint8
    a_path = save(tmp_path, "a.npy", uint8_images(11, 20, (28, 28, 1)))
    cache, calls = str(tmp_path / "cache"), []

    def run(spec, **kwargs):
        return evaluation.evaluate_sets_file(
            a_path, spec, make_extractor=extractor(calls, **kwargs), kid_protocol=SMALL_KID, cache_dir=cache
        )[1]

    first = run("test:30")
    assert calls == [20, 30]
    protocol = first["protocol"]
    assert protocol["reference"] == "mnist test[:30]" and protocol["n_reference"] == 30
    assert protocol["reference_cache"].startswith(
        f"written to {cache}/{reference_cache.SUBDIR}/mnist_test_30_"
    )
    second = run("mnist:test:30")
    assert calls == [20, 30, 20]
    assert second["protocol"]["reference_cache"] == protocol["reference_cache"].replace(
        "written to", "read from"
    )
    numbers = lambda report: {k: v for k, v in report.items() if isinstance(v, float)}  # noqa: E731
    assert numbers(second) == numbers(first)
    run("test:30", resize="other")
    assert calls == [20, 30, 20, 20, 30]
    assert len(os.listdir(os.path.join(cache, reference_cache.SUBDIR))) == 2


def test_a_damaged_cache_file_is_recomputed(tmp_path):
    protocol = {"dataset": "mnist", "split": "test", "count": 3, "features": "x"}
    feats = np.arange(6.0).reshape(3, 2)
    path = reference_cache.path(protocol, str(tmp_path))
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as f:
        f.write(b"garbage")
    got, hit = reference_cache.cached_features(protocol, lambda: feats, str(tmp_path))
    assert not hit and np.array_equal(got, feats)
    got, hit = reference_cache.cached_features(protocol, lambda: pytest.fail("recomputed"), str(tmp_path))
    assert hit and np.array_equal(got, feats)


# ------------------------------------------------------------------ the real network, end to end


@pytest.mark.slow  # 73-90 s on the shared 2-core machine (load ~8), most of it the 16 forward passes
def test_real_inception_end_to_end_on_tiny_mnist_sets(tmp_path, monkeypatch):
    """8 MNIST test images (flat rows) against 8 training images ([N, 28, 28, 1]) through the Inception
    network, 2 a batch (the default 50 would pad each set to 50 images; test_inception.py compiles the
    network for 2): the report's numbers are the metrics of the features the network gave, its digest
    that of the shipped weights."""
    inception = pytest.importorskip("gan_jax.metrics.inception")
    from gan_jax.data import inception_weights, mnist

    try:
        inception.load_variables()
    except errors.DataError as e:
        pytest.skip(f"no Inception weights: {e}")
    splits = mnist.load_mnist()
    a = np.rint(splits["test"][0][:8] * 256).astype(np.uint8)
    b = np.rint(splits["train"][0][:8] * 256).astype(np.uint8).reshape(8, 28, 28, 1)
    a_path, b_path = save(tmp_path, "a.npy", a), save(tmp_path, "b.npy", b)
    real_features, seen = inception.inception_features, []

    def spy(images, **kwargs):
        seen.append((np.array(images), real_features(images, **kwargs)))
        return seen[-1][1]

    monkeypatch.setattr(inception, "inception_features", spy)
    kid_protocol = set_metrics.KidProtocol(subsets=10, subset_size=8, seed=2020)
    _, report = evaluation.evaluate_sets_file(
        a_path,
        b_path,
        kid_protocol=kid_protocol,
        make_extractor=lambda: feature_extractors.inception_extractor(batch_size=2),
    )
    p = report["protocol"]
    assert p["features_sha256"] == inception_weights.NPZ_CONTENT_SHA256
    assert p["feature_dim"] == 2048 and p["resize"] == inception.DEFAULT_RESIZE
    assert p["rank_deficient"].startswith("samples 8 rows, reference 8 rows <= 2048 features")
    (images_a, feats_a), (images_b, feats_b) = seen
    np.testing.assert_array_equal(images_a, a.reshape(8, 28, 28, 1) / np.float32(255))
    np.testing.assert_array_equal(images_b, b / np.float32(255))
    assert feats_a.shape == (8, 2048) and np.isfinite(feats_a).all() and feats_a.std() > 0
    want = set_metrics.compare_features(feats_a, feats_b, kid_protocol)
    assert report["inception_fid"] == want["fid"] and report["inception_kid_mean"] == want["kid_mean"]
    assert report["precision"] == want["precision"] and report["coverage"] == want["coverage"]
    assert report["inception_fid"] > 0


def test_a_workdirs_samples_scaled_to_bytes_over_255_against_a_reference(tmp_path):
    """--mode=evaluate --workdir --reference: each replica's fair samples (the eval stream's, as
    --mode=sample draws them), times 256 / 255 and clipped to 1, measured against the reference by the
    same two-set code; a reference that cannot be read is refused before any sample is drawn."""
    from conftest import tiny_config

    from gan_jax.training import train

    workdir = str(tmp_path / "run")
    config = tiny_config(num_steps=2, ckpt_every=2, sample_every=2, log_every=1)
    train.train(config, workdir)
    reference = save(tmp_path, "ref.npy", uint8_images(21, 30, (28, 28, 1)))
    with pytest.raises(errors.EvalError, match="cannot read"):
        evaluation.evaluate_workdir_sets(workdir, str(tmp_path / "absent.npy"), 30)
    assert not os.path.exists(os.path.join(workdir, evaluation.SAMPLES_VS_REFERENCE))
    ((path, report),) = evaluation.evaluate_workdir_sets(
        workdir, reference, 30, make_extractor=extractor(), kid_protocol=SMALL_KID
    )
    assert path == os.path.join(workdir, "samples_vs_reference.eval.json")
    drawn = evaluation.draw_workdir(workdir, evaluation.load_run_config(workdir), 30)[1][0].samples
    scaled = np.load(os.path.join(workdir, evaluation.SAMPLES_VS_REFERENCE))
    np.testing.assert_array_equal(scaled, np.minimum(drawn * np.float32(256 / 255), np.float32(1)))
    ref = uint8_images(21, 30, (28, 28, 1)).astype(np.float64) / 255
    want = set_metrics.compare_features(projection(scaled.reshape(30, 28, 28, 1)), projection(ref), SMALL_KID)
    assert report["inception_fid"] == pytest.approx(want["fid"], rel=1e-6)
    assert report["protocol"]["n_samples"] == 30
