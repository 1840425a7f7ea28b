"""The MMD estimators (gan_jax/game/mmd.py) against a float64 numpy computation of their formulas, their
gradients against central finite differences, and GMMN's square-root gradient against its closed form."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax.game import mmd

SIGMAS = (0.5, 2.0, 8.0)


def numpy_mmd2(x, y, sigmas, unbiased):
    """Every pair written out in float64 loops: the V- or U-statistic of the mixture kernel."""

    def k(a, b):
        return sum(np.exp(-np.sum((a - b) ** 2) / (2 * s)) for s in sigmas)

    def within(z):
        pairs = [(i, j) for i, j in itertools.product(range(len(z)), repeat=2) if not unbiased or i != j]
        return sum(k(z[i], z[j]) for i, j in pairs) / len(pairs)

    cross = np.mean([k(a, b) for a in x for b in y])
    return within(x) + within(y) - 2 * cross


def samples(n=7, m=5, d=3, shift=0.7):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, d)), rng.normal(size=(m, d)) + shift


@pytest.mark.parametrize("unbiased", [False, True])
def test_mmd2_matches_the_formula_in_float64(unbiased):
    x, y = samples()
    with jax.enable_x64():
        got = float(mmd.mmd2(jnp.asarray(x), jnp.asarray(y), SIGMAS, unbiased=unbiased))
    np.testing.assert_allclose(got, numpy_mmd2(x, y, SIGMAS, unbiased), rtol=1e-12)


def test_a_sample_against_itself_biased_zero_unbiased_below_zero():
    """MMD^2_b(x, x) = 0; MMD^2_u(x, x) = 2 (off-diagonal mean - whole mean) of K, negative: the
    diagonal holds the kernel's maximum, len(SIGMAS)."""
    x, _ = samples()
    k = np.array([[sum(np.exp(-np.sum((a - b) ** 2) / (2 * s)) for s in SIGMAS) for b in x] for a in x])
    n = len(x)
    want = 2 * ((k.sum() - np.trace(k)) / (n * (n - 1)) - k.mean())
    with jax.enable_x64():
        assert abs(float(mmd.mmd2(jnp.asarray(x), jnp.asarray(x), SIGMAS))) < 1e-12
        got = float(mmd.mmd2(jnp.asarray(x), jnp.asarray(x), SIGMAS, unbiased=True))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got < 0


@pytest.mark.parametrize("unbiased", [False, True])
def test_mmd2_gradient_matches_finite_differences(unbiased):
    x, y = samples()
    with jax.enable_x64():
        grad = np.asarray(jax.grad(lambda a: mmd.mmd2(a, jnp.asarray(y), SIGMAS, unbiased=unbiased))(x))
        h, numeric = 1e-6, np.zeros_like(x)
        for idx in np.ndindex(*x.shape):
            step = np.zeros_like(x)
            step[idx] = h
            plus, minus = (
                float(mmd.mmd2(jnp.asarray(x + s), jnp.asarray(y), SIGMAS, unbiased=unbiased))
                for s in (step, -step)
            )
            numeric[idx] = (plus - minus) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_sqrt_mmd_is_the_root_with_gmmns_gradient():
    x, y = samples()
    with jax.enable_x64():
        x, y = jnp.asarray(x), jnp.asarray(y)
        m2 = float(mmd.mmd2(x, y, SIGMAS))
        np.testing.assert_allclose(float(mmd.sqrt_mmd(x, y, SIGMAS)), np.sqrt(m2), rtol=1e-12)
        want = np.asarray(jax.grad(lambda a: mmd.mmd2(a, y, SIGMAS))(x)) / (2 * np.sqrt(m2) + 1e-10)
        np.testing.assert_allclose(
            np.asarray(jax.grad(lambda a: mmd.sqrt_mmd(a, y, SIGMAS))(x)), want, rtol=1e-10
        )
        # at MMD = 0 the plain sqrt's gradient is infinite; GMMN's is finite (here exactly 0)
        assert np.all(np.isfinite(np.asarray(jax.grad(lambda a: mmd.sqrt_mmd(a, x, SIGMAS))(x))))


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match=r"\[n, d\] and \[m, d\]"):
        mmd.mmd2(jnp.ones((3, 2)), jnp.ones((3, 4)))
    with pytest.raises(ValueError, match="at least two rows"):
        mmd.mmd2(jnp.ones((1, 2)), jnp.ones((3, 2)), unbiased=True)
