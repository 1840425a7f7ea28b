import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax.game import games, regularisers

KEY = jax.random.key(0)
X = jnp.array([[1.0, 2.0], [0.0, -3.0]])  # ||x_i||^2 = 5, 9
X_OTHER = jnp.array([[-2.0, 0.5], [4.0, 1.0]])


def close(got, expected, **kw):
    np.testing.assert_allclose(np.asarray(got, np.float64), expected, **{"rtol": 1e-6, "atol": 1e-7, **kw})


def linear(params):
    """D(x) = w.x + b: its input gradient is w everywhere."""
    return lambda x: x @ params["w"] + params["b"]


def quadratic(a):
    """D(x) = a/2 ||x||^2: its input gradient is a x."""
    return lambda x: 0.5 * a * jnp.sum(jnp.square(x), axis=1)


def linear_params(w):
    return {"w": jnp.asarray(w), "b": jnp.asarray(0.7)}


# --- gradient penalty -------------------------------------------------------------------------


@pytest.mark.parametrize("w", [[0.3, 0.4], [3.0, 4.0]])  # ||w|| = 0.5 and 5
def test_gradient_penalty_linear_critic(w):
    """GP = (||w|| - 1)^2 whatever eps is; d/dw = 2 (||w|| - 1) w/||w||, d/db = 0."""
    norm = math.hypot(*w)

    def penalty(params, one_sided=False):
        return regularisers.gradient_penalty(linear(params), X, X_OTHER, KEY, one_sided=one_sided)

    params = linear_params(w)
    value, grads = jax.value_and_grad(penalty)(params)
    close(value, (norm - 1.0) ** 2)
    close(grads["w"], [2 * (norm - 1.0) * wi / norm for wi in w])
    close(grads["b"], 0.0)
    one_sided, one_sided_grads = jax.value_and_grad(penalty)(params, one_sided=True)
    if norm < 1.0:  # one-sided: max(0, ||w|| - 1)^2 = 0, flat; two-sided pushes ||w|| up to 1
        close(one_sided, 0.0)
        close(one_sided_grads["w"], [0.0, 0.0])
        assert float(value) == pytest.approx(0.25, rel=1e-6)
    else:  # above 1 they agree: (5 - 1)^2 = 16
        close(one_sided, 16.0, rtol=1e-5)
        close(one_sided_grads["w"], np.asarray(grads["w"]))


def test_gradient_penalty_target():
    # ||w|| = 5: (5 - 2)^2 = 9
    value = regularisers.gradient_penalty(linear(linear_params([3.0, 4.0])), X, X_OTHER, KEY, target=2.0)
    close(value, 9.0, rtol=1e-5)


def test_gradient_penalty_quadratic_critic_at_data():
    """x_real = x_fake, so x_hat = x: ||grad|| = a ||x_i|| = (sqrt 5 / 2, 3/2) for a = 1/2."""
    a = 0.5
    norms = [math.sqrt(5.0), 3.0]
    value, grad = jax.value_and_grad(lambda a: regularisers.gradient_penalty(quadratic(a), X, X, KEY))(a)
    close(value, np.mean([(a * n - 1.0) ** 2 for n in norms]))
    # d/da mean (a n_i - 1)^2 = mean 2 (a n_i - 1) n_i
    close(grad, np.mean([2.0 * (a * n - 1.0) * n for n in norms]))


def test_gradient_penalty_interpolates_uniformly_per_example():
    """D(x) = x^2/2 in 1-D with x_real = 1, x_fake = 0: ||grad D(x_hat)|| = eps ~ U[0, 1], so with target 0
    GP = E eps^2 = 1/3 and with target 1 GP = E (1 - eps)^2 = 1/3 (Monte Carlo, n = 20000: sd ~0.002)."""
    n = 20_000
    ones, zeros = jnp.ones((n, 1)), jnp.zeros((n, 1))
    for target in (0.0, 1.0):
        value = regularisers.gradient_penalty(quadratic(1.0), ones, zeros, KEY, target=target)
        assert float(value) == pytest.approx(1.0 / 3.0, abs=0.01)


def test_gradient_penalty_finite_gradient_at_zero_input_gradient():
    grads = jax.grad(lambda p: regularisers.gradient_penalty(linear(p), X, X_OTHER, KEY))(
        linear_params([0.0, 0.0])
    )
    assert np.isfinite(np.asarray(grads["w"])).all()


def test_penalties_check_shapes():
    with pytest.raises(AssertionError):
        regularisers.gradient_penalty(quadratic(1.0), X, X[:1], KEY)
    with pytest.raises(AssertionError):  # critic must return one logit per example, [B]
        regularisers.r1_penalty(lambda x: quadratic(1.0)(x)[:, None], X)


# --- R1 / R2 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("penalty", [regularisers.r1_penalty, regularisers.r2_penalty])
def test_r1_r2_linear_critic(penalty):
    """R1 = ||w||^2 = 0.3^2 + 0.4^2 = 0.25; d/dw = 2w."""
    value, grads = jax.value_and_grad(lambda p: penalty(linear(p), X))(linear_params([0.3, 0.4]))
    close(value, 0.25)
    close(grads["w"], [0.6, 0.8])
    close(grads["b"], 0.0)


def test_r1_quadratic_critic():
    """grad = a x, so R1 = a^2 E||x||^2 = 0.25 * (5 + 9)/2 = 1.75 and d/da = 2 a E||x||^2 = 7."""
    value, grad = jax.value_and_grad(lambda a: regularisers.r1_penalty(quadratic(a), X))(0.5)
    close(value, 1.75)
    close(grad, 7.0)
    close(regularisers.r2_penalty(quadratic(0.5), X_OTHER), 0.25 * (4.25 + 17.0) / 2)


# --- DRAGAN -----------------------------------------------------------------------------------


def test_dragan_linear_critic():
    """(||w|| - 1)^2 wherever the perturbed points land: (5 - 1)^2 = 16; d/dw = 2 * 4 * w/5 = (4.8, 6.4)."""
    value, grads = jax.value_and_grad(lambda p: regularisers.dragan_penalty(linear(p), X, KEY))(
        linear_params([3.0, 4.0])
    )
    close(value, 16.0, rtol=1e-5)
    close(grads["w"], [4.8, 6.4], rtol=1e-5)


def test_dragan_without_noise_is_penalty_at_data():
    value = regularisers.dragan_penalty(quadratic(0.5), X, KEY, c=0.0)
    close(value, np.mean([(0.5 * math.sqrt(5.0) - 1.0) ** 2, (1.5 - 1.0) ** 2]))


def test_dragan_perturbation_distribution():
    """1-D, D(x) = x^2/2, target 0: penalty = E x_hat^2 with x = +-1 (std 1), x_hat = x + alpha * 0.5 * u:
    E x_hat^2 = E x^2 + 2 E[x] E[alpha u] 0.5 + 0.25 E alpha^2 E u^2 = 1 + 0 + 0.25/9 = 1.0278
    (without alpha it would be 1 + 0.25/3 = 1.083; Gaussian delta with sd 0.5 would give 1.25)."""
    x = jnp.tile(jnp.array([[1.0], [-1.0]]), (10_000, 1))
    value = regularisers.dragan_penalty(quadratic(1.0), x, KEY, c=0.5, target=0.0)
    assert float(value) == pytest.approx(1.0 + 0.25 / 9.0, abs=0.01)


# --- weight clipping, label smoothing ---------------------------------------------------------


def test_clip_weights():
    params = {"a": jnp.array([-0.5, 0.005, 0.02]), "b": {"c": jnp.array([[0.1, -0.001]])}}
    clipped = regularisers.clip_weights(params, 0.01)
    close(clipped["a"], [-0.01, 0.005, 0.01])
    close(clipped["b"]["c"], [[0.01, -0.001]])
    assert jax.tree.structure(clipped) == jax.tree.structure(params)


def softplus(v):
    return math.log1p(math.exp(v))


def test_label_smoothed_d_loss_by_hand():
    real, fake = jnp.array([0.5, -1.0]), jnp.array([2.0, 0.0])
    # real: mean(0.9 softplus(-0.5) + 0.1 softplus(0.5), 0.9 softplus(1) + 0.1 softplus(-1))
    expected = (0.9 * softplus(-0.5) + 0.1 * softplus(0.5) + 0.9 * softplus(1.0) + 0.1 * softplus(-1.0)) / 2
    expected += (softplus(2.0) + softplus(0.0)) / 2
    close(regularisers.label_smoothed_d_loss(real_logits=real, fake_logits=fake, alpha=0.1), expected)
    # alpha = 0 is the minimax D loss.
    close(
        regularisers.label_smoothed_d_loss(real_logits=real, fake_logits=fake),
        float(games.minimax_d_loss(real_logits=real, fake_logits=fake)),
    )


def test_label_smoothing_optimal_discriminator():
    """D* = (1 - alpha) p_data/(p_data + p_g): p_data = p_g, alpha = 0.1 gives D* = 0.45, a zero gradient."""
    l_star = math.log(0.45 / 0.55)
    grad = jax.grad(
        lambda l: regularisers.label_smoothed_d_loss(real_logits=l, fake_logits=l, alpha=0.1).sum()
    )(jnp.array([l_star]))
    close(grad, [0.0], atol=1e-6)


def test_label_smoothing_finite_for_huge_logits():
    l = jnp.array([1e4, -1e4, 0.0])
    value, grads = jax.value_and_grad(
        lambda r, f: regularisers.label_smoothed_d_loss(real_logits=r, fake_logits=f, alpha=0.1),
        argnums=(0, 1),
    )(l, l)
    assert np.isfinite(float(value)) and all(np.isfinite(np.asarray(g)).all() for g in grads)


# --- EMA, lazy regularisation -----------------------------------------------------------------


def test_ema_update_by_hand():
    """decay 0.9, start_step 1; params 1, 2, 4 at steps 0, 1, 2:
    step 0 (< start): ema = 1; step 1: 0.9 * 1 + 0.1 * 2 = 1.1; step 2: 0.9 * 1.1 + 0.1 * 4 = 1.39."""
    update = jax.jit(regularisers.ema_update, static_argnames="start_step")
    ema = {"w": jnp.array([100.0]), "b": {"c": jnp.array(-50.0)}}  # junk before the first copy
    expected = [1.0, 1.1, 1.39]
    for step, (p, e) in enumerate(zip([1.0, 2.0, 4.0], expected, strict=True)):
        params = {"w": jnp.array([p]), "b": {"c": jnp.array(2 * p)}}
        ema = update(ema, params, 0.9, jnp.asarray(step), start_step=1)
        close(ema["w"], [e], rtol=1e-6)
        close(ema["b"]["c"], 2 * e, rtol=1e-6)


def test_ema_update_from_step_zero():
    ema = regularisers.ema_update({"w": jnp.array(1.0)}, {"w": jnp.array(3.0)}, 0.75, 0)
    close(ema["w"], 0.75 * 1.0 + 0.25 * 3.0)


def test_lazy_scale():
    schedule = jax.jit(regularisers.lazy_scale, static_argnames="every")
    for step in range(9):
        apply, scale = schedule(jnp.asarray(step), every=4)
        assert bool(apply) == (step % 4 == 0)
        assert float(scale) == (4.0 if step % 4 == 0 else 0.0)
    # Averaged over a period the regulariser keeps its strength: sum of scales = number of steps.
    assert sum(float(regularisers.lazy_scale(s, 16)[1]) for s in range(64)) == 64.0
    assert all(bool(regularisers.lazy_scale(s, 1)[0]) for s in range(3))
    assert float(regularisers.lazy_scale(5, 1)[1]) == 1.0
