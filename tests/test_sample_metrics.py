"""Sample metrics against independent float64 numpy/scipy references and planted cases."""

import math

import chex
import numpy as np
import pytest
import scipy.linalg
import scipy.stats

from gan_jax.metrics import sample_metrics as sm


def parzen_reference(x, mu, sigma):
    """Direct [N, M, d] broadcasting in float64 with a max-subtracted log-mean-exp (the 2014 code)."""
    x, mu = np.asarray(x, np.float64), np.asarray(mu, np.float64)
    a = (x[:, None, :] - mu[None, :, :]) / sigma
    e = -0.5 * np.sum(a * a, axis=2)
    top = e.max(axis=1, keepdims=True)
    lme = top[:, 0] + np.log(np.mean(np.exp(e - top), axis=1))
    return lme - x.shape[1] * np.log(sigma * np.sqrt(2 * np.pi))


def whitened(rng, n, d):
    """n standard-normal points whose sample mean is exactly 0 and sample covariance exactly I."""
    z = rng.standard_normal((n, d))
    z -= z.mean(axis=0)
    chol = np.linalg.cholesky(np.cov(z, rowvar=False))
    return np.linalg.solve(chol, z.T).T


# ------------------------------------------------------------------------------------------ Parzen


@pytest.mark.parametrize("d", [1, 5, 784])
@pytest.mark.parametrize("sigma", [0.05, 0.2, 1.0])
def test_parzen_matches_float64_reference(d, sigma):
    rng = np.random.default_rng(d)
    x = rng.uniform(size=(37, d)).astype(np.float32)
    mu = rng.uniform(size=(53, d)).astype(np.float32)
    got = sm.parzen_log_likelihood(x, mu, sigma, batch_size=8)  # 5 chunks, the last one padded
    chex.assert_shape(got, (37,))
    np.testing.assert_allclose(np.asarray(got), parzen_reference(x, mu, sigma), rtol=0, atol=0.01)


def test_parzen_is_independent_of_batch_size_and_order():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(23, 10)).astype(np.float32)
    mu = rng.uniform(size=(31, 10)).astype(np.float32)
    full = np.asarray(sm.parzen_log_likelihood(x, mu, 0.3, batch_size=100))
    np.testing.assert_allclose(
        np.asarray(sm.parzen_log_likelihood(x, mu, 0.3, batch_size=4)), full, atol=1e-4
    )
    perm = rng.permutation(31)
    np.testing.assert_allclose(np.asarray(sm.parzen_log_likelihood(x, mu[perm], 0.3)), full, atol=1e-4)


def test_parzen_single_sample_is_a_gaussian_density():
    x = np.array([[0.0, 0.0], [3.0, 4.0]], np.float32)
    mu = np.array([[0.0, 0.0]], np.float32)
    expected = scipy.stats.multivariate_normal(mean=[0, 0], cov=4.0).logpdf(x)
    np.testing.assert_allclose(np.asarray(sm.parzen_log_likelihood(x, mu, 2.0)), expected, atol=1e-5)


def test_select_sigma_finds_the_planted_bandwidth():
    """Each validation point has its own sample at Gaussian noise of scale s, all others far away; the
    mean validation LL then peaks near sigma = s, and the chosen grid point is the float64 argmax."""
    rng = np.random.default_rng(2)
    grid = np.logspace(-2, 0.5, 15)
    s = grid[6]
    valid = rng.uniform(0.0, 10.0, size=(40, 8)).astype(np.float32)
    samples = (valid + s * rng.standard_normal(valid.shape)).astype(np.float32)
    best, mean_ll = sm.select_sigma(valid, samples, grid, batch_size=16)
    ref = np.array([parzen_reference(valid, samples, g).mean() for g in grid])
    np.testing.assert_allclose(mean_ll, ref, atol=0.01)
    assert best == grid[np.argmax(ref)]
    optimum = math.sqrt(np.mean(np.sum((valid - samples).astype(np.float64) ** 2, axis=1)) / 8)
    assert best == grid[np.argmin(np.abs(np.log(grid) - math.log(optimum)))]
    assert best == s


def test_parzen_evaluate_uses_the_validation_sigma_on_the_test_set():
    rng = np.random.default_rng(3)
    samples = rng.uniform(size=(60, 6)).astype(np.float32)
    valid = rng.uniform(size=(30, 6)).astype(np.float32)
    test = rng.uniform(size=(25, 6)).astype(np.float32)
    out = sm.parzen_evaluate(test, valid, samples, batch_size=7)
    assert set(out) == {"parzen_ll", "parzen_se", "parzen_sigma"}
    ref_valid = [parzen_reference(valid, samples, g).mean() for g in sm.PAPER_SIGMAS]
    sigma = sm.PAPER_SIGMAS[np.argmax(ref_valid)]
    assert out["parzen_sigma"] == pytest.approx(sigma)
    ref = parzen_reference(test, samples, sigma)
    assert out["parzen_ll"] == pytest.approx(ref.mean(), abs=0.01)
    assert out["parzen_se"] == pytest.approx(ref.std() / math.sqrt(len(test)), rel=1e-3)


def test_parzen_refuses_empty_grid_bad_sigma_and_too_few_samples():
    x = np.zeros((4, 3), np.float32)
    samples = np.ones((5, 3), np.float32)
    with pytest.raises(ValueError, match="empty") as err:
        sm.select_sigma(x, samples, [])
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="> 0"):
        sm.parzen_log_likelihood(x, samples, 0.0)
    with pytest.raises(ValueError, match="at least 10 samples, got 5") as err:
        sm.parzen_evaluate(x, x, samples, min_samples=10)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="at least 6"):
        sm.parzen_log_likelihood(x, samples, 0.5, min_samples=6)
    with pytest.raises(ValueError, match="feature sizes"):
        sm.parzen_log_likelihood(x, np.ones((5, 4), np.float32), 0.5)
    assert np.isfinite(np.asarray(sm.parzen_log_likelihood(x, samples, 0.5, min_samples=5))).all()


# ------------------------------------------------------------------------------- Fréchet distance


def test_frechet_distance_of_a_set_with_itself_is_zero():
    feats = np.random.default_rng(4).standard_normal((200, 16))
    assert sm.frechet_distance(feats, feats) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_grows_with_a_planted_mean_shift():
    """A shift t*v leaves the covariance alone, so FD = t^2 ||v||^2 exactly."""
    rng = np.random.default_rng(5)
    feats = rng.standard_normal((300, 12))
    v = rng.standard_normal(12)
    shifts = [0.0, 0.1, 0.5, 1.0, 3.0]
    fds = [sm.frechet_distance(feats, feats + t * v) for t in shifts]
    assert all(a < b for a, b in zip(fds, fds[1:], strict=False))
    np.testing.assert_allclose(fds, [t * t * (v @ v) for t in shifts], rtol=1e-6, atol=1e-8)


def test_frechet_distance_closed_form_for_diagonal_gaussians():
    """Sample moments made exact: FD = ||mu_a - mu_b||^2 + sum_i (s_a,i - s_b,i)^2 for diagonal covs."""
    rng = np.random.default_rng(6)
    mu_a, mu_b = np.array([0.0, 0.0, 0.0]), np.array([1.0, 2.0, 0.0])
    std_a, std_b = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 1.0])
    a = mu_a + whitened(rng, 500, 3) * std_a
    b = mu_b + whitened(rng, 400, 3) * std_b
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((std_a - std_b) ** 2)  # 5 + 5
    assert sm.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_matches_scipy_sqrtm_for_non_commuting_covariances():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((400, 6)) @ rng.standard_normal((6, 6)) + 1.0
    b = rng.standard_normal((300, 6)) @ rng.standard_normal((6, 6))
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    diff = a.mean(0) - b.mean(0)
    ref = diff @ diff + np.trace(ca + cb - 2 * np.real(scipy.linalg.sqrtm(ca @ cb)))
    assert sm.frechet_distance(a, b) == pytest.approx(ref, rel=1e-8)
    assert sm.frechet_distance(b, a) == pytest.approx(ref, rel=1e-8)


def test_frechet_distance_rejects_bad_shapes():
    with pytest.raises(ValueError, match="feature sizes"):
        sm.frechet_distance(np.ones((5, 3)), np.ones((5, 4)))
    with pytest.raises(ValueError, match=">= 2"):
        sm.frechet_distance(np.ones((1, 3)), np.ones((5, 3)))


# ------------------------------------------------------------------------------ classifier scores


def test_classifier_score_extremes():
    labels = np.arange(200) % 10
    confident = np.asarray(np.exp(30.0 * np.eye(10)[labels]), np.float32)
    confident /= confident.sum(axis=1, keepdims=True)
    assert sm.classifier_score(confident) == pytest.approx(10.0, rel=1e-4)
    same = np.tile(np.random.default_rng(8).dirichlet(np.ones(10)), (50, 1)).astype(np.float32)
    assert sm.classifier_score(same) == pytest.approx(1.0, abs=1e-5)
    one_class = np.eye(10, dtype=np.float32)[np.zeros(50, int)]
    assert sm.classifier_score(one_class) == pytest.approx(1.0, abs=1e-6)


def test_classifier_score_matches_numpy_reference():
    probs = np.random.default_rng(9).dirichlet(0.3 * np.ones(10), size=300)
    marginal = probs.mean(axis=0)
    ref = math.exp(np.mean(scipy.stats.entropy(probs.T, marginal[:, None])))
    score = sm.classifier_score(probs.astype(np.float32))
    assert score == pytest.approx(ref, rel=1e-4)
    assert 1.0 < score < 10.0


def test_class_kl_to_uniform():
    hist, kl = sm.class_kl_to_uniform(np.repeat(np.arange(10), 7))
    np.testing.assert_array_equal(hist, np.full(10, 7))
    assert kl == pytest.approx(0.0, abs=1e-6)
    hist, kl = sm.class_kl_to_uniform(np.full(33, 4))
    np.testing.assert_array_equal(hist, np.eye(10, dtype=int)[4] * 33)
    assert kl == pytest.approx(math.log(10), rel=1e-6)
    labels = np.random.default_rng(10).integers(0, 5, size=123)
    hist, kl = sm.class_kl_to_uniform(labels, num_classes=5)
    np.testing.assert_array_equal(hist, np.bincount(labels, minlength=5))
    assert kl == pytest.approx(scipy.stats.entropy(hist, np.ones(5)), rel=1e-9)
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        sm.class_kl_to_uniform(np.array([0, 10]))


# --------------------------------------------------------------------------- precision and recall


def precision_recall_reference(real, fake, k):
    """Brute force in float64: radii from the (k+1)-th smallest distance, which counts the point itself."""

    def dists(a, b):
        return np.sqrt(np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=2))

    r_real = np.sort(dists(real, real), axis=1)[:, k]
    r_fake = np.sort(dists(fake, fake), axis=1)[:, k]
    precision = np.mean(np.any(dists(fake, real) <= r_real[None, :], axis=1))
    recall = np.mean(np.any(dists(real, fake) <= r_fake[None, :], axis=1))
    return precision, recall


def test_precision_recall_of_a_set_with_itself_is_one():
    feats = np.random.default_rng(11).standard_normal((150, 16)).astype(np.float32)
    assert sm.precision_recall(feats, feats, batch_size=40) == (1.0, 1.0)


def test_precision_recall_of_far_away_fakes_is_zero():
    rng = np.random.default_rng(12)
    real = rng.standard_normal((100, 8)).astype(np.float32)
    fake = rng.standard_normal((120, 8)).astype(np.float32) + 50.0
    assert sm.precision_recall(real, fake, batch_size=32) == (0.0, 0.0)


def test_precision_recall_matches_brute_force_and_detects_mode_dropping():
    """Reals in two separated clusters, fakes only in the first: precision stays high, recall halves."""
    rng = np.random.default_rng(13)
    centres = np.array([[0.0] * 8, [20.0] * 8])
    real = (centres[np.arange(160) % 2] + rng.standard_normal((160, 8))).astype(np.float32)
    fake = (centres[0] + rng.standard_normal((140, 8))).astype(np.float32)
    precision, recall = sm.precision_recall(real, fake, k=3, batch_size=50)
    ref_p, ref_r = precision_recall_reference(real, fake, 3)
    assert precision == pytest.approx(ref_p, abs=1.5 / 140)
    assert recall == pytest.approx(ref_r, abs=1.5 / 160)
    assert precision > 0.8
    assert 0.3 < recall <= 0.5


def test_precision_recall_rejects_bad_k():
    feats = np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match="k=4"):
        sm.precision_recall(feats, feats, k=4)
    with pytest.raises(ValueError, match="k=0"):
        sm.precision_recall(feats, feats, k=0)
