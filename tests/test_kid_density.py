"""KID (gan_jax/metrics/kid.py) and density/coverage (sample_metrics.density_coverage) against their
published formulas written out in float64 numpy loops, a hand-computed case, and the subsets drawn as
torch-fidelity draws them."""

import itertools

import numpy as np
import pytest

from gan_jax.metrics import kid, sample_metrics


def loop_mmd2(x, y):
    m, d = x.shape

    def k(a, b):
        return (np.dot(a, b) / d + 1) ** 3

    pairs = [(i, j) for i, j in itertools.product(range(m), repeat=2) if i != j]
    within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i, j in pairs) / (m * (m - 1))
    return within - 2 * sum(k(a, b) for a in x for b in y) / m**2


def test_polynomial_mmd2_matches_the_formula_and_a_hand_case():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 3)) + 0.5
    np.testing.assert_allclose(kid.polynomial_mmd2(x, y), loop_mmd2(x, y), rtol=1e-12)
    # d = 1, m = 2: within (2 k(1,2) + 2 k(0,1)) / 2 = (54 + 2) / 2; across 2 (1 + 8 + 1 + 27) / 4
    assert kid.polynomial_mmd2(np.array([[1.0], [2.0]]), np.array([[0.0], [1.0]])) == pytest.approx(28 - 18.5)


def test_kid_averages_torch_fidelitys_subsets():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(40, 4)), rng.normal(size=(30, 4)) * 1.3
    draw = np.random.RandomState(7)
    values = []
    for _ in range(5):
        x = a[draw.choice(40, 10, replace=False)]
        y = b[draw.choice(30, 10, replace=False)]
        values.append(loop_mmd2(x, y))
    mean, std = kid.kid(a, b, num_subsets=5, subset_size=10, seed=7)
    np.testing.assert_allclose([mean, std], [np.mean(values), np.std(values)], rtol=1e-10)


def test_kid_of_two_halves_of_one_set_is_near_zero_and_of_shifted_sets_is_not():
    rng = np.random.default_rng(2)
    same = rng.normal(size=(400, 8))
    mean, std = kid.kid(same[:200], same[200:], num_subsets=20, subset_size=100, seed=0)
    assert abs(mean) < 3 * std / np.sqrt(20) + 1e-3
    shifted, _ = kid.kid(same[:200], same[200:] + 1.0, num_subsets=20, subset_size=100, seed=0)
    assert shifted > 10 * abs(mean) and shifted > 0.1


def test_kid_refuses_sets_smaller_than_a_subset():
    with pytest.raises(ValueError, match="subsets of 50 rows"):
        kid.kid(np.zeros((40, 3)), np.zeros((60, 3)), subset_size=50)


def loop_density_coverage(real, fake, k):
    dist = lambda a, b: np.sqrt(np.sum((a - b) ** 2))  # noqa: E731
    radii = [sorted(dist(r, s) for s in real)[k] for r in real]  # [0] is the point itself
    held = sum(dist(f, r) < radius for f in fake for r, radius in zip(real, radii, strict=True))
    covered = sum(min(dist(r, f) for f in fake) < radius for r, radius in zip(real, radii, strict=True))
    return held / (k * len(fake)), covered / len(real)


@pytest.mark.parametrize("k", [1, 5])
def test_density_and_coverage_match_the_formulas(k):
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(60, 4)), rng.normal(size=(45, 4)) * 0.8 + 0.3
    got = sample_metrics.density_coverage(real, fake, k, batch_size=16)
    np.testing.assert_allclose(got, loop_density_coverage(real, fake, k), rtol=1e-6)
    far = sample_metrics.density_coverage(real, fake + 100.0, k)
    assert far == (0.0, 0.0)
