"""benchmarks/torch_reference.py against gan_jax: same parameters, minibatches and noise, dropout off
(keep = 1), so the JAX step and the torch eager step must produce the same losses and updates up to
float32 rounding. torch (CPU) is in the test extra: the comparison runs in CI, never skipped."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from conftest import tiny_config

from benchmarks import torch_reference as ref
from experiments.configs import paper_mnist
from gan_jax.data import batches
from gan_jax.game import steps
from gan_jax.game.optimizers import hyperparams, paper_optimizer
from gan_jax.game.state import DATA_STREAM, create_train_state, make_setup
from gan_jax.networks import latent, models

TOL = 2e-4  # max |torch update - JAX update| / max |JAX update|, per parameter array
G_SHAPES = [(1200, 100), (1200,), (1200, 1200), (1200,), (784, 1200), (784,)]  # torch's [out, in]
D_SHAPES = [(1200, 784), (1200,), (1200, 240), (1200,), (1, 240), (1,)]


def no_dropout_config(**overrides):
    """The paper model's sizes (tiny_config shrinks them back) with dropout off and, as in
    test_steps.py, a larger init so that the updates stand far above float32 rounding of the params."""
    config = tiny_config(**overrides)
    config.model = paper_mnist.get_config().model
    config.model.d_input_keep = config.model.d_hidden_keep = 1.0
    config.model.g_init_scale, config.model.d_init_scale = 0.1, 0.05
    return config


def real_batch(state, counter, images, batch):
    key = jax.random.fold_in(state.rng, DATA_STREAM)
    epoch = counter // (len(images) // batch)
    perm = batches.epoch_permutation(key, epoch, len(images))
    _, idx = batches.next_batch_indices(key, perm, counter, len(images), batch)
    return np.asarray(images)[np.asarray(idx)]


def noise(key, config):
    return np.asarray(latent.sample_noise(key, config.batch_size, config.model.z_dim))


def step_inputs(state, config, images):
    """What gan_jax's step draws at ``state``: (x_real, z) for 'simultaneous'; ([x_real_i], [z_i]) of
    the k D updates and [z_j] of the G updates for 'alternating'."""
    key = steps.step_key(state)
    counter = int(state.data_index)
    if config.update_scheme == "simultaneous":
        k_z, _, _ = jax.random.split(key, 3)
        return real_batch(state, counter, images, config.batch_size), noise(k_z, config)
    d_keys, g_keys = steps.player_keys(key, config.d_steps, config.g_steps)
    x_reals = [real_batch(state, counter + i, images, config.batch_size) for i in range(config.d_steps)]
    d_zs = [noise(jax.random.split(k, 3)[0], config) for k in d_keys]
    g_zs = [noise(jax.random.split(k)[0], config) for k in g_keys]
    return x_reals, d_zs, g_zs


def to_torch(x):
    return [to_torch(a) for a in x] if isinstance(x, list | tuple) else torch.tensor(x)


def initial_state(config, images):
    """gan_jax's initial train state, built under one jit (bit-identical to the eager build, faster)."""
    setup = make_setup(config, len(images))
    return jax.jit(lambda: create_train_state(config, setup, images.mean(axis=0), len(images)))()


def run_jax(config, images, start, num_steps):
    """(start, final state, [inputs of each step], [metrics of each step]) of the jitted step."""
    step = jax.jit(steps.make_step(config, make_setup(config, len(images)), len(images)))
    state, inputs, metrics = start, [], []
    for _ in range(num_steps):
        inputs.append(step_inputs(state, config, images))
        state, m = step(state, jnp.asarray(images))
        metrics.append(jax.device_get(m))
    return start, state, inputs, metrics


def run_torch(config, images, start, inputs, **overrides):
    """The torch reference from the JAX initial parameters on the same inputs: (gan, [losses])."""
    config = config.copy_and_resolve_references()
    for key, value in overrides.items():
        config[key] = value
    gan = ref.build(config, images, "cpu", g_params=start.g_params, d_params=start.d_params)
    update = ref.simultaneous_update if config.update_scheme == "simultaneous" else ref.alternating_update
    losses = [jax.tree.map(float, update(gan, *to_torch(args))) for args in inputs]
    return gan, losses


def relative_error(module, jax_params, start):
    """max over arrays of max |delta_torch - delta_jax| / max |delta_jax|, deltas from ``start``, and
    the smallest max |delta_jax| (to show the update is not lost in float32 rounding)."""
    errs, scales = [], []
    leaves = (jax.tree.leaves(p) for p in (ref.flax_params(module), jax_params, start))
    for t, j, s in zip(*leaves, strict=True):
        dj = np.asarray(j, np.float64) - np.asarray(s, np.float64)
        dt = np.asarray(t, np.float64) - np.asarray(s, np.float64)
        scales.append(np.abs(dj).max())
        errs.append(np.abs(dt - dj).max() / scales[-1])
    return max(errs), min(scales)


def assert_same_run(jax_run, torch_run):
    start, end, _, metrics = jax_run
    gan, losses = torch_run
    for m, loss in zip(metrics, losses, strict=True):
        np.testing.assert_allclose([loss["d_loss"], loss["g_loss"]], [m["d_loss"], m["g_loss"]], rtol=1e-5)
    (g_err, g_scale), (d_err, d_scale) = (
        relative_error(gan.generator, end.g_params, start.g_params),
        relative_error(gan.discriminator, end.d_params, start.d_params),
    )
    assert min(g_scale, d_scale) > 1e-5
    assert g_err < TOL and d_err < TOL, (g_err, d_err)


@pytest.fixture(scope="module")
def start(images):
    """The initial state of the no-dropout config, shared: the update scheme does not change it."""
    return initial_state(no_dropout_config(), images)


@pytest.fixture(scope="module")
def simultaneous_run(images, start):
    """Three simultaneous steps (momentum acts from the second), shared by the tests below."""
    config = no_dropout_config()
    return config, run_jax(config, images, start, 3)


def test_initial_parameters_and_forward_passes_agree(images, start):
    config = no_dropout_config()
    gan = ref.build(config, images, "cpu", g_params=start.g_params, d_params=start.d_params)
    for params, module in ((start.g_params, gan.generator), (start.d_params, gan.discriminator)):
        jax.tree.map(np.testing.assert_array_equal, ref.flax_params(module), jax.device_get(params))
    g, d = models.build_models(config)
    z = noise(jax.random.PRNGKey(1), config)
    x = np.asarray(g.apply({"params": start.g_params}, z))
    with torch.no_grad():
        np.testing.assert_allclose(gan.generator(torch.tensor(z)).numpy(), x, atol=1e-6)
        logits = np.asarray(d.apply({"params": start.d_params}, x, train=False))
        np.testing.assert_allclose(gan.discriminator(torch.tensor(x)).numpy(), logits, rtol=1e-4, atol=1e-6)


def test_fresh_init_matches_the_paper_model(images):
    gan = ref.build(paper_mnist.get_config(), images, "cpu")
    g, d = gan.generator.requires_grad_(False), gan.discriminator.requires_grad_(False)
    assert [tuple(p.shape) for p in g.parameters()] == G_SHAPES
    assert [tuple(p.shape) for p in d.parameters()] == D_SHAPES
    assert 0.049 < float(g.hidden[1].weight.abs().max()) <= 0.05
    assert 0.0049 < float(d.maxout[0].weight.abs().max()) <= 0.005
    assert float(d.maxout[0].bias.abs().max()) == 0.0
    np.testing.assert_allclose(g.out.bias.numpy(), models.marginal_logit(images.mean(axis=0)), atol=1e-5)
    assert (d.input_drop, d.hidden_drop) == pytest.approx((0.2, 0.5))


# float32's unit roundoff: one rounding of a float32 operation is off by at most this, relatively
U32 = float(np.finfo(np.float32).eps) / 2


def lr_rtol(t, optim):
    """The relative error of gan_jax's lr_t against the exact value. paper_optimizer takes
    log(decay) in float64 and computes lr_0 * exp(-log(decay) t) in float32: log(decay) rounds to
    float32 (U32) and so does its product with t (U32, t < 2^24 is exact), an absolute error of
    2 U32 x in the exponent x = log(decay) t, which exp carries as 2 U32 x relative; exp itself adds
    at most 1 ulp (2 U32), lr_0's rounding and the product with it one U32 each. The float64 reference
    is within 1e-9 relative of exact here. A float32 1 / decay^t instead drifts by ~7e-9 t (see below)."""
    return (2 * math.log(optim.lr_decay) * t + 4) * U32


def jax_schedules(optim, t):
    """lr_t and mu_t that gan_jax's optax state reports at update t."""
    tx, params = paper_optimizer(optim, 500), {"w": jnp.zeros(2)}
    opt_state = tx.init(params)
    counts = jax.tree.map(lambda _: jnp.asarray(t, jnp.int32), opt_state.hyperparams_states)
    _, new = tx.update(params, opt_state._replace(hyperparams_states=counts), params)
    h = hyperparams(new)
    return float(h["learning_rate"]), float(h["momentum"])


# t = 2.8M: the largest exponent (~11.2) before lr_t reaches min_lr (at t ~ 2.88M), so the largest rtol
@pytest.mark.parametrize("t", [0, 1, 499, 500, 10_000, 125_000, 2_800_000, 3_500_000])
def test_schedules_match_optax(t):
    """lr_t and mu_t of the hand-written optimizer (exact, in float64) equal gan_jax's to float32
    rounding: lr_rtol(t) for lr_t; mu_t = mu_0 + alpha (mu_1 - mu_0) is a few float32 roundings of
    numbers in [0, 1] with mu_t >= mu_0 = 0.5, within 4 U32."""
    optim = paper_mnist.get_config().optim
    lr, momentum = jax_schedules(optim, t)
    np.testing.assert_allclose(lr, ref.paper_learning_rate(t, optim), rtol=lr_rtol(t, optim), atol=0)
    np.testing.assert_allclose(momentum, ref.paper_momentum(t, optim, 500), rtol=4 * U32, atol=0)


def test_the_lr_tolerance_sees_a_float32_power():
    """Negative control: lr_0 * (1 / decay)^t computed in float32 (its base rounded once) is outside
    lr_rtol from t = 500 on, so the bound tells gan_jax's float64 log(decay) from it."""
    optim = paper_mnist.get_config().optim
    for t in (500, 125_000):
        power = np.float32(optim.learning_rate) * np.float32(1 / optim.lr_decay) ** np.float32(t)
        exact = ref.paper_learning_rate(t, optim)
        assert abs(float(power) - exact) / exact > 10 * lr_rtol(t, optim), t


def test_simultaneous_steps_match(images, simultaneous_run):
    """Same losses at every step and the same parameter displacement after three steps."""
    config, jax_run = simultaneous_run
    start, _, inputs, _ = jax_run
    assert_same_run(jax_run, run_torch(config, images, start, inputs))


def test_the_comparison_detects_a_wrong_d_loss_scale(images, simultaneous_run):
    """Negative control: with torch's D loss unscaled (1 instead of 0.5) D's displacement is off by
    about its own size."""
    config, (start, end, inputs, _) = simultaneous_run
    gan, _ = run_torch(config, images, start, inputs, d_loss_scale=1.0)
    d_err, _ = relative_error(gan.discriminator, end.d_params, start.d_params)
    assert d_err > 0.5, d_err


def test_alternating_steps_match(images, start):
    """Two iterations of k = 2 D updates then a G update through the updated D."""
    config = no_dropout_config(update_scheme="alternating", d_steps=2)
    jax_run = run_jax(config, images, start, 2)
    assert_same_run(jax_run, run_torch(config, images, start, jax_run[2]))


def test_torch_dcgan28_has_gan_jax_parameter_shapes_and_takes_a_finite_step():
    """benchmarks/torch_dcgan.py (bench_dcgan.py's reference): every parameter array of gan_jax's
    dcgan28 G and D, in torch's layouts, and one alternating step that changes both."""
    from benchmarks import torch_dcgan
    from experiments.configs import dcgan_mnist

    config = dcgan_mnist.get_config()
    setup = make_setup(config, 64)
    # the shapes alone: eval_shape traces the init without running it
    state = jax.eval_shape(lambda: create_train_state(config, setup, np.zeros(784, np.float32), 64))
    gan = torch_dcgan.TorchDCGAN(np.random.default_rng(0).uniform(size=(128, 784)).astype(np.float32))

    def sizes(tree):
        return sorted(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))

    for flax_params, module in ((state.g_params, gan.g), (state.d_params, gan.d)):
        assert sizes(flax_params) == sorted(p.numel() for p in module.parameters())
    before = [p.detach().clone() for p in (*gan.g.parameters(), *gan.d.parameters())]
    metrics = torch_dcgan.step(gan)
    assert np.isfinite(float(metrics["d_loss"])) and np.isfinite(float(metrics["g_loss"]))
    after = list((*gan.g.parameters(), *gan.d.parameters()))
    assert all(not torch.equal(b, a) for b, a in zip(before, after, strict=True))
