"""The 2-D ring / grid mixtures, the 1-D densities, and the mode metrics on planted sample sets."""

import math

import chex
import numpy as np
import pytest

from gan_jax.data import toys
from gan_jax.metrics.mode_metrics import mode_metrics, nearest_modes


def per_mode_stats(samples, centres):
    """Nearest-centre assignment (exact here: modes are ≥ 70 std apart), then counts, means, stds."""
    index = np.argmin(((samples[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    counts = np.bincount(index, minlength=len(centres))
    means = np.stack([samples[index == k].mean(0) for k in range(len(centres))])
    stds = np.stack([samples[index == k].std(0) for k in range(len(centres))])
    return counts, means, stds


def test_ring_centres_are_distinct_and_on_the_circle():
    for k, r in ((8, 1.0), (5, 2.0), (3, 0.5)):
        c = toys.ring_centres(k, r)
        chex.assert_shape(c, (k, 2))
        np.testing.assert_allclose(np.linalg.norm(c, axis=1), r, rtol=1e-12)
        angles = np.mod(np.arctan2(c[:, 1], c[:, 0]), 2 * np.pi)
        np.testing.assert_allclose(np.sort(angles), 2 * np.pi * np.arange(k) / k, atol=1e-12)
        gaps = np.linalg.norm(c[:, None] - c[None], axis=-1) + np.eye(k) * 99
        assert gaps.min() == pytest.approx(2 * r * math.sin(math.pi / k), rel=1e-12)  # none repeated
    np.testing.assert_allclose(toys.mode_centres("ring"), toys.ring_centres(8, 1.0))


def test_grid_centres_are_the_25_lattice_points():
    c = toys.mode_centres("grid")
    chex.assert_shape(c, (25, 2))
    expected = {(-4.0 + 2 * i, -4.0 + 2 * j) for i in range(5) for j in range(5)}
    assert {tuple(map(float, p)) for p in c} == expected
    gaps = np.linalg.norm(c[:, None] - c[None], axis=-1) + np.eye(25) * 99
    assert gaps.min() == pytest.approx(2.0)
    np.testing.assert_allclose(toys.mode_centres("grid", side=3, spacing=1.0, std=0.1).min(0), [-1, -1])


def test_mode_centres_rejects_unknown_names_and_keywords():
    with pytest.raises(ValueError, match="unknown toy"):
        toys.mode_centres("spiral")
    with pytest.raises(TypeError):
        toys.mode_centres("ring", side=5)


@pytest.mark.parametrize(
    "name,kw",
    [("ring", dict(num_modes=8, radius=1.0, std=0.01)), ("grid", dict(side=5, spacing=2.0, std=0.05))],
)
def test_samplers_have_the_right_modes_and_spread(name, kw):
    n = 50_000
    x = getattr(toys, name)(n, 0, **kw)
    centres = toys.mode_centres(name, **kw)
    chex.assert_shape(x, (n, 2))
    assert x.dtype == np.float64
    counts, means, stds = per_mode_stats(x, centres)
    k = len(centres)
    expected = n / k  # equal weights: multinomial counts, 5 binomial standard deviations of slack
    assert np.all(np.abs(counts - expected) < 5 * math.sqrt(expected * (1 - 1 / k)))
    np.testing.assert_allclose(means, centres, atol=5 * kw["std"] / math.sqrt(expected / 2))
    np.testing.assert_allclose(stds, kw["std"], rtol=0.05)  # ≥ 2,000 samples a mode: ~1.6% std error


def test_samplers_are_deterministic_by_seed():
    for sample in (
        lambda s: toys.ring(100, s),
        lambda s: toys.grid(100, s),
        lambda s: toys.gaussian_1d(100, s, 1.0, 2.0),
        lambda s: toys.mixture_1d(100, s, [-1.0, 2.0], [0.3, 0.5], [0.2, 0.8]),
    ):
        np.testing.assert_array_equal(sample(3), sample(3))
        assert not np.array_equal(sample(3), sample(4))


def test_1d_samplers_match_their_densities():
    x = np.linspace(-12.0, 12.0, 48_001)
    means, stds, weights = [-2.0, 0.5, 3.0], [0.5, 1.0, 0.25], [1.0, 2.0, 1.0]
    pdf = toys.mixture_1d_pdf(x, means, stds, weights)
    g = toys.gaussian_1d_pdf(x, 1.0, 2.0)
    assert np.trapezoid(pdf, x) == pytest.approx(1.0, abs=1e-9)
    assert np.trapezoid(g, x) == pytest.approx(1.0, abs=1e-6)  # 6.5 std either side
    assert toys.gaussian_1d_pdf(1.0, 1.0, 2.0) == pytest.approx(1 / (2 * math.sqrt(2 * math.pi)))
    w = np.array(weights) / 4.0
    mix_mean = float(w @ means)
    mix_var = float(w @ (np.square(stds) + np.square(means))) - mix_mean**2
    s = toys.mixture_1d(200_000, 0, means, stds, weights)
    assert s.mean() == pytest.approx(mix_mean, abs=5 * math.sqrt(mix_var / len(s)))
    assert s.var() == pytest.approx(mix_var, rel=0.02)
    hist, edges = np.histogram(s, bins=60, range=(-4.0, 5.0), density=True)
    density_at_centres = toys.mixture_1d_pdf(0.5 * (edges[1:] + edges[:-1]), means, stds, weights)
    in_range = np.mean((s >= -4.0) & (s <= 5.0))  # density=True normalises over the in-range samples
    assert np.abs(hist * in_range - density_at_centres).max() < 0.02  # bin noise + curvature ≈ 0.01
    gs = toys.gaussian_1d(200_000, 1, 1.0, 2.0)
    assert gs.mean() == pytest.approx(1.0, abs=0.02) and gs.std() == pytest.approx(2.0, rel=0.01)
    with pytest.raises(ValueError):
        toys.mixture_1d_pdf(x, [0.0], [-1.0])


RING = toys.mode_centres("ring")  # 8 modes, radius 1; std 0.01
STD = 0.01


def test_metrics_all_modes_exact():
    samples = np.repeat(RING, 7, axis=0)
    m = mode_metrics(samples, RING, STD)
    assert m == dict(
        modes_covered=8, num_modes=8, high_quality=100.0, reverse_kl=pytest.approx(0.0, abs=1e-12)
    )


def test_metrics_two_modes():
    samples = np.concatenate([np.repeat(RING[[1]], 10, 0), np.repeat(RING[[5]], 10, 0)])
    m = mode_metrics(samples, RING, STD)
    assert m["modes_covered"] == 2 and m["high_quality"] == 100.0
    assert m["reverse_kl"] == pytest.approx(math.log(8 / 2), rel=1e-12)


def test_metrics_far_from_every_mode():
    samples = np.array([[0.0, 0.0], [5.0, 5.0], [0.5, 0.5], [1.2, 0.0]])  # ≥ 20 std from any mode
    m = mode_metrics(samples, RING, STD)
    assert m["modes_covered"] == 0 and m["high_quality"] == 0.0 and m["num_modes"] == 8
    assert math.isnan(m["reverse_kl"])


def test_metrics_mixed_set_by_hand():
    """10 at mode 0 offset 2 std (good), 5 at mode 3 offset 3.1 std (bad), 6 at mode 6 offset 2.9 std
    along a diagonal (good), 3 at the origin (bad): 16 of 24 good, modes {0, 6} covered, q = (10, 6)/16.
    """
    diag = np.array([1.0, 1.0]) / math.sqrt(2.0)
    samples = np.concatenate(
        [
            np.repeat(RING[[0]] + [0.0, 2 * STD], 10, 0),
            np.repeat(RING[[3]] + [3.1 * STD, 0.0], 5, 0),
            np.repeat(RING[[6]] + 2.9 * STD * diag, 6, 0),
            np.zeros((3, 2)),
        ]
    )
    m = mode_metrics(samples, RING, STD)
    assert m["modes_covered"] == 2
    assert m["high_quality"] == pytest.approx(100 * 16 / 24)
    q = np.array([10, 6]) / 16
    assert m["reverse_kl"] == pytest.approx(float(np.sum(q * np.log(q * 8))), rel=1e-12)
    index, r = nearest_modes(samples, RING, STD)
    np.testing.assert_array_equal(index[:21], [0] * 10 + [3] * 5 + [6] * 6)
    np.testing.assert_allclose(r[:21], [2.0] * 10 + [3.1] * 5 + [2.9] * 6, rtol=1e-6)


def test_metrics_per_dimension_std():
    """sqrt(Σ d²/σ²) with σ = (0.01, 0.1): 0.2 along y is 2σ (good), along x it is 20σ (bad)."""
    samples = np.stack([RING[2] + [0.0, 0.2], RING[2] + [0.2, 0.0]])  # RING[2] = (0, 1)
    m = mode_metrics(samples, RING[[2]], np.array([0.01, 0.1]))
    assert m["high_quality"] == 50.0 and m["modes_covered"] == 1
    assert mode_metrics(samples, RING[[2]], 0.01)["high_quality"] == 0.0


@pytest.mark.parametrize("name,std", [("ring", 0.01), ("grid", 0.05)])
def test_metrics_on_true_samples(name, std):
    """Real data: all modes, KL ≈ 0, and P(r < 3) = 1 − e^{−9/2} ≈ 98.89% for a 2-D Gaussian (the
    radius is chi-distributed with 2 dof; a per-axis 3-std box would give 99.46%)."""
    n = 20_000
    m = mode_metrics(getattr(toys, name)(n, 7, std=std), toys.mode_centres(name), std)
    p = 1 - math.exp(-4.5)
    assert m["modes_covered"] == m["num_modes"] == (8 if name == "ring" else 25)
    assert m["high_quality"] == pytest.approx(100 * p, abs=100 * 4 * math.sqrt(p * (1 - p) / n))
    assert 0.0 <= m["reverse_kl"] < 0.01  # sampling noise alone: ≈ (K − 1) / 2n ≤ 6e-4
