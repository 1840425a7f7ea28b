"""Training options wired into the step: each checked against an independent computation of what the
option means (penalty gradient, EMA recursion, sub-step order), and refused where it does not apply."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import tiny_config
from jax.flatten_util import ravel_pytree
from test_steps import assert_update, batch_at, build, d_logits

from experiments.configs import smoke
from gan_jax.game import games, steps
from gan_jax.game.state import create_train_state, make_setup
from gan_jax.networks import latent


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"reg.clip": 0.01}, "needs a Wasserstein critic"),
        ({"game": "wasserstein"}, "needs a Lipschitz critic"),
        ({"game": "hinge", "reg.label_smoothing": 0.1}, "cross-entropy D loss only"),
        ({"reg.label_smoothing": 1.0}, "must be in [0, 1)"),
        ({"order": "g_first"}, "alternating updates only"),
        ({"order": "sideways", "update_scheme": "alternating"}, "choose one of: d_first, g_first"),
        ({"ema_decay": 1.0}, "config.ema_decay"),
        ({"reg.gp_weight": -1.0}, "must be >= 0"),
        ({"reg.reg_every": 0}, "reg_every must be >= 1"),
        # values that would be silently ignored: their switch is off
        ({"d_steps": 2}, "config.d_steps=2 applies to alternating updates only"),
        ({"g_steps": 3}, "config.g_steps=3 applies to alternating updates only"),
        ({"g_lr_multiplier": 0.0}, "g_lr_multiplier must be > 0"),
        ({"reg.gp_one_sided": True}, "set gp_weight > 0"),
        ({"reg.gp_target": 0.5}, "set gp_weight > 0"),
        ({"reg.reg_every": 4}, "applies to R1/R2"),
        ({"ema_start": 100}, "needs the G EMA on"),
        ({"ema_start": -1, "ema_decay": 0.9}, "ema_start must be >= 0"),
        ({"g_optim.name": "adam"}, "needs a g_optim.learning_rate"),
        ({"g_optim.name": "sgd", "g_optim.learning_rate": 0.1}, "choose one of: paper_sgd, adam"),
        ({"g_optim.b1": 0.5}, "g_optim.b1: not a field of optimizer 'paper_sgd'"),
    ],
)
def test_options_that_do_not_apply_are_refused(images, overrides, message):
    config = tiny_config()
    for key, value in overrides.items():
        node, _, field = key.rpartition(".")
        (config[node] if node else config)[field] = value
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace(")", r"\)")):
        build(config, images)


def r1_of(setup, d_params, x):
    """E ||grad_x D(x)||^2 with dropout off (keep = 1): computed here by autodiff of D alone."""
    grads = jax.grad(lambda x: setup.discriminator.apply({"params": d_params}, x, train=False).sum())(x)
    return jnp.mean(jnp.sum(grads**2, axis=1))


@pytest.mark.parametrize("reg_every", [1, 2])
def test_r1_enters_d_update_with_its_weight_and_lazy_scale(images, reg_every):
    """D's first update with R1 minus without = -lr * d_loss_scale * scale * (gamma/2) * grad_theta R1
    (the penalty weighs gamma/2 against the game's unscaled D loss; dropout off,
    so the penalty is deterministic); lazy R1 every 2 D updates applies at D's update 0 with scale 2, not
    at update 1 (StyleGAN2 counts D updates)."""
    gamma = 4.0
    plain = tiny_config()
    plain.model.d_input_keep = plain.model.d_hidden_keep = 1.0
    penalised = tiny_config(**{})
    penalised.model.d_input_keep = penalised.model.d_hidden_keep = 1.0
    penalised.reg.r1_gamma, penalised.reg.reg_every = gamma, reg_every
    setup, state, step = build(plain, images)
    _, _, step_r1 = build(penalised, images)
    without, _ = step(state, jnp.asarray(images))
    with_r1, _ = step_r1(state, jnp.asarray(images))
    x_real = batch_at(state, 0, images, plain.batch_size)
    grad_r1 = jax.grad(lambda dp: r1_of(setup, dp, x_real))(state.d_params)
    lr = plain.optim.learning_rate
    expected = jax.tree.map(lambda g: -lr * plain.d_loss_scale * reg_every * 0.5 * gamma * g, grad_r1)
    assert_update(with_r1.d_params, without.d_params, expected)
    chex_equal = jax.tree.map(lambda a, b: bool(jnp.array_equal(a, b)), with_r1.g_params, without.g_params)
    assert all(jax.tree.leaves(chex_equal))  # the penalty is D's alone
    if reg_every > 1:  # D's update 1 is skipped: the same D update as without R1
        count = jnp.ones_like(state.d_opt_state.count)
        at_one = state.replace(d_opt_state=state.d_opt_state._replace(count=count))
        without, with_r1 = step(at_one, jnp.asarray(images))[0], step_r1(at_one, jnp.asarray(images))[0]
        jax.tree.map(np.testing.assert_array_equal, with_r1.d_params, without.d_params)


def test_g_ema_follows_its_recursion(images):
    """ema_start=1: a copy of G after step 1, then ema <- d * ema + (1 - d) * params."""
    config = tiny_config(ema_decay=0.9, ema_start=1)
    _, state, step = build(config, images)
    np.testing.assert_array_equal(state.g_ema["out"]["bias"], state.g_params["out"]["bias"])
    step = jax.jit(step)
    expected = None
    for i in range(3):
        state, _ = step(state, jnp.asarray(images))
        if i == 0:
            expected = state.g_params
        else:
            expected = jax.tree.map(lambda e, p: 0.9 * e + 0.1 * p, expected, state.g_params)
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), state.g_ema, expected
        )
    assert steps.sampling_params(state) is state.g_ema
    gap = jax.tree.map(lambda e, p: float(jnp.abs(e - p).max()), state.g_ema, state.g_params)
    assert max(jax.tree.leaves(gap)) > 1e-4  # the average lags the parameters


def test_g_first_steps_g_through_the_old_discriminator(images):
    config = tiny_config(update_scheme="alternating", order="g_first")
    setup, state, step = build(config, images)
    new, _ = step(state, jnp.asarray(images))
    _, g_keys = steps.player_keys(steps.step_key(state), config.d_steps, config.g_steps)
    k_z, k_drop = jax.random.split(g_keys[0])
    z = latent.sample_noise(k_z, config.batch_size, config.model.z_dim)

    def g_obj(gp):
        x_fake = setup.generator.apply({"params": gp}, z)
        return games.nonsaturating_g_loss(fake_logits=d_logits(setup, state.d_params, x_fake, k_drop))

    lr = config.optim.learning_rate
    assert_update(
        new.g_params, state.g_params, jax.tree.map(lambda g: -lr * g, jax.grad(g_obj)(state.g_params))
    )
    moved = jax.tree.map(lambda n, o: float(jnp.abs(n - o).max()), new.d_params, state.d_params)
    assert max(jax.tree.leaves(moved)) > 1e-4  # D stepped after G


@pytest.mark.parametrize(
    "scheme, order, k, n, seen",
    [
        ("simultaneous", "d_first", 1, 1, [0, 1, 2]),  # G's gradient from the D of the same step's start
        ("alternating", "d_first", 2, 3, [2, 4, 6]),  # Algorithm 1: the k D steps, then G
        ("alternating", "g_first", 2, 3, [0, 2, 4]),  # G first, through the old D
    ],
)
def test_sub_step_order_through_the_d_update_counter(images, scheme, order, k, n, seen):
    """The order of the sub-steps as the state's D update counter (its optimizer's count) shows it
    when G's update is computed (metric ``d_updates_at_g``), over 3 steps; k D and n G updates each."""
    config = tiny_config(update_scheme=scheme, order=order)
    config.d_steps, config.g_steps = k, n
    _, state, step = build(config, images)
    step, at_g = jax.jit(step), []
    for _ in range(3):
        state, metrics = step(state, jnp.asarray(images))
        at_g.append(int(metrics["d_updates_at_g"]))
    assert at_g == seen
    assert (int(state.d_opt_state.count), int(state.g_opt_state.count)) == (3 * k, 3 * n)


def test_g_has_its_own_optimizer(images):
    """G on Adam (lr 1e-3), D on the paper's SGD: D's update is the one-optimizer run's; G's first Adam
    step is -lr g / (|g| + eps) (m_1 = (1 - b1) g, v_1 = (1 - b2) g^2, bias-corrected) = -lr sign(g)
    where |g| >> eps, with G's gradient g read off the one-optimizer run's first SGD step, -0.1 g
    (where that step stands above float32 rounding). A set g_optim.learning_rate alone keeps D's
    optimizer for G at that rate."""
    base, adam_g, slow_g = tiny_config(), tiny_config(), tiny_config()
    adam_g.g_optim.name, adam_g.g_optim.learning_rate = "adam", 1e-3
    slow_g.g_optim.learning_rate = 0.025
    _, state, step = build(base, images)
    a, _ = step(state, jnp.asarray(images))
    old, grads = state.g_params, jax.tree.map(lambda n, o: (o - n) / 0.1, a.g_params, state.g_params)
    new = {}
    for name, config in (("adam", adam_g), ("slow", slow_g)):
        _, other, other_step = build(config, images)
        chex.assert_trees_all_equal(other.g_params, old)
        new[name], _ = other_step(other, jnp.asarray(images))
        jax.tree.map(np.testing.assert_array_equal, a.d_params, new[name].d_params)
    assert_update(new["slow"].g_params, old, jax.tree.map(lambda g: -0.025 * g, grads))
    g = np.asarray(ravel_pytree(grads)[0])
    adam_step = np.asarray(ravel_pytree(new["adam"].g_params)[0] - ravel_pytree(old)[0])
    clear = np.abs(g) > 1e-4
    assert clear.mean() > 0.5
    np.testing.assert_allclose(adam_step[clear], -1e-3 * np.sign(g[clear]), rtol=1e-3)


def test_the_default_optimizer_is_mnist_yamls_sgd():
    """goodfeli/adversarial mnist.yaml: lr 0.1 decayed by 1.000004 a batch to at least 1e-6, momentum
    0.5 rising to 0.7 from epoch 1 to 250."""
    optim = smoke.get_config().optim.to_dict()
    assert optim == {
        "name": "paper_sgd",
        "learning_rate": 0.1,
        "lr_decay": 1.000004,
        "min_lr": 1e-6,
        "momentum_init": 0.5,
        "momentum_final": 0.7,
        "momentum_start_epoch": 1,
        "momentum_saturate_epoch": 250,
    }


def test_two_time_scales_scale_g_update_only(images):
    base, slow = tiny_config(), tiny_config(g_lr_multiplier=0.25)
    _, state, step = build(base, images)
    _, _, slow_step = build(slow, images)
    a, _ = step(state, jnp.asarray(images))
    b, _ = slow_step(state, jnp.asarray(images))
    quarter = jax.tree.map(lambda n, o: 0.25 * (n - o), a.g_params, state.g_params)
    assert_update(b.g_params, state.g_params, quarter)
    jax.tree.map(np.testing.assert_array_equal, a.d_params, b.d_params)


@pytest.mark.parametrize(
    "game, scheme, extra",
    [
        ("wasserstein", "alternating", {"reg.clip": 0.01}),
        ("wasserstein", "simultaneous", {"reg.gp_weight": 10.0}),
        ("relativistic_average", "alternating", {}),
        ("relativistic_average", "simultaneous", {}),
        ("least_squares", "simultaneous", {"reg.dragan_weight": 1.0}),
        ("hinge", "simultaneous", {"reg.r2_gamma": 1.0}),
    ],
)
def test_every_game_trains_finitely_with_its_options(images, game, scheme, extra):
    config = tiny_config(game=game, update_scheme=scheme)
    for key, value in extra.items():
        config.reg[key.split(".")[1]] = value
    _, state, step = build(config, images)
    state, metrics = jax.jit(steps.make_multi_step(step, 2))(state, jnp.asarray(images))
    assert int(state.nonfinite_step) == -1 and np.isfinite(float(metrics["d_loss"]))
    if "reg.clip" in extra:
        assert max(float(jnp.abs(p).max()) for p in jax.tree.leaves(state.d_params)) <= 0.01


def test_a_spectrally_normalised_critic_is_lipschitz_enough_for_wasserstein(images):
    """WGAN with spectral_norm (no clip, no penalty) is accepted; the step runs D's power iteration
    (its u and sigma, in d_state, move) and stays finite."""
    config = tiny_config(game="wasserstein")
    config.model.spectral_norm = True
    _, state, step = build(config, images)
    new, metrics = jax.jit(step)(state, jnp.asarray(images))
    moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), new.d_state, state.d_state)
    assert set(new.d_state) == {"spectral"} and min(jax.tree.leaves(moved)) > 0
    assert np.isfinite(float(metrics["d_loss"])) and np.isfinite(float(metrics["g_loss"]))


def _spy(monkeypatch, module, name, position):
    """Records, at run time, argument ``position`` of every call of ``module.name`` inside jitted steps, in
    program order (an ordered callback: XLA may otherwise run independent callbacks in any order)."""
    seen, original = [], getattr(module, name)

    def spied(*args):
        jax.debug.callback(lambda v: seen.append(int(v)), args[position], ordered=True)
        return original(*args)

    monkeypatch.setattr(module, name, spied)
    return seen


def test_lazy_r1_counts_d_updates_and_the_ema_counts_g_updates(images, monkeypatch):
    """With k = 3 D updates and n = 2 G updates a step (alternating), the lazy penalty is asked about D
    update counts 0..5 over two steps (StyleGAN2 counts D updates, not iterations) and the G EMA is
    updated after each G update, counts 0..3."""
    from gan_jax.game import options

    d_counts = _spy(monkeypatch, options, "d_penalty", 5)
    g_counts = _spy(monkeypatch, options, "after_g_update", 3)
    config = tiny_config(update_scheme="alternating", d_steps=3, g_steps=2, ema_decay=0.5)
    config.reg.r1_gamma, config.reg.reg_every = 1.0, 2
    _, state, step = build(config, images)
    step = jax.jit(step)
    for _ in range(2):
        state, _ = step(state, jnp.asarray(images))
    jax.block_until_ready(state)
    assert d_counts == [0, 1, 2, 3, 4, 5] and g_counts == [0, 1, 2, 3]


def test_lazy_r1_applies_on_the_d_updates_whose_count_is_a_multiple_of_reg_every():
    from gan_jax.game import options

    config = tiny_config()
    config.reg.r1_gamma, config.reg.reg_every = 2.0, 3
    x = jnp.ones((4, 2))

    def critic(v):
        return jnp.sum(v**2, axis=1)  # grad 2v: ||grad||^2 = 4 * 2 = 8 per example

    penalty = [float(options.d_penalty(config, critic, x, x, jax.random.PRNGKey(0), n)) for n in range(4)]
    assert penalty == [3 * 0.5 * 2.0 * 8.0, 0.0, 0.0, 3 * 0.5 * 2.0 * 8.0]


def test_a_gradient_penalty_on_a_batch_norm_discriminator_is_refused():
    from experiments.configs import dcgan_mnist
    from gan_jax.training import validation

    config = dcgan_mnist.get_config()
    config.reg.r1_gamma = 1.0
    with pytest.raises(ValueError, match="per-example D, and this D has batch norm"):
        validation.validate(config)
    for fix in ({"d_norm": "layer"}, {"d_norm": "none"}, {"spectral_norm": True}):
        ok = dcgan_mnist.get_config()
        ok.reg.r1_gamma = 1.0
        ok.model.update(fix)
        validation.validate(ok)


@pytest.mark.slow  # (the default suite stays under 15 min on 2 cores; `pytest -m slow`)
def test_penalty_dropout_matters_only_for_a_d_with_dropout(images):
    """R1 through a dropped-out D or D in eval mode: the same step for the toys' MLP D (no dropout), a
    different one for the paper's maxout D (dropout on its input and hidden units)."""
    from experiments.configs import ring

    points = np.random.default_rng(0).normal(size=(500, 2)).astype(np.float32)
    for base, x, same in ((ring.get_config(), points, True), (tiny_config(), images, False)):
        ends = []
        for through_dropout in (True, False):
            config = base.copy_and_resolve_references()
            config.reg.r1_gamma, config.reg.penalty_dropout = 10.0, through_dropout
            setup = make_setup(config, len(x))
            state = create_train_state(config, setup, x.mean(axis=0), len(x))
            ends.append(jax.jit(steps.make_step(config, setup, len(x)))(state, jnp.asarray(x))[0].d_params)
        equal = all(jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.array_equal(a, b)), *ends)))
        assert equal == same
