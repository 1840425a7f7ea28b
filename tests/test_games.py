import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import games

REAL = np.array([0.0, 2.0, -1.5], np.float32)
FAKE = np.array([-1.0, 3.0, 0.5], np.float32)


def softplus(v):
    return math.log1p(math.exp(v))


def test_d_loss_matches_hand_computed_value():
    expected = np.mean([softplus(-r) for r in REAL]) + np.mean([softplus(f) for f in FAKE])
    got = games.minimax_d_loss(real_logits=jnp.asarray(REAL), fake_logits=jnp.asarray(FAKE))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


def test_d_loss_is_negated_eq1_value():
    """-V(D, G) = -(E log D(x) + E log(1 - D(G(z)))) with D = sigmoid(logit)."""
    sig = lambda v: 1.0 / (1.0 + np.exp(-v.astype(np.float64)))  # noqa: E731
    value = np.mean(np.log(sig(REAL))) + np.mean(np.log(1.0 - sig(FAKE)))
    got = games.minimax_d_loss(real_logits=jnp.asarray(REAL), fake_logits=jnp.asarray(FAKE))
    np.testing.assert_allclose(got, -value, rtol=1e-6)


def test_g_losses_match_hand_computed_values():
    mm = games.minimax_g_loss(fake_logits=jnp.asarray(FAKE))
    ns = games.nonsaturating_g_loss(fake_logits=jnp.asarray(FAKE))
    np.testing.assert_allclose(mm, -np.mean([softplus(f) for f in FAKE]), rtol=1e-6)
    np.testing.assert_allclose(ns, np.mean([softplus(-f) for f in FAKE]), rtol=1e-6)
    # log(1 - D) and -log D at D = 1/2 are both log 2 in magnitude.
    assert games.minimax_g_loss(fake_logits=jnp.zeros(4)) == pytest.approx(-math.log(2), rel=1e-6)
    assert games.nonsaturating_g_loss(fake_logits=jnp.zeros(4)) == pytest.approx(math.log(2), rel=1e-6)


@pytest.mark.parametrize("logit", [-8.0, -1.0, 0.0, 2.5])
def test_g_loss_gradients_wrt_logit(logit):
    """minimax: d/dl = -sigmoid(l) (vanishes as D rejects); non-saturating: sigmoid(l) - 1."""
    l = jnp.array([logit])
    mm = jax.grad(lambda v: games.minimax_g_loss(fake_logits=v))(l)[0]
    ns = jax.grad(lambda v: games.nonsaturating_g_loss(fake_logits=v))(l)[0]
    s = 1.0 / (1.0 + math.exp(-logit))
    assert mm == pytest.approx(-s, rel=1e-5, abs=1e-7)
    assert ns == pytest.approx(s - 1.0, rel=1e-5, abs=1e-7)


def test_saturation_early_in_training():
    """Sec. 3: when D confidently rejects samples, the minimax gradient is ~0, the NS one ~-1."""
    l = jnp.full((8,), -10.0)
    mm = jax.grad(lambda v: games.minimax_g_loss(fake_logits=v))(l)
    ns = jax.grad(lambda v: games.nonsaturating_g_loss(fake_logits=v))(l)
    assert float(jnp.abs(mm).sum()) < 1e-3
    assert float(jnp.abs(ns).sum()) > 0.99


@pytest.mark.parametrize("name", sorted(games.GAMES))
@pytest.mark.parametrize("big", [1e4, -1e4])
def test_losses_and_gradients_finite_for_huge_logits(name, big):
    game = games.GAMES[name]
    l = jnp.array([big, -big, 0.0])

    def total(r, f):
        return game.d_loss(real_logits=r, fake_logits=f) + game.g_loss(fake_logits=f)

    value, grads = jax.value_and_grad(total, argnums=(0, 1))(l, l)
    assert np.isfinite(float(value))
    assert all(np.isfinite(np.asarray(g)).all() for g in grads)


def test_registry_lists_choices_and_rejects_unknown():
    assert set(games.GAMES) >= {"minimax", "nonsaturating"}
    with pytest.raises(ValueError, match="minimax, nonsaturating"):
        games.get_game("bogus")
