"""The penalties and loss variants inside one jitted train step, checked by value against float64 numpy.

A tiny ReLU MLP pair (no dropout, no state) on 2-D data, so every pass of the step can be redone here
from the parameters alone: D's logits and its input gradient analytically, gradients with respect to
parameters by central differences. The paper's SGD makes D's first update exactly -lr * grad (the
momentum trace starts at zero), so two runs from one state that differ only in an option differ in D's
parameters by -lr times the gradient of that option's term, and in the ``d_loss`` metric by its value.

The step's inputs are redrawn as the step documents them: keys ``fold_in(fold_in(rng, STEP_STREAM),
step)`` (alternating: D sub-step i from ``split(fold_in(key, 0), k)[i]``, G sub-step j from
``split(fold_in(key, 1), n)[j]``), split into (z, real dropout, fake dropout) for D and (z, dropout) for
G; the penalties' key ``fold_in(key, PENALTY_KEY)``; minibatch ``c`` from ``batches.next_batch_indices``.

Each case also names wrong implementations (a weight applied twice, gamma for gamma / 2, smoothing on
the fake side, another real batch, ...) and asserts that the step does NOT match them, so each test is
shown to be able to fail.
"""

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from experiments.configs import paper_mnist, ring
from gan_jax.data import batches
from gan_jax.game import state as state_lib
from gan_jax.game import steps, updates
from gan_jax.game.state import DATA_STREAM
from gan_jax.networks import latent

NUM_TRAIN, BATCH, DIM, Z_DIM = 64, 16, 2, 2
LR = 0.1  # the paper SGD's lr at update 0
D_SCALE = 0.5  # d_loss_scale: the 2014 code's average of the real and fake terms
FD_STEP = 1e-7
KINK_MARGIN = 1e-5  # no ReLU input within this of 0 at the points differentiated: FD sees no kink


# ------------------------------------------------------------------------------ float64 references


def layers(params) -> list[tuple[np.ndarray, np.ndarray]]:
    """An MLP's (kernel, bias) pairs in order (Dense_0, Dense_1, ..., out), in float64."""
    names = sorted((k for k in params if k.startswith("Dense_")), key=lambda k: int(k.split("_")[1]))
    return [
        (np.asarray(params[k]["kernel"], np.float64), np.asarray(params[k]["bias"], np.float64))
        for k in [*names, "out"]
    ]


def hidden_pass(theta, x):
    """The ReLU masks and the pre-activations' smallest |value| of a hidden stack; its output."""
    h, masks, margin = x, [], np.inf
    for w, b in theta[:-1]:
        a = h @ w + b
        masks.append(a > 0)
        margin = min(margin, float(np.abs(a).min()))
        h = np.maximum(a, 0.0)
    return h, masks, margin


def d_logits(theta, x):
    h, _, _ = hidden_pass(theta, x)
    w, b = theta[-1]
    return (h @ w + b)[:, 0]


def d_input_grad(theta, x):
    """grad_x l(x_i) per example [B, D]: w_out^T M_L W_L^T ... M_1 W_1^T (M the ReLU masks)."""
    _, masks, margin = hidden_pass(theta, x)
    assert margin > KINK_MARGIN, "a ReLU sits on its kink: redraw the data"
    g = np.broadcast_to(theta[-1][0][:, 0], masks[-1].shape)
    for (w, _), m in zip(reversed(theta[:-1]), reversed(masks), strict=True):
        g = (g * m) @ w.T
    return g


def generate(theta, z):
    h, _, margin = hidden_pass(theta, z)
    assert margin > KINK_MARGIN, "a ReLU of G sits on its kink"
    w, b = theta[-1]
    return h @ w + b


def fd_grad(f, theta):
    """Central differences of the scalar f(theta) with respect to every entry of theta."""
    grads = []
    for w, b in theta:
        pair = []
        for arr in (w, b):
            g = np.zeros_like(arr)
            for i in np.ndindex(arr.shape):
                old = arr[i]
                arr[i] = old + FD_STEP
                up = f(theta)
                arr[i] = old - FD_STEP
                down = f(theta)
                arr[i] = old
                g[i] = (up - down) / (2 * FD_STEP)
            pair.append(g)
        grads.append(tuple(pair))
    return grads


def softplus(x):
    return np.logaddexp(0.0, x)


def sq_norms(theta, x):
    return np.sum(d_input_grad(theta, x) ** 2, axis=1)


def norm_penalty(theta, x, target=1.0, one_sided=False):
    gap = np.sqrt(sq_norms(theta, x)) - target
    return np.mean(np.maximum(gap, 0.0) ** 2 if one_sided else gap**2)


def ras_d(real, fake):
    """RaSGAN's D loss (Jolicoeur-Martineau 2018): real judged against the mean fake and vice versa."""
    return np.mean(softplus(np.mean(fake) - real)) + np.mean(softplus(fake - np.mean(real)))


def ras_g(real, fake):
    return ras_d(fake, real)


# ------------------------------------------------------------------------------------- the runs


@functools.cache
def images():
    rng = np.random.default_rng(3)
    return (rng.normal(size=(NUM_TRAIN, DIM)) * [1.5, 0.7] + [0.4, -0.3]).astype(np.float32)


def make_config(game, scheme, reg, order="d_first", d_steps=1):
    c = ring.get_config()
    c.game, c.update_scheme, c.order, c.d_steps, c.g_steps = game, scheme, order, d_steps, 1
    c.d_loss_scale, c.batch_size = D_SCALE, BATCH
    c.model.z_dim, c.model.data_dim, c.model.g_hidden, c.model.d_hidden = Z_DIM, DIM, (8,), (8, 8)
    c.optim = ml_collections.ConfigDict(paper_mnist.get_config().optim.to_dict())
    assert c.optim.learning_rate == LR
    for key, value in reg:
        c.reg[key] = value
    return c


@functools.cache
def run(game="nonsaturating", scheme="simultaneous", reg=(), order="d_first", d_steps=1):
    """(initial state, state after one jitted step, metrics) on the host; ``reg`` (name, value) pairs."""
    config = make_config(game, scheme, reg, order, d_steps)
    setup = state_lib.make_setup(config, NUM_TRAIN)
    state = state_lib.create_train_state(config, setup, images().mean(axis=0), NUM_TRAIN)
    assert state.d_state is None and state.g_state is None  # no dropout, batch norm or spectral norm
    new, metrics = jax.jit(steps.make_step(config, setup, NUM_TRAIN))(state, jnp.asarray(images()))
    return jax.device_get(state), jax.device_get(new), {k: float(v) for k, v in metrics.items()}


def d_sub_key(state, scheme, i=0, k=1):
    key = updates.step_key(state)
    return steps.player_keys(key, k, 1)[0][i] if scheme == "alternating" else key


def g_sub_z(state, j=0, n=1):
    """z of alternating G sub-step j."""
    k_z, _ = jax.random.split(steps.player_keys(updates.step_key(state), 1, n)[1][j])
    return np.asarray(latent.sample_noise(k_z, BATCH, Z_DIM), np.float64)


def real_batch(state, counter):
    key = jax.random.fold_in(state.rng, DATA_STREAM)
    _, idx = batches.next_batch_indices(key, jnp.asarray(state.data_perm), counter, NUM_TRAIN, BATCH)
    return images()[np.asarray(idx)].astype(np.float64)


def d_inputs(state, scheme, i=0, k=1):
    """What D sub-step i sees: its real minibatch, G's fakes of its z, the penalties' random draws."""
    key = d_sub_key(state, scheme, i, k)
    k_z, _, _ = jax.random.split(key, 3)
    k_pen, _ = jax.random.split(updates.penalty_key(key))  # (penalties, their dropout)
    k_gp, k_dragan = jax.random.split(k_pen)
    k_noise, k_alpha = jax.random.split(k_dragan)
    z = np.asarray(latent.sample_noise(k_z, BATCH, Z_DIM), np.float64)

    def uniform(key, shape):
        return np.asarray(jax.random.uniform(key, shape), np.float64)

    return {
        "x_real": real_batch(state, state.data_index + i),
        "x_fake": generate(layers(state.g_params), z),
        "eps": uniform(k_gp, (BATCH, 1)),  # WGAN-GP: x_hat = eps x + (1 - eps) x_fake
        "u": uniform(k_noise, (BATCH, DIM)),  # DRAGAN: delta = 0.5 std(x) u
        "alpha": uniform(k_alpha, (BATCH, 1)),  # DRAGAN: x_hat = x + alpha delta
    }


def interpolates(v, eps=None):
    eps = v["eps"] if eps is None else eps
    return eps * v["x_real"] + (1 - eps) * v["x_fake"]


def gp(theta, v, target=1.0, one_sided=False, eps=None):
    return norm_penalty(theta, interpolates(v, eps), target, one_sided)


def dragan(theta, v, alpha=None):
    alpha = v["alpha"] if alpha is None else alpha
    return norm_penalty(theta, v["x_real"] + alpha * 0.5 * np.std(v["x_real"]) * v["u"])


def r1(theta, v):
    return np.mean(sq_norms(theta, v["x_real"]))


def r2(theta, v):
    return np.mean(sq_norms(theta, v["x_fake"]))


def max_rel_error(got, want, scale=None):
    """max |got - want| / max |scale| over the (kernel, bias) lists (``scale`` defaults to ``want``)."""
    err = max(
        float(np.abs(np.asarray(a) - b).max())
        for ga, wa in zip(got, want, strict=True)
        for a, b in zip(ga, wa, strict=True)
    )
    top = max(float(np.abs(b).max()) for wa in (want if scale is None else scale) for b in wa)
    assert top > 1e-3, "the expected update is too small to test"
    return err / top


def update_diff(new_a, new_b):
    """D's parameters after run A minus after run B, as (kernel, bias) pairs."""
    return [(wa - wb, ba - bb) for (wa, ba), (wb, bb) in zip(layers(new_a), layers(new_b), strict=True)]


def scaled(grads, c):
    return [(c * gw, c * gb) for gw, gb in grads]


# -------------------------------------------------------------------------------------- penalties

# (id, game, scheme, reg of run A, reg of run B, reference of penalty_A - penalty_B, wrong references)
# Every wrong reference is a plausible mistake in the library; the step must not agree with it.
PENALTY_CASES = [
    (
        "gp_weight",
        "nonsaturating",
        "simultaneous",
        (("gp_weight", 10.0),),
        (),
        lambda t, v: 10.0 * gp(t, v),
        {
            "weight applied twice": lambda t, v: 100.0 * gp(t, v),
            "weight ignored": lambda t, v: gp(t, v),
            "interpolation with 1 - eps": lambda t, v: 10.0 * gp(t, v, eps=1 - v["eps"]),
            "squared norm, no sqrt": lambda t, v: 10.0 * np.mean((sq_norms(t, interpolates(v)) - 1) ** 2),
        },
    ),
    (
        "gp_one_sided_wasserstein",  # linear in the weight: lambda 10 minus lambda 4 is 6 penalties
        "wasserstein",
        "simultaneous",
        (("gp_weight", 10.0), ("gp_target", 0.2), ("gp_one_sided", True)),
        (("gp_weight", 4.0), ("gp_target", 0.2), ("gp_one_sided", True)),
        lambda t, v: 6.0 * gp(t, v, 0.2, True),
        {
            "two-sided": lambda t, v: 6.0 * gp(t, v, 0.2, False),
            "target ignored": lambda t, v: 6.0 * gp(t, v, 1.0, True),
            "weight squared": lambda t, v: 84.0 * gp(t, v, 0.2, True),
        },
    ),
    (
        "dragan",
        "nonsaturating",
        "simultaneous",
        (("dragan_weight", 10.0),),
        (),
        lambda t, v: 10.0 * dragan(t, v),
        {
            "weight applied twice": lambda t, v: 100.0 * dragan(t, v),
            "no perturbation": lambda t, v: 10.0 * dragan(t, v, alpha=0.0),
            "full perturbation, no alpha": lambda t, v: 10.0 * dragan(t, v, alpha=1.0),
            "around the fakes": lambda t, v: 10.0 * dragan(t, v | {"x_real": v["x_fake"]}),
        },
    ),
    (
        # (gamma_1 / 2) R1 + (gamma_2 / 2) R2 on the D sub-step's real batch and fakes; lazy (reg_every = 3)
        # they apply at step 0, scaled by 3
        "r1_r2_lazy_alternating",
        "nonsaturating",
        "alternating",
        (("r1_gamma", 2.0), ("r2_gamma", 4.0), ("reg_every", 3)),
        (),
        lambda t, v: 3.0 * (1.0 * r1(t, v) + 2.0 * r2(t, v)),
        {
            "gamma, not gamma / 2": lambda t, v: 3.0 * (2.0 * r1(t, v) + 4.0 * r2(t, v)),
            "no lazy scale": lambda t, v: 1.0 * r1(t, v) + 2.0 * r2(t, v),
            "R2 replaces R1": lambda t, v: 3.0 * 2.0 * r2(t, v),
            "R2 on the real batch": lambda t, v: 3.0 * (1.0 * r1(t, v) + 2.0 * r1(t, v)),
            "R1 on the fakes": lambda t, v: 3.0 * (1.0 * r2(t, v) + 2.0 * r2(t, v)),
            "gammas swapped": lambda t, v: 3.0 * (2.0 * r1(t, v) + 1.0 * r2(t, v)),
        },
    ),
]


@pytest.mark.parametrize(
    "game, scheme, reg_a, reg_b, reference, wrongs",
    [c[1:] for c in PENALTY_CASES],
    ids=[c[0] for c in PENALTY_CASES],
)
def test_penalty_enters_d_loss_and_update_with_its_weight(game, scheme, reg_a, reg_b, reference, wrongs):
    """Run A minus run B: ``d_loss`` by d_loss_scale times the penalty difference at the initial D (a
    penalty weighs its lambda or gamma / 2 against the game's unscaled D loss), D's parameters by -lr
    times its gradient (float64 central differences through the analytic input gradient); with
    simultaneous updates G's update is the same (the penalties are D's alone)."""
    state, new_a, metrics_a = run(game, scheme, reg_a)
    _, new_b, metrics_b = run(game, scheme, reg_b)
    v, theta = d_inputs(state, scheme), layers(state.d_params)

    want = D_SCALE * reference(theta, v)
    got = metrics_a["d_loss"] - metrics_b["d_loss"]
    assert abs(want) > 0.01
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-5)
    diff = update_diff(new_a.d_params, new_b.d_params)
    expected = scaled(fd_grad(lambda t: reference(t, v), theta), -LR * D_SCALE)
    assert max_rel_error(diff, expected) < 1e-4
    wrongs = {name: lambda t, v, w=wrong: D_SCALE * w(t, v) for name, wrong in wrongs.items()}
    wrongs["penalty added after d_loss_scale"] = reference
    for name, wrong in wrongs.items():
        value_off = abs(got - wrong(theta, v)) > 1e-2 * abs(want)
        wrong_update = scaled(fd_grad(lambda t, w=wrong: w(t, v), theta), -LR)
        update_off = max_rel_error(diff, wrong_update, scale=expected) > 1e-2
        assert value_off and update_off, f"the step also matches the wrong reference: {name}"
    if scheme == "simultaneous":  # (alternating: G steps through the two different updated Ds)
        for a, b in zip(layers(new_a.g_params), layers(new_b.g_params), strict=True):
            np.testing.assert_allclose(a[0], b[0], rtol=1e-6, atol=1e-7)


# -------------------------------------------------------------------------------- label smoothing


def test_label_smoothing_by_value_on_the_step_logits():
    """One-sided smoothing (Salimans et al. 2016), alpha = 0.2: ``d_loss`` = d_loss_scale * (E[(1 - a)
    softplus(-l_real) + a softplus(l_real)] + E[softplus(l_fake)]) on the step's logits; the smoothed
    loss minus the plain one is d_loss_scale * a * E[l_real] (softplus(l) - softplus(-l) = l), so D's
    update moves by -lr times its gradient; G's update is unchanged."""
    alpha = 0.2
    state, new_a, metrics_a = run(reg=(("label_smoothing", alpha),))
    _, new_b, _ = run()
    v, theta = d_inputs(state, "simultaneous"), layers(state.d_params)
    real, fake = d_logits(theta, v["x_real"]), d_logits(theta, v["x_fake"])

    def smoothed(real_weight, fake_weight):
        """d_loss_scale * (E[(1 - a) sp(-l) + a sp(l)] over real with a = real_weight, same over fake
        with the fake target smoothed by fake_weight)."""
        r = (1 - real_weight) * softplus(-real) + real_weight * softplus(real)
        f = (1 - fake_weight) * softplus(fake) + fake_weight * softplus(-fake)
        return D_SCALE * (np.mean(r) + np.mean(f))

    got = metrics_a["d_loss"]
    np.testing.assert_allclose(got, smoothed(alpha, 0.0), rtol=1e-6)
    wrongs = {
        "no smoothing": smoothed(0.0, 0.0),
        "smoothing on the fake side": smoothed(0.0, alpha),
        "two-sided": smoothed(alpha, alpha),
        "d_loss_scale dropped": smoothed(alpha, 0.0) / D_SCALE,
    }
    for name, wrong in wrongs.items():
        assert abs(got - wrong) > 1e-3, f"d_loss also matches: {name}"

    def mean_real_logit(t):
        return np.mean(d_logits(t, v["x_real"]))

    expected = scaled(fd_grad(mean_real_logit, theta), -LR * D_SCALE * alpha)
    assert max_rel_error(update_diff(new_a.d_params, new_b.d_params), expected) < 1e-4
    for a, b in zip(layers(new_a.g_params), layers(new_b.g_params), strict=True):
        np.testing.assert_allclose(a[0], b[0], rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------------------------------- RaSGAN


def test_rasgan_g_loss_uses_the_last_d_sub_steps_real_batch():
    """Alternating, k = 2 D steps then G: G's RaSGAN loss runs D, as updated by both D steps, on the
    second D step's minibatch (number 1) and on G(z) of the G sub-step's z; G's update is -lr times its
    gradient (central differences over G's parameters through the float64 G and D)."""
    state, new, metrics = run("relativistic_average", "alternating", d_steps=2)
    d_new, g_old = layers(new.d_params), layers(state.g_params)
    z = g_sub_z(state)

    def g_loss(g_theta, d_theta=d_new, x_real=None):
        x_real = real_batch(state, 1) if x_real is None else x_real
        return ras_g(d_logits(d_theta, x_real), d_logits(d_theta, generate(g_theta, z)))

    assert int(new.data_index) == 2
    got = metrics["g_loss"]
    np.testing.assert_allclose(got, g_loss(g_old), rtol=1e-5)
    wrongs = {
        "the first D step's minibatch": g_loss(g_old, x_real=real_batch(state, 0)),
        "the next step's minibatch": g_loss(g_old, x_real=real_batch(state, 2)),
        "the D before its update": g_loss(g_old, d_theta=layers(state.d_params)),
    }
    for name, wrong in wrongs.items():
        assert abs(got - wrong) > 1e-3, f"g_loss also matches: {name}"
    expected = scaled(fd_grad(g_loss, g_old), -LR)
    g_update = [(wn - wo, bn - bo) for (wn, bn), (wo, bo) in zip(layers(new.g_params), g_old, strict=True)]
    assert max_rel_error(g_update, expected) < 1e-4


def test_g_first_rasgan_g_reads_the_batch_that_d_then_takes():
    """order='g_first', k = 1: G steps first through the old D with the real minibatch number 0 (RaSGAN's
    G needs one) without consuming it; D's step then takes that same minibatch, against G's updated
    fakes: both losses by value on minibatch 0, neither on minibatch 1."""
    state, new, metrics = run("relativistic_average", "alternating", order="g_first")
    d_old = layers(state.d_params)
    z_g = g_sub_z(state)
    key = d_sub_key(state, "alternating")
    z_d = np.asarray(latent.sample_noise(jax.random.split(key, 3)[0], BATCH, Z_DIM), np.float64)

    def g_loss(x_real):
        return ras_g(d_logits(d_old, x_real), d_logits(d_old, generate(layers(state.g_params), z_g)))

    def d_loss(x_real):
        return D_SCALE * ras_d(d_logits(d_old, x_real), d_logits(d_old, generate(layers(new.g_params), z_d)))

    assert int(new.data_index) == 1
    first, second = real_batch(state, 0), real_batch(state, 1)
    np.testing.assert_allclose(metrics["g_loss"], g_loss(first), rtol=1e-5)
    np.testing.assert_allclose(metrics["d_loss"], d_loss(first), rtol=1e-5)
    # wrong: G on the minibatch after D's (a batch consumed ahead), or D on one G did not see
    assert abs(metrics["g_loss"] - g_loss(second)) > 1e-3
    assert abs(metrics["d_loss"] - d_loss(second)) > 1e-3
