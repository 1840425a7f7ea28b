import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gan_jax.game import games

# the games of D's logits (the moment-matching games and GMMN+AE's autoencoder: tests/test_moment_matching.py)
LOGIT_GAMES = {n: g for n, g in games.GAMES.items() if n not in ("gmmn", "mmd_gan", "autoencoder")}

REAL = np.array([0.0, 2.0, -1.5], np.float32)
FAKE = np.array([-1.0, 3.0, 0.5], np.float32)

# A second, smaller fixture for the new games: every number below is worked out by hand.
R2 = jnp.array([0.5, -1.0])  # mean -0.25
F2 = jnp.array([2.0, 0.0])  # mean 1.0


def softplus(v):
    return math.log1p(math.exp(v))


def sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


def close(got, expected):
    np.testing.assert_allclose(np.asarray(got, np.float64), expected, rtol=1e-6, atol=1e-7)


def d_grads(game, r, f):
    return jax.grad(lambda a, b: game.d_loss(real_logits=a, fake_logits=b), argnums=(0, 1))(r, f)


def g_grads(game, r, f):
    return jax.grad(lambda a, b: game.g_loss(real_logits=a, fake_logits=b), argnums=(0, 1))(r, f)


# --- minimax / non-saturating (unchanged behaviour) --------------------------------------------


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


def test_minimax_and_nonsaturating_on_small_fixture():
    # D: mean(softplus(-0.5), softplus(1)) + mean(softplus(2), softplus(0))
    close(
        games.minimax_d_loss(real_logits=R2, fake_logits=F2),
        (softplus(-0.5) + softplus(1.0)) / 2 + (softplus(2.0) + softplus(0.0)) / 2,
    )
    close(games.minimax_g_loss(real_logits=R2, fake_logits=F2), -(softplus(2.0) + softplus(0.0)) / 2)
    close(games.nonsaturating_g_loss(real_logits=R2, fake_logits=F2), (softplus(-2.0) + softplus(0.0)) / 2)


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


# --- least squares ----------------------------------------------------------------------------


def test_least_squares_by_hand():
    game = games.GAMES["least_squares"]
    # D: 1/2 mean((0.5-1)^2, (-1-1)^2) + 1/2 mean(2^2, 0^2) = 1/2 * 4.25/2 + 1/2 * 2 = 1.0625 + 1 = 2.0625
    close(game.d_loss(real_logits=R2, fake_logits=F2), 2.0625)
    # G: 1/2 mean((2-1)^2, (0-1)^2) = 0.5
    close(game.g_loss(real_logits=R2, fake_logits=F2), 0.5)
    # dD/dl_real = (l - 1)/n = [-0.25, -1]; dD/dl_fake = l/n = [1, 0]; dG/dl_fake = (l - 1)/n = [0.5, -0.5]
    gr, gf = d_grads(game, R2, F2)
    close(gr, [-0.25, -1.0])
    close(gf, [1.0, 0.0])
    close(g_grads(game, R2, F2)[1], [0.5, -0.5])


# --- Wasserstein ------------------------------------------------------------------------------


def test_wasserstein_by_hand():
    game = games.GAMES["wasserstein"]
    close(game.d_loss(real_logits=R2, fake_logits=F2), 1.0 - (-0.25))  # E D(G(z)) - E D(x) = 1.25
    close(game.g_loss(real_logits=R2, fake_logits=F2), -1.0)  # -E D(G(z))
    gr, gf = d_grads(game, R2, F2)
    close(gr, [-0.5, -0.5])  # -1/n
    close(gf, [0.5, 0.5])  # +1/n
    close(g_grads(game, R2, F2)[1], [-0.5, -0.5])


# --- hinge ------------------------------------------------------------------------------------


def test_hinge_by_hand():
    game = games.GAMES["hinge"]
    # D: mean(relu(1-0.5), relu(1+1)) + mean(relu(1+2), relu(1+0)) = 1.25 + 2 = 3.25
    close(game.d_loss(real_logits=R2, fake_logits=F2), 3.25)
    close(game.g_loss(real_logits=R2, fake_logits=F2), -1.0)
    # Every margin is active here: dD/dl_real = -1/n, dD/dl_fake = +1/n.
    gr, gf = d_grads(game, R2, F2)
    close(gr, [-0.5, -0.5])
    close(gf, [0.5, 0.5])
    # Past the margin (l_real > 1, l_fake < -1) the D loss is 0 and flat.
    r, f = jnp.array([1.5, 3.0]), jnp.array([-2.0, -1.5])
    close(game.d_loss(real_logits=r, fake_logits=f), 0.0)
    close(d_grads(game, r, f)[0], [0.0, 0.0])
    close(g_grads(game, r, f)[1], [-0.5, -0.5])  # G still gets -1/n


# --- relativistic average ---------------------------------------------------------------------


def test_relativistic_average_by_hand():
    game = games.GAMES["relativistic_average"]
    mr, mf = -0.25, 1.0
    # D: mean(softplus(mf - r)) + mean(softplus(f - mr))
    d = (softplus(1.0 - 0.5) + softplus(1.0 + 1.0)) / 2 + (softplus(2.0 + 0.25) + softplus(0.0 + 0.25)) / 2
    close(game.d_loss(real_logits=R2, fake_logits=F2), d)
    # G: mean(softplus(mr - f)) + mean(softplus(r - mf))
    g = (softplus(-0.25 - 2.0) + softplus(-0.25 - 0.0)) / 2 + (softplus(0.5 - 1.0) + softplus(-1.0 - 1.0)) / 2
    close(game.g_loss(real_logits=R2, fake_logits=F2), g)
    # dD/dr_k = -sigmoid(mf - r_k)/n - sum_j sigmoid(f_j - mr)/n^2
    # dD/df_k = +sigmoid(f_k - mr)/n + sum_i sigmoid(mf - r_i)/n^2
    s_real = [sigmoid(mf - r) for r in (0.5, -1.0)]
    s_fake = [sigmoid(f - mr) for f in (2.0, 0.0)]
    gr, gf = d_grads(game, R2, F2)
    close(gr, [-s / 2 - sum(s_fake) / 4 for s in s_real])
    close(gf, [s / 2 + sum(s_real) / 4 for s in s_fake])
    # The G loss is the D loss with real and fake swapped, so its gradients swap too.
    ggr, ggf = g_grads(game, R2, F2)
    gr_swapped, gf_swapped = d_grads(game, F2, R2)
    close(ggr, np.asarray(gf_swapped))
    close(ggf, np.asarray(gr_swapped))


def test_relativistic_average_g_loss_needs_real_logits():
    game = games.GAMES["relativistic_average"]
    assert game.needs_real_for_g
    with pytest.raises(ValueError, match="real_logits"):
        game.g_loss(fake_logits=F2)


# --- relativistic pairing (RpGAN) -------------------------------------------------------------


def test_relativistic_pairing_by_hand():
    """Pair i is (R2[i], F2[i]): differences l_r - l_f = (0.5 - 2, -1 - 0) = (-1.5, -1)."""
    game = games.GAMES["relativistic_pairing"]
    # D: mean(softplus(-(l_r - l_f))) = mean(softplus(1.5), softplus(1))
    close(game.d_loss(real_logits=R2, fake_logits=F2), (softplus(1.5) + softplus(1.0)) / 2)
    # G: mean(softplus(-(l_f - l_r))) = mean(softplus(-1.5), softplus(-1))
    close(game.g_loss(real_logits=R2, fake_logits=F2), (softplus(-1.5) + softplus(-1.0)) / 2)
    # D = mean softplus(f_i - r_i): dD/dr_i = -sigmoid(f_i - r_i)/n, dD/df_i = +sigmoid(f_i - r_i)/n
    gr, gf = d_grads(game, R2, F2)
    close(gr, [-sigmoid(1.5) / 2, -sigmoid(1.0) / 2])
    close(gf, [sigmoid(1.5) / 2, sigmoid(1.0) / 2])
    # G = mean softplus(r_i - f_i): dG/df_i = -sigmoid(r_i - f_i)/n, dG/dr_i = +sigmoid(r_i - f_i)/n
    ggr, ggf = g_grads(game, R2, F2)
    close(ggf, [-sigmoid(-1.5) / 2, -sigmoid(-1.0) / 2])
    close(ggr, [sigmoid(-1.5) / 2, sigmoid(-1.0) / 2])


def test_relativistic_pairing_pairs_elements_not_batch_means():
    """Re-pairing the same logits changes the pairing loss: (0.5 - 0, -1 - 2) = (0.5, -3) gives
    mean(softplus(-0.5), softplus(3)); the relativistic average game, built on batch means, does not move,
    and differs from the pairing game on the same batch."""
    pairing, average = games.GAMES["relativistic_pairing"], games.GAMES["relativistic_average"]
    swapped = F2[::-1]
    close(pairing.d_loss(real_logits=R2, fake_logits=swapped), (softplus(-0.5) + softplus(3.0)) / 2)
    close(
        average.d_loss(real_logits=R2, fake_logits=swapped),
        float(average.d_loss(real_logits=R2, fake_logits=F2)),
    )
    assert float(pairing.d_loss(real_logits=R2, fake_logits=F2)) != pytest.approx(
        float(average.d_loss(real_logits=R2, fake_logits=F2)), rel=1e-3
    )


def test_relativistic_pairing_needs_one_real_per_fake():
    game = games.GAMES["relativistic_pairing"]
    assert game.needs_real_for_g
    with pytest.raises(ValueError, match="real_logits"):
        game.g_loss(fake_logits=F2)
    for loss in (game.d_loss, game.g_loss):
        with pytest.raises(ValueError, match="one shape"):
            loss(real_logits=jnp.zeros(3), fake_logits=F2)


@pytest.mark.parametrize("name", [n for n, g in LOGIT_GAMES.items() if not g.needs_real_for_g])
def test_g_loss_ignores_real_logits_when_not_needed(name):
    game = games.GAMES[name]
    old_style = game.g_loss(fake_logits=F2)  # the pre-existing calling convention still works
    close(game.g_loss(real_logits=R2, fake_logits=F2), float(old_style))
    close(game.g_loss(real_logits=R2 + 100.0, fake_logits=F2), float(old_style))
    assert float(jnp.abs(g_grads(game, R2, F2)[0]).sum()) == 0.0


# --- fixed points -----------------------------------------------------------------------------

# Equilibrium p_g = p_data with D* constant at the stated value: the losses the records document.
EQUILIBRIUM = {
    # name: (D* logit, D loss, G loss)
    "minimax": (0.0, math.log(4.0), -math.log(2.0)),
    "nonsaturating": (0.0, math.log(4.0), math.log(2.0)),
    "least_squares": (0.5, 0.25, 0.125),
    "wasserstein": (0.7, 0.0, -0.7),  # any constant critic
    "hinge": (0.0, 2.0, 0.0),  # any constant in [-1, 1]; 0 here
    "relativistic_average": (0.3, 2 * math.log(2.0), 2 * math.log(2.0)),  # any constant
    "relativistic_pairing": (-0.4, math.log(2.0), math.log(2.0)),  # any constant: softplus(0) each
    "thresholded": (0.0, math.log(4.0), 0.0),  # no fake is rejected at D = 1/2
    "lazy": (0.0, 0.0, 0.0),  # nothing misclassified at D = 1/2
    "blend": (0.0, math.log(4.0), 0.0),  # (log 2 - log 4 / 2) / 2
}


def test_every_game_has_an_equilibrium_check():
    assert set(EQUILIBRIUM) == set(LOGIT_GAMES)


@pytest.mark.parametrize("name", sorted(LOGIT_GAMES))
def test_losses_at_equilibrium(name):
    game = games.GAMES[name]
    d_star, d_value, g_value = EQUILIBRIUM[name]
    same = jnp.full((4,), d_star)
    close(game.d_loss(real_logits=same, fake_logits=same), d_value)
    close(game.g_loss(real_logits=same, fake_logits=same), g_value)
    assert game.fixed_point and game.reference


def _optimal_discriminator(game, raw_to_prob):
    """Minimise the D loss over a table D(x1), D(x2) for p_data = (3/4, 1/4), p_g = (1/4, 3/4),
    written as 4 equally weighted samples each; returns D* read as a probability."""
    real_idx, fake_idx = jnp.array([0, 0, 0, 1]), jnp.array([0, 1, 1, 1])

    def loss(table):
        return game.d_loss(real_logits=table[real_idx], fake_logits=table[fake_idx])

    grad = jax.grad(loss)
    table = jax.lax.fori_loop(0, 3000, lambda _, t: t - grad(t), jnp.zeros(2))
    return raw_to_prob(table)


@pytest.mark.parametrize(
    "name, raw_to_prob",
    [("least_squares", lambda t: t), ("minimax", jax.nn.sigmoid)],
)
def test_optimal_discriminator_is_density_ratio(name, raw_to_prob):
    """LSGAN with 0-1 coding and Goodfellow's Prop. 1 both give D* = p_data/(p_data + p_g)."""
    d_star = _optimal_discriminator(games.GAMES[name], raw_to_prob)
    np.testing.assert_allclose(d_star, [0.75, 0.25], rtol=1e-5)


def test_hinge_optimal_discriminator_is_sign_of_density_difference():
    """D*(x) = sign(p_data - p_g): on the two-point example D* = (1, -1), D loss 2 - 2 TV = 2 - 2/2 = 1."""
    game = games.GAMES["hinge"]
    real_idx, fake_idx = jnp.array([0, 0, 0, 1]), jnp.array([0, 1, 1, 1])

    def loss(table):
        return game.d_loss(real_logits=table[real_idx], fake_logits=table[fake_idx])

    best = float(loss(jnp.array([1.0, -1.0])))
    assert best == pytest.approx(1.0, rel=1e-6)
    grid = jnp.linspace(-3.0, 3.0, 61)
    values = jax.jit(jax.vmap(jax.vmap(lambda a, b: loss(jnp.stack([a, b])), (None, 0)), (0, None)))(
        grid, grid
    )
    assert float(values.min()) == pytest.approx(best, rel=1e-6)


# --- properties over wide logit ranges ----------------------------------------------------------

# Fixed shapes (4 real, 3 fake logits) so that each game compiles once; the games that pair each real
# with one fake read the first 3 real logits.
PAIRED = ("relativistic_pairing",)
FLOATS = st.floats(-1e4, 1e4, width=32)
REAL_LOGITS = hnp.arrays(np.float32, 4, elements=FLOATS)
FAKE_LOGITS = hnp.arrays(np.float32, 3, elements=FLOATS)


@functools.cache
def _values_and_grads(name):
    game = games.GAMES[name]

    def losses(r, f):
        return game.d_loss(real_logits=r, fake_logits=f), game.g_loss(real_logits=r, fake_logits=f)

    def all_of(r, f):
        (d, g), vjp = jax.vjp(losses, r, f)
        one, zero = jnp.ones_like(d), jnp.zeros_like(d)
        return d, g, vjp((one, zero)), vjp((zero, one))

    return jax.jit(all_of)


@pytest.mark.parametrize("name", sorted(LOGIT_GAMES))
@settings(max_examples=50, deadline=None)
@given(real=REAL_LOGITS, fake=FAKE_LOGITS)
def test_finite_losses_gradients_and_sign_conventions(name, real, fake):
    """For logits in [-1e4, 1e4] both losses and all four gradients are finite. And higher logit = more
    real: D's loss never rises as real logits go up or fake logits go down, G's never rises as fake logits
    go up (not checked for LSGAN, which regresses onto the 0/1 codes)."""
    real = real[: len(fake)] if name in PAIRED else real
    d, g, (d_real, d_fake), g_grad = _values_and_grads(name)(jnp.asarray(real), jnp.asarray(fake))
    assert np.isfinite(float(d)) and np.isfinite(float(g))
    for grad in (d_real, d_fake, *g_grad):
        assert np.isfinite(np.asarray(grad)).all()
    if name != "least_squares":
        assert (np.asarray(d_real) <= 0).all()
        assert (np.asarray(d_fake) >= 0).all()
        assert (np.asarray(g_grad[1]) <= 0).all()


@pytest.mark.parametrize("name", sorted(LOGIT_GAMES))
@pytest.mark.parametrize("big", [1e4, -1e4])
def test_losses_and_gradients_finite_for_huge_logits(name, big):
    game = games.GAMES[name]
    l = jnp.array([big, -big, 0.0])

    def total(r, f):
        return game.d_loss(real_logits=r, fake_logits=f) + game.g_loss(real_logits=r, fake_logits=f)

    value, grads = jax.value_and_grad(total, argnums=(0, 1))(l, l)
    assert np.isfinite(float(value))
    assert all(np.isfinite(np.asarray(g)).all() for g in grads)


# --- the registry -----------------------------------------------------------------------------


def test_registry_lists_choices_and_rejects_unknown():
    assert list(games.GAMES) == [
        "minimax",
        "nonsaturating",
        "least_squares",
        "wasserstein",
        "hinge",
        "relativistic_average",
        "relativistic_pairing",
        "thresholded",
        "lazy",
        "blend",
        "gmmn",
        "autoencoder",
        "mmd_gan",
    ]
    with pytest.raises(ValueError, match="minimax, nonsaturating, least_squares"):
        games.get_game("bogus")
    assert games.get_game("hinge") is games.GAMES["hinge"]


def test_game_records():
    g = games.GAMES
    assert [n for n in g if g[n].needs_real_for_g] == [
        "relativistic_average",
        "relativistic_pairing",
        "blend",
        "gmmn",
        "mmd_gan",
    ]
    assert [n for n in g if g[n].critic] == ["wasserstein", "hinge", "mmd_gan"]
    assert [n for n in g if g[n].needs_lipschitz] == ["wasserstein", "mmd_gan"]
    constraint = g["wasserstein"].constraint
    assert "clip" in constraint and "gradient penalty" in constraint
    assert all(not g[n].constraint for n in g if not g[n].needs_lipschitz)
    assert "-log 4" in g["minimax"].fixed_point and "p_g = p_data" in g["minimax"].fixed_point
    # The paper's two games keep their functions.
    assert g["minimax"].d_loss is games.minimax_d_loss and g["minimax"].g_loss is games.minimax_g_loss
    assert g["nonsaturating"].g_loss is games.nonsaturating_g_loss
