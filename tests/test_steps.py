"""One-step tests with exact expectations: which parameters each gradient sees, which batches."""

import json
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import tiny_config

from experiments.configs import dcgan_mnist
from gan_jax.data import batches
from gan_jax.game import games, replicas, steps
from gan_jax.game.optimizers import paper_optimizer
from gan_jax.game.state import DATA_STREAM, create_train_state, make_setup
from gan_jax.networks import latent
from gan_jax.training import jitting, validation


def build(config, images):
    # Larger init than the paper's so that one step's updates stand far above float32 rounding.
    config.model.d_init_scale = config.model.g_init_scale = 0.3
    validation.validate(config)
    setup = make_setup(config, len(images))
    state = create_train_state(config, setup, images.mean(axis=0), len(images))
    return setup, state, steps.make_step(config, setup, len(images))


def d_logits(setup, params, x, key):
    return setup.discriminator.apply({"params": params}, x, train=True, rngs={"dropout": key})


def batch_at(state, counter, images, batch):
    key = jax.random.fold_in(state.rng, DATA_STREAM)
    _, idx = batches.next_batch_indices(
        key, batches.epoch_permutation(key, 0, len(images)), counter, len(images), batch
    )
    return jnp.asarray(images)[idx]


def update_error(new, old, expected):
    """max |(new - old) - expected| / max |expected| over the tree."""
    err = jax.tree.map(lambda n, o, e: float(jnp.abs((n - o) - e).max()), new, old, expected)
    scale = max(float(jnp.abs(e).max()) for e in jax.tree.leaves(expected))
    assert scale > 1e-4, "the update is too small to test"
    return max(jax.tree.leaves(err)) / scale


def assert_update(new, old, expected):
    assert update_error(new, old, expected) < 1e-4


def test_simultaneous_uses_pre_update_parameters(images):
    """Both gradients at (theta_G, theta_D) of step 0 from one batch and one z; the first SGD
    update with momentum from a zero trace is -lr_0 * grad."""
    config = tiny_config()
    setup, state, step = build(config, images)
    new, metrics = step(state, jnp.asarray(images))

    k_z, k_real, k_fake = jax.random.split(steps.step_key(state), 3)
    x_real = batch_at(state, 0, images, config.batch_size)
    z = latent.sample_noise(k_z, config.batch_size, config.model.z_dim)

    def d_obj(dp):
        x_fake = setup.generator.apply({"params": state.g_params}, z)
        return 0.5 * games.minimax_d_loss(
            real_logits=d_logits(setup, dp, x_real, k_real), fake_logits=d_logits(setup, dp, x_fake, k_fake)
        )

    def g_obj(gp):
        x_fake = setup.generator.apply({"params": gp}, z)
        return games.nonsaturating_g_loss(fake_logits=d_logits(setup, state.d_params, x_fake, k_fake))

    d_grads, g_grads = jax.grad(d_obj)(state.d_params), jax.grad(g_obj)(state.g_params)
    lr = config.optim.learning_rate
    assert_update(new.d_params, state.d_params, jax.tree.map(lambda g: -lr * g, d_grads))
    assert_update(new.g_params, state.g_params, jax.tree.map(lambda g: -lr * g, g_grads))
    np.testing.assert_allclose(metrics["d_loss"], d_obj(state.d_params), rtol=1e-6)
    np.testing.assert_allclose(metrics["g_loss"], g_obj(state.g_params), rtol=1e-6)
    assert int(new.step) == 1 and int(new.data_index) == 1


@pytest.mark.parametrize("k", [1, 2])
def test_alternating_k_batches_then_g_through_updated_d(images, k):
    config = tiny_config(update_scheme="alternating", d_steps=k)
    setup, state, step = build(config, images)
    new, metrics = step(state, jnp.asarray(images))
    assert int(new.data_index) == k

    d_keys, g_keys = steps.player_keys(steps.step_key(state), k, config.g_steps)
    lr = config.optim.learning_rate
    d_params, trace = state.d_params, None
    for i in range(k):  # D sub-step i uses minibatch i and fresh z
        k_z, k_real, k_fake = jax.random.split(d_keys[i], 3)
        x_real = batch_at(state, i, images, config.batch_size)
        x_fake = setup.generator.apply(
            {"params": state.g_params}, latent.sample_noise(k_z, config.batch_size, config.model.z_dim)
        )

        def d_obj(dp, x_real=x_real, x_fake=x_fake, k_real=k_real, k_fake=k_fake):
            return 0.5 * games.minimax_d_loss(
                real_logits=d_logits(setup, dp, x_real, k_real),
                fake_logits=d_logits(setup, dp, x_fake, k_fake),
            )

        grads = jax.grad(d_obj)(d_params)
        lr_i = lr / config.optim.lr_decay**i
        inc = jax.tree.map(lambda g, lr_i=lr_i: -lr_i * g, grads)
        if trace is not None:  # classical momentum, 0.5 in the first epoch
            inc = jax.tree.map(lambda a, t: a + 0.5 * t, inc, trace)
        trace = inc
        d_params = jax.tree.map(lambda p, u: p + u, d_params, inc)
    total = jax.tree.map(lambda a, b: a - b, d_params, state.d_params)
    assert_update(new.d_params, state.d_params, total)

    k_z, k_drop = jax.random.split(g_keys[0])
    z = latent.sample_noise(k_z, config.batch_size, config.model.z_dim)

    def g_obj(gp, dp):
        x_fake = setup.generator.apply({"params": gp}, z)
        return games.nonsaturating_g_loss(fake_logits=d_logits(setup, dp, x_fake, k_drop))

    through_new = jax.tree.map(lambda g: -lr * g, jax.grad(g_obj)(state.g_params, d_params))
    through_old = jax.tree.map(lambda g: -lr * g, jax.grad(g_obj)(state.g_params, state.d_params))
    assert_update(new.g_params, state.g_params, through_new)
    assert update_error(new.g_params, state.g_params, through_old) > 1e-2
    np.testing.assert_allclose(metrics["g_loss"], g_obj(state.g_params, d_params), rtol=1e-6)


def test_k_sub_steps_read_k_distinct_minibatches(images):
    key = jax.random.PRNGKey(3)
    perm = batches.epoch_permutation(key, 0, len(images))
    seen = []
    for counter in range(5):
        perm, idx = batches.next_batch_indices(key, perm, counter, len(images), 100)
        seen.append(np.asarray(idx))
    flat = np.concatenate(seen)
    assert sorted(flat.tolist()) == list(range(500))  # one epoch: every example exactly once
    perm, idx = batches.next_batch_indices(key, perm, 5, len(images), 100)  # epoch 1 reshuffles
    assert not np.array_equal(np.asarray(idx), seen[0])


@pytest.mark.parametrize("scheme", steps.UPDATES)
def test_no_retrace_and_bit_identical_determinism(images, scheme):
    config = tiny_config(update_scheme=scheme)
    setup, state, step = build(config, images)
    chex.clear_trace_counter()  # (the step function's source is the same for every scheme)
    traced = jax.jit(chex.assert_max_traces(step, n=1), donate_argnums=0)
    device_images = jnp.asarray(images)
    for _ in range(3):
        state, metrics = traced(state, device_images)
    _, again, _ = build(config, images)
    replay = jax.jit(step, donate_argnums=0)
    for _ in range(3):
        again, metrics_again = replay(again, device_images)
    chex.assert_trees_all_equal(state, again)
    chex.assert_trees_all_equal(metrics, metrics_again)
    assert set(metrics) == {
        "d_loss",
        "g_loss",
        "d_real",
        "d_fake",
        "d_real_score",
        "d_fake_score",
        "d_updates_at_g",
        "g_grad_norm",
        "d_grad_norm",
        "lr",
        "g_lr",
        "momentum",
    }


# the joint schemes share simultaneous's fusing; extragradient's and optimistic's (28 s) run with -m slow
SLOW_FUSED = ("extragradient", "optimistic")


@pytest.mark.parametrize(
    "scheme",
    [pytest.param(s, marks=pytest.mark.slow) if s in SLOW_FUSED else s for s in steps.UPDATES],
)
def test_fused_steps_are_bit_identical_to_single_steps(images, scheme):
    """N steps fused in one dispatch (make_multi_step, with and without unrolling) give exactly the
    state and last metrics of N jitted single steps on CPU."""
    config = tiny_config(update_scheme=scheme)
    setup, state, step = build(config, images)
    device_images = jnp.asarray(images)
    fused = [jax.jit(steps.make_multi_step(step, 3, unroll))(state, device_images) for unroll in (1, 2)]
    single = jax.jit(step)
    for _ in range(3):
        state, metrics = single(state, device_images)
    for fused_state, fused_metrics in fused:  # a 2-step loop body (and a remainder) changes nothing
        assert int(fused_state.step) == 3
        for a, b in zip(
            jax.tree.leaves((fused_state, fused_metrics)), jax.tree.leaves((state, metrics)), strict=True
        ):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_every_update_of_two_steps_draws_from_its_own_key(images):
    """The keys the tests above redraw through steps.player_keys and penalty_key: each step,
    player, sub-step and penalty gets a key no other one has (a D and G sharing fold_in(key, 0), or a
    step key that ignores the step, would give two updates the same noise)."""
    _, state, _ = build(tiny_config(), images)
    drawn = []
    for step in (0, 1):
        key = steps.step_key(state.replace(step=jnp.asarray(step, jnp.int32)))
        d_keys, g_keys = steps.player_keys(key, 3, 2)
        assert (len(d_keys), len(g_keys)) == (3, 2)
        sub = [*d_keys, *g_keys]
        drawn += [key, *sub, *(steps.penalty_key(k) for k in [key, *sub])]
    assert len({np.asarray(jax.random.key_data(k)).tobytes() for k in drawn}) == len(drawn) == 24


def test_nonfinite_loss_is_recorded_with_its_step(images):
    config = tiny_config()
    setup, state, step = build(config, images)
    state = state.replace(d_params=jax.tree.map(lambda p: p * jnp.nan, state.d_params))
    state, _ = step(state, jnp.asarray(images))
    state, _ = step(state, jnp.asarray(images))
    assert int(state.nonfinite_step) == 1


def test_paper_schedules_by_hand():
    """lr_t = 0.1 / 1.000004^t (floor 1e-6); momentum 0.5 in epoch 0, +0.2 * e / 249, 0.7 from 249."""
    config = tiny_config()
    tx = paper_optimizer(config.optim, updates_per_epoch=2)
    params = {"w": jnp.ones(())}
    opt_state = tx.init(params)
    seen = []
    for _ in range(600):
        _, opt_state = tx.update({"w": jnp.ones(())}, opt_state, params)
        seen.append((float(opt_state.hyperparams["learning_rate"]), float(opt_state.hyperparams["momentum"])))
    for t in (0, 1, 5, 499):
        assert seen[t][0] == pytest.approx(0.1 / 1.000004**t, rel=1e-5)
    assert seen[0][1] == pytest.approx(0.5) and seen[1][1] == pytest.approx(0.5)
    assert seen[2][1] == pytest.approx(0.5 + 0.2 / 249, rel=1e-6)  # epoch 1
    assert seen[2 * 100][1] == pytest.approx(0.5 + 0.2 * 100 / 249, rel=1e-6)
    assert seen[2 * 249][1] == pytest.approx(0.7, rel=1e-6) and seen[599][1] == pytest.approx(0.7, rel=1e-6)


def test_paper_learning_rate_reaches_its_floor_at_the_closed_form_step():
    """lr_t = max(0.1 / 1.000004^t, 1e-6) crosses its floor at t* = ln(0.1 / 1e-6) / ln(1.000004)
    (about 2.88M updates): jump the optimizer's counts there and read the rate it applies."""
    optim = tiny_config().optim
    tx = paper_optimizer(optim, updates_per_epoch=2)
    params = {"w": jnp.ones(())}
    t_star = math.log(optim.learning_rate / optim.min_lr) / math.log(optim.lr_decay)
    assert optim.min_lr == 1e-6 and 2.8e6 < t_star < 2.9e6
    for t in (int(t_star) - 2000, int(t_star) - 1, int(t_star) + 1, int(t_star) + 2000, 10**7):
        opt_state = tx.init(params)
        counts = {
            k: s._replace(count=jnp.asarray(t, jnp.int32)) for k, s in opt_state.hyperparams_states.items()
        }
        opt_state = opt_state._replace(count=jnp.asarray(t, jnp.int32), hyperparams_states=counts)
        updates, opt_state = tx.update({"w": jnp.ones(())}, opt_state, params)
        expected = max(0.1 * 1.000004 ** (-t), 1e-6)  # float64
        assert float(opt_state.hyperparams["learning_rate"]) == pytest.approx(expected, rel=1e-5), t
        # zero momentum trace, gradient 1: the step taken is -lr_t itself
        assert float(updates["w"]) == pytest.approx(-expected, rel=1e-5), t


def test_classical_momentum_matches_pylearn2_recursion():
    """inc_t = mu * inc_{t-1} - lr_t * g_t, param += inc_t, with lr changing every update."""
    config = tiny_config()
    tx = paper_optimizer(config.optim, updates_per_epoch=1000)
    params = jnp.array([1.0, -2.0])
    opt_state = tx.init(params)
    p, inc = np.array([1.0, -2.0]), np.zeros(2)
    for t, g in enumerate([np.array([0.3, -1.0]), np.array([2.0, 0.5]), np.array([-1.0, 1.0])]):
        updates, opt_state = tx.update(jnp.asarray(g, jnp.float32), opt_state, params)
        params = optax.apply_updates(params, updates)
        inc = 0.5 * inc - (0.1 / 1.000004**t) * g
        p = p + inc
    np.testing.assert_allclose(params, p, rtol=1e-6)


def test_replicas_share_the_data_position_so_the_epoch_shuffle_stays_a_cond(images):
    """Under vmap a batched epoch-start test would become a select that re-sorts N keys every step;
    the stacked state keeps data_index unbatched, and the replicas are the seeds' own runs."""
    from gan_jax.game.replicas import replica
    from gan_jax.game.state import create_state

    config = tiny_config(num_replicas=2)
    setup = make_setup(config, len(images))
    state = create_state(config, setup, images.mean(axis=0), len(images))
    assert state.data_index.shape == () and state.g_params["out"]["bias"].shape[0] == 2
    train_step = jitting.make_train_step(config, setup, len(images))
    device_images = jnp.asarray(images)
    vmapped = replicas.replicated_step(steps.make_step(config, setup, len(images)), config)
    jaxpr = str(jax.make_jaxpr(vmapped)(state, device_images))
    assert "cond[" in jaxpr
    new, metrics = train_step(state, device_images, 2)
    assert int(new.data_index) == 2 and metrics["d_loss"].shape == (2,)
    single_config = tiny_config(seed=1)
    single = create_train_state(single_config, setup, images.mean(axis=0), len(images))
    single_step = jax.jit(steps.make_step(single_config, setup, len(images)))
    for _ in range(2):
        single, _ = single_step(single, device_images)
    chex.assert_trees_all_close(replica(new, 1).g_params, single.g_params, rtol=1e-4, atol=1e-6)


def adam_config(**overrides):
    config = tiny_config(**overrides)
    config.optim = dcgan_mnist.dcgan_optim()
    return config


def test_replica_hparams_give_each_replica_its_own_optimizer(images):
    """config.replica_hparams, a small grid in one program: replica r trains with its own Adam values
    (D's learning rate, G's beta1) and is the single run of seed r with those values (to float
    tolerance), which the default values (seed 1 alone) are not. (Vmapped; the looped replicas are
    the vmapped ones: test_convolution.)"""
    from gan_jax.game.replicas import replica
    from gan_jax.game.state import create_state

    grid = {"d.learning_rate": [1e-3, 3e-4], "g.b1": [0.5, 0.9]}
    config = adam_config(num_replicas=2, replica_hparams=json.dumps(grid))
    setup = make_setup(config, len(images))
    state = create_state(config, setup, images.mean(axis=0), len(images))
    np.testing.assert_allclose(state.d_opt_state.hyperparams["learning_rate"], grid["d.learning_rate"])
    np.testing.assert_allclose(state.g_opt_state.hyperparams["b1"], grid["g.b1"])
    # G inherits D's learning rate (no g_optim.learning_rate): it follows each replica's D value
    np.testing.assert_allclose(state.g_opt_state.hyperparams["learning_rate"], grid["d.learning_rate"])
    device_images = jnp.asarray(images)
    new, metrics = jitting.make_train_step(config, setup, len(images))(state, device_images, 3)
    np.testing.assert_allclose(metrics["lr"], grid["d.learning_rate"], rtol=1e-6)  # logged per replica

    def single_run(seed, d_lr=None, g_b1=None):
        single = adam_config(seed=seed)
        single.optim.learning_rate = d_lr or single.optim.learning_rate  # G inherits it
        single.g_optim.b1 = g_b1
        single_setup = make_setup(single, len(images))
        s = create_train_state(single, single_setup, images.mean(axis=0), len(images))
        step = jax.jit(steps.make_step(single, single_setup, len(images)))
        for _ in range(3):
            s, _ = step(s, device_images)
        return s

    for r in range(2):
        want = single_run(r, grid["d.learning_rate"][r], grid["g.b1"][r])
        chex.assert_trees_all_close(replica(new, r).d_params, want.d_params, rtol=1e-4, atol=1e-6)
        chex.assert_trees_all_close(replica(new, r).g_params, want.g_params, rtol=1e-4, atol=1e-6)
    default = single_run(1)
    moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), replica(new, 1).d_params, default.d_params)
    assert max(jax.tree.leaves(moved)) > 1e-4


@pytest.mark.parametrize(
    "optim,grid,message",
    [
        (
            "paper_sgd",
            {"d.learning_rate": [0.1, 0.2]},
            "not a per-replica value of D's optimizer 'paper_sgd'",
        ),
        ("adam", {"d.momentum": [0.1, 0.2]}, "not a per-replica value of D's optimizer 'adam'"),
        ("adam", {"lr": [0.1, 0.2]}, "'lr' must be 'd.<name>' or 'g.<name>'"),
        ("adam", {"g.b2": [0.9]}, "'g.b2' needs a list of num_replicas=2 numbers"),
        ("adam", {"g.b2": [0.9, "x"]}, "'g.b2' needs a list of num_replicas=2 numbers"),
        ("adam", [1], "must be a JSON object"),
    ],
)
def test_replica_hparams_refusals_are_one_line(optim, grid, message):

    config = adam_config(num_replicas=2, replica_hparams=json.dumps(grid))
    if optim == "paper_sgd":
        config.optim = tiny_config().optim
    with pytest.raises(ValueError, match=message) as info:
        validation.validate(config)
    assert "\n" not in str(info.value)


def test_a_diverging_replica_is_frozen_while_the_others_train_on(images):
    """config.on_nonfinite='freeze': replica 1 (learning rate 1e30) turns non-finite at step 2 and keeps
    its state after step 1 (finite) while replica 0 is its seed's single run; 'stop' (the default) lets
    the NaNs in (the loop then stops the run)."""
    from gan_jax.game.replicas import replica
    from gan_jax.game.state import create_state

    grid = json.dumps({"d.learning_rate": [2e-4, 1e30]})
    device_images = jnp.asarray(images)
    ends = {}
    for policy in ("freeze", "stop"):
        config = adam_config(num_replicas=2, replica_hparams=grid, on_nonfinite=policy)
        setup = make_setup(config, len(images))
        state = create_state(config, setup, images.mean(axis=0), len(images))
        train_step = jitting.make_train_step(config, setup, len(images))
        one, _ = train_step(state, device_images, 1)
        after_one = jax.tree.map(jnp.copy, one)  # the step donates its state
        for _ in range(3):
            one, _ = train_step(one, device_images, 1)
        ends[policy] = one
    frozen, stopped = ends["freeze"], ends["stop"]
    assert frozen.nonfinite_step.tolist() == stopped.nonfinite_step.tolist() == [-1, 2]
    assert frozen.step.tolist() == [4, 4] and int(frozen.data_index) == 4
    chex.assert_trees_all_equal(replica(frozen, 1).d_params, replica(after_one, 1).d_params)
    chex.assert_trees_all_equal(replica(frozen, 1).g_opt_state, replica(after_one, 1).g_opt_state)
    chex.assert_trees_all_equal(replica(frozen, 0), replica(stopped, 0))
    assert not all(np.isfinite(x).all() for x in jax.tree.leaves(replica(stopped, 1).d_params))
