"""Canaries for a miscompiling jax pin: large jitted reductions against float64 numpy.

jax/jaxlib 0.10.2 return wrong values on CPU for a vmapped matrix-vector product followed by a sum
past 16,385 float64 / 32,769 float32 rows (jax-ml/jax#39103); 0.10.1 is correct. The first test is
that issue's reproducer; the others run the project's own reductions over 40,000 rows, so a future
pin that miscompiles them fails here rather than skewing a published number.
"""

import collections

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import logsumexp

from gan_jax.data import stacked_mnist
from gan_jax.metrics import sample_metrics, stacked_modes

ROWS = 40_000


@pytest.mark.parametrize("dtype, n", [("float64", 16_385), ("float32", 32_769)])
def test_vmapped_matvec_sum_matches_its_closed_form(dtype, n):
    with jax.enable_x64(dtype == "float64"):
        i = jnp.arange(n, dtype=dtype)
        x = jnp.stack((i, jnp.zeros_like(i), jnp.zeros_like(i)), axis=1)
        matrix = jnp.eye(3, dtype=dtype)

        def f(x):
            return jax.vmap(lambda row: jnp.sum((matrix @ row) ** 2))(x)

        got = np.asarray(jax.jit(f)(x))
    # Row k is (k, 0, 0): its squared norm is k^2, rounded once to the dtype.
    np.testing.assert_array_equal(got, np.arange(n, dtype=dtype) ** 2)


def test_parzen_over_many_rows_matches_float64_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, 3))
    samples = rng.normal(size=(64, 3))
    sigma = 0.7
    got = sample_metrics.parzen_log_likelihood(x, samples, sigma, batch_size=ROWS)
    sq = ((x[:, None, :] - samples[None, :, :]) ** 2).sum(-1)
    want = logsumexp(-sq / (2 * sigma**2), axis=1) - np.log(64) - 3 * np.log(sigma * np.sqrt(2 * np.pi))
    assert got.shape == (ROWS,)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_classifier_score_over_many_rows_matches_float64_numpy():
    logits = np.random.default_rng(1).normal(size=(ROWS, 10)) * 3
    probs = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    marginal = probs.mean(axis=0)
    want = np.exp(np.mean(np.sum(probs * (np.log(probs) - np.log(marginal)), axis=1)))
    np.testing.assert_allclose(sample_metrics.classifier_score(probs.astype(np.float32)), want, rtol=1e-4)


def test_stacked_mnist_mode_metrics_over_many_rows_match_a_count():
    digits = np.zeros((100, stacked_mnist.DIGIT_DIM), np.float32)
    labels = np.arange(100) % 10
    _, modes = stacked_mnist.build(digits, labels, ROWS, seed=3)
    counts = collections.Counter(modes.tolist())
    q = np.array(list(counts.values()), np.float64) / ROWS
    got = stacked_modes.mode_metrics(modes)
    assert got["modes_covered"] == len(counts)
    assert sum(got["mode_histogram"]) == ROWS
    assert all(got["mode_histogram"][m] == c for m, c in counts.items())
    np.testing.assert_allclose(got["reverse_kl"], np.sum(q * np.log(q * 1000)), rtol=1e-12)
