"""GMMN and MMD-GAN in the one train state (gan_jax/game/moment_matching.py): one GMMN step against SGD on
the gradient of a float64 numpy MMD (central finite differences), no D entries anywhere, GMMN's and
RMSprop's optimizers against hand-computed updates, the one-line refusals, a tiny run stopped and
resumed equal to the straight one, then sampled and evaluated; one MMD-GAN step's losses against the
float64 formula on its D's features, and the objective's gradient against finite differences."""

import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_mmd import numpy_mmd2

from experiments.configs import gmmn_ae_mnist, gmmn_mnist, gmmn_ring, mmd_gan_mnist, ring
from gan_jax import config as config_lib
from gan_jax.errors import ConfigError
from gan_jax.game import games, mmd, moment_matching, optimizers, steps, updates
from gan_jax.game.state import create_train_state, make_setup
from gan_jax.training import evaluation, train, validation

SIGMAS = (0.5, 2.0)


def tiny_gmmn(**changes):
    c = gmmn_ring.get_config()
    c.model.g_hidden, c.model.z_dim = (3,), 2
    c.batch_size = 4
    c.mmd.sigmas = SIGMAS
    c.optim = config_lib.optim_config("step_sgd")
    c.optim.learning_rate = 0.1
    for key, value in changes.items():
        c[key] = value
    return c


def numpy_g(theta, z):
    """The 'mlp' G of one hidden ReLU layer and a linear output, in float64."""
    h = np.maximum(z @ theta["Dense_0"]["kernel"] + theta["Dense_0"]["bias"], 0.0)
    return h @ theta["out"]["kernel"] + theta["out"]["bias"]


def test_one_gmmn_step_is_sgd_on_the_float64_mmd_gradient():
    """G's first update (momentum's trace is then the gradient) equals -lr x the central finite
    differences of sqrt(MMD^2_b(G(z), x)) computed in float64 numpy on the step's batch and z; the
    logged loss is that value; D's entries stay None and no D metric is logged."""
    config = tiny_gmmn()
    data = np.random.default_rng(0).normal(size=(20, 2)).astype(np.float32)
    setup = make_setup(config, len(data))
    state = create_train_state(config, setup, np.zeros(2, np.float32), len(data))
    ctx = updates.Context(setup, moment_matching.bind(games.get_game("gmmn"), config), config, len(data))
    _, x_real, _ = updates.real_batch(ctx, state.rng, state.data_perm, state.data_index, jnp.asarray(data))
    z = np.asarray(updates.noise(ctx, updates.step_key(state)), np.float64)
    x_real = np.asarray(x_real, np.float64)
    leaves, treedef = jax.tree.flatten(state.g_params)
    flat = np.concatenate([np.asarray(a, np.float64).ravel() for a in leaves])  # ravel_pytree's order
    cuts = np.cumsum([a.size for a in leaves])[:-1]

    def loss(v):  # float64 throughout (jax's unravel would round to float32)
        pieces = [p.reshape(a.shape) for p, a in zip(np.split(v, cuts), leaves, strict=True)]
        theta = jax.tree.unflatten(treedef, pieces)
        return np.sqrt(numpy_mmd2(numpy_g(theta, z), x_real, SIGMAS, unbiased=False))

    eps = 1e-6
    grad = np.array([(loss(flat + eps * e) - loss(flat - eps * e)) / (2 * eps) for e in np.eye(len(flat))])
    new, metrics = jax.jit(steps.make_step(config, setup, len(data)))(state, jnp.asarray(data))
    got = np.concatenate([np.ravel(a) for a in jax.tree.leaves(new.g_params)])
    np.testing.assert_allclose(got, flat - 0.1 * grad, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(metrics["g_loss"]), loss(flat), rtol=1e-5)
    assert (new.d_params, new.d_state, new.d_opt_state) == (None, None, None)
    assert not [k for k in metrics if k.startswith("d_")]
    assert int(new.step) == 1 and int(new.data_index) == 1


def test_step_sgd_changes_lr_and_momentum_at_change_at():
    """Classical momentum inc <- mu inc - lr g with (lr, mu) = (2, 0.9) for updates 0, 1 and (0.2,
    0.99) from update 2: constant gradient 1 moves a parameter by -2, -3.8, then -0.2 - 0.99 x 3.8."""
    o = config_lib.optim_config("step_sgd")
    o.change_at = 2
    tx = optimizers.make_optimizer(o, 1)
    p, state, moves = jnp.zeros(()), None, []
    state = tx.init(p)
    for _ in range(3):
        updates_, state = tx.update(jnp.ones(()), state, p)
        moves.append(float(updates_))
    np.testing.assert_allclose(moves, [-2.0, -3.8, -0.2 - 0.99 * 3.8], rtol=1e-6)


def test_rmsprop_is_pytorchs():
    """v <- 0.99 v + 0.01 g^2, step -lr g / (sqrt(v) + eps), v from 0 (torch.optim.RMSprop's defaults)."""
    o = config_lib.optim_config("rmsprop")
    tx = optimizers.make_optimizer(o, 1)
    p = jnp.zeros(())
    state, v, want, got = tx.init(p), 0.0, [], []
    for g in (1.0, -3.0):
        v = 0.99 * v + 0.01 * g * g
        want.append(-5e-5 * g / (np.sqrt(v) + 1e-8))
        u, state = tx.update(jnp.asarray(g), state, p)
        got.append(float(u))
    np.testing.assert_allclose(got, want, rtol=1e-5)


REFUSED = {
    "reg.r1_gamma": 1.0,
    "reg.clip": 0.01,
    "d_steps": 2,
    "update_scheme": "alternating",
    "pack": 2,
    "d_loss_scale": 1.0,
    "model.d_hidden": (64,),
    "model.d_features": 4,
    "replica_hparams": '{"d.learning_rate": [1e-4]}',
    "model.discriminator": "random_fourier",
    "instance_noise": 0.1,
    "g_grad_target": 0.1,
}


@pytest.mark.parametrize("field", sorted(REFUSED))
def test_gmmn_refuses_every_option_of_a_discriminator(field):
    config = tiny_gmmn()
    config.update_from_flattened_dict({field: REFUSED[field]})
    with pytest.raises(ConfigError, match="game 'gmmn' has no discriminator") as e:
        validation.validate(config)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "game,field,value,message",
    [
        ("nonsaturating", "mmd.sigmas", (1.0,), "config.mmd.sigmas is the kernel of"),
        ("nonsaturating", "model.d_features", 4, "needs D's one logit"),
        ("gmmn", "mmd.sigmas", (1.0, -1.0), "variances > 0"),
        ("gmmn", "mmd.hinge_weight", 1.0, "MMD-GAN's"),
        ("mmd_gan", "reg.clip", 0.01, "learns a feature map"),
    ],
)
def test_kernel_and_feature_refusals(game, field, value, message):
    config = gmmn_ring.get_config() if game in moment_matching.MMD_GAMES else ring.get_config()
    config.game = game
    config.update_from_flattened_dict({field: value})
    with pytest.raises(ConfigError, match=message):
        validation.validate(config)


def tiny_run(workdir, num_steps):
    c = gmmn_ring.get_config()
    c.model.g_hidden = (16, 16)
    c.update_from_flattened_dict(
        {"num_steps": num_steps, "ckpt_every": 6, "log_every": 3, "sample_every": 6, "eval_every": 0}
    )
    c.optim.learning_rate = 1e-2
    return train.train(c, str(workdir))


def rows(workdir):
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        return [{k: v for k, v in json.loads(line).items() if k != "steps_per_sec"} for line in f]


@pytest.mark.slow  # three runs, a sampling and an evaluation: ~25 s of CPU
def test_a_gmmn_run_resumed_is_the_straight_run_and_samples_and_evaluates(tmp_path):
    """Six steps, then six more in the same workdir: the 12-step run's state and metrics rows exactly;
    then --mode=sample and --mode=evaluate's functions on the workdir."""
    straight = tiny_run(tmp_path / "straight", 12)
    tiny_run(tmp_path / "resumed", 6)
    resumed = tiny_run(tmp_path / "resumed", 12)
    jax.tree.map(np.testing.assert_array_equal, resumed, straight)
    assert rows(tmp_path / "resumed") == rows(tmp_path / "straight")
    assert "g_loss" in rows(tmp_path / "straight")[-1] and "d_loss" not in rows(tmp_path / "straight")[-1]
    assert resumed.d_params is None
    [path] = evaluation.sample_workdir(str(tmp_path / "resumed"), 50)
    assert np.load(path).shape == (50, 2)
    [(_, report)] = evaluation.evaluate_workdir(str(tmp_path / "resumed"), 2_500)
    assert report["step"] == 12 and report["num_modes"] == 8


def numpy_mmd_gan(real, fake, sigmas, hinge_weight):
    """MMD-GAN's objective in float64: sqrt(relu(MMD^2_b)) + lambda mean_j relu(mean fake_j - mean real_j)."""
    m = numpy_mmd2(fake, real, sigmas, unbiased=False)
    one_sided = -np.mean(np.maximum(-(real.mean(0) - fake.mean(0)), 0.0))  # the authors' ONE_SIDED module
    return np.sqrt(max(m, 0.0)) + hinge_weight * one_sided


def tiny_mmd_gan():
    c = mmd_gan_mnist.get_config()
    c.update_scheme, c.d_steps = "simultaneous", 1  # one D and one G gradient at the same point
    c.model.data_dim, c.model.z_dim = 3, 2
    c.model.g_hidden, c.model.d_hidden, c.model.d_features = (4,), (5,), 3
    c.batch_size = 6
    c.mmd.sigmas, c.mmd.hinge_weight = SIGMAS, 3.0
    return c


def test_one_mmd_gan_step_losses_are_the_float64_formula_on_its_features():
    """The step's D and G losses are -/+ the numpy float64 objective on D's features of the step's real
    batch and fakes (D has no dropout: its features are D(x)); D is clipped to [-0.01, 0.01] after."""
    config = tiny_mmd_gan()
    validation.validate(config)
    data = np.random.default_rng(1).uniform(size=(24, 3)).astype(np.float32)
    setup = make_setup(config, len(data))
    state = create_train_state(config, setup, np.zeros(3, np.float32), len(data))
    ctx = updates.Context(setup, moment_matching.bind(games.get_game("mmd_gan"), config), config, len(data))
    _, (x_real, _, z), _ = steps.joint_inputs(ctx, state, jnp.asarray(data))
    x_fake = setup.generator.apply({"params": state.g_params}, z)

    def features(x):
        return np.asarray(setup.discriminator.apply({"params": state.d_params}, x, train=True), np.float64)

    want = numpy_mmd_gan(features(x_real), features(x_fake), SIGMAS, 3.0)
    new, metrics = jax.jit(steps.make_step(config, setup, len(data)))(state, jnp.asarray(data))
    np.testing.assert_allclose(float(metrics["g_loss"]), want, rtol=1e-4)  # float32 MMD
    np.testing.assert_allclose(float(metrics["d_loss"]), -want, rtol=1e-4)
    assert features(x_real).shape == (6, 3)
    assert max(float(jnp.max(jnp.abs(w))) for w in jax.tree.leaves(new.d_params)) <= 0.01


def test_mmd_gan_loss_gradient_is_its_finite_differences():
    """grad of ``mmd.mmd_gan_loss`` in the fake features against central differences of the float64
    numpy objective (both terms active: the fakes' means sit above the reals')."""
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)) + 0.5
    with jax.enable_x64():
        got = np.asarray(jax.grad(lambda f: mmd.mmd_gan_loss(jnp.asarray(real), f, SIGMAS, 3.0))(fake))
    eps, want = 1e-6, np.zeros_like(fake)
    for idx in np.ndindex(fake.shape):
        e = np.zeros_like(fake)
        e[idx] = eps
        f = numpy_mmd_gan
        want[idx] = (f(real, fake + e, SIGMAS, 3.0) - f(real, fake - e, SIGMAS, 3.0)) / (2 * eps)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_the_published_configs_validate_with_their_protocols():
    """gmmn_mnist: GMMN's kernel, batch 1,000, U(-1, 1)^10, 10 -> 64 -> 256 -> 256 -> 1024 -> 784 sigmoid,
    SGD 2 / 0.9 then 0.2 / 0.99 from 10k, 40k steps; mmd_gan_mnist: stds {1..16}, lambda_rg 16, N(0, 1)^10,
    10 features, RMSprop 5e-5, batch 64, 5 D steps, clip 0.01."""
    g, m = gmmn_mnist.get_config(), mmd_gan_mnist.get_config()
    for c in (g, m, gmmn_ring.get_config()):
        validation.validate(c)
    assert tuple(g.mmd.sigmas) == mmd.GMMN_MNIST_SIGMAS and g.batch_size == 1000 and g.num_steps == 40_000
    assert (g.model.noise, g.model.noise_scale, g.model.z_dim) == ("uniform", 1.0, 10)
    assert tuple(g.model.g_hidden) == (64, 256, 256, 1024) and g.model.g_output == "sigmoid"
    assert (g.optim.learning_rate, g.optim.momentum, g.optim.change_at) == (2.0, 0.9, 10_000)
    assert (g.optim.learning_rate_after, g.optim.momentum_after) == (0.2, 0.99)
    assert tuple(np.sqrt(m.mmd.sigmas)) == (1, 2, 4, 8, 16) and m.mmd.hinge_weight == 16
    assert (m.model.noise, m.model.z_dim, m.model.d_features, m.batch_size, m.d_steps) == (
        "normal",
        10,
        10,
        64,
        5,
    )
    assert (m.optim.name, m.optim.learning_rate, m.reg.clip) == ("rmsprop", 5e-5, 0.01)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_encode(p, x):
    return sigmoid(
        sigmoid(x @ p["enc_hidden"]["kernel"] + p["enc_hidden"]["bias"]) @ p["enc_code"]["kernel"]
        + p["enc_code"]["bias"]
    )


def numpy_decode(p, code):
    h = sigmoid(code @ p["dec_hidden"]["kernel"] + p["dec_hidden"]["bias"])
    return sigmoid(h @ p["dec_out"]["kernel"] + p["dec_out"]["bias"])


def tiny_autoencoder(**changes):
    c = gmmn_ae_mnist.get_config("autoencoder")
    c.model.z_dim, c.model.ae_hidden = 3, 8
    c.update_from_flattened_dict(
        {"num_steps": 4, "ckpt_every": 2, "log_every": 1, "sample_every": 4} | changes
    )
    return c


def test_an_autoencoder_step_is_the_float64_cross_entropy_of_its_reconstruction():
    """Without dropout, the logged loss is the numpy float64 binary cross-entropy of the reconstruction of
    the step's minibatch, summed over pixels, averaged over the batch; no D entries."""
    config = tiny_autoencoder(**{"model.ae_input_drop": 0.0, "model.ae_hidden_drop": 0.0, "batch_size": 5})
    data = np.random.default_rng(3).uniform(size=(15, 784)).astype(np.float32)
    setup = make_setup(config, len(data))
    state = create_train_state(config, setup, np.zeros(784, np.float32), len(data))
    ctx = updates.Context(setup, games.get_game("autoencoder"), config, len(data))
    _, x, _ = updates.real_batch(ctx, state.rng, state.data_perm, state.data_index, jnp.asarray(data))
    x = np.asarray(x, np.float64)
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), state.g_params)
    r = numpy_decode(p, numpy_encode(p, x))
    want = np.mean(np.sum(-(x * np.log(r) + (1 - x) * np.log(1 - r)), axis=1))
    new, metrics = jax.jit(steps.make_step(config, setup, len(data)))(state, jnp.asarray(data))
    np.testing.assert_allclose(float(metrics["g_loss"]), want, rtol=1e-5)
    assert new.d_params is None and not [k for k in metrics if k.startswith("d_")]


def test_gmmn_ae_refuses_a_missing_or_unfinished_autoencoder(tmp_path):
    config = gmmn_ae_mnist.get_config()
    config.mmd.autoencoder = ""
    with pytest.raises(ConfigError, match="needs its trained autoencoder"):
        validation.validate(config)
    config.mmd.autoencoder = str(tmp_path)
    with pytest.raises(ConfigError, match="holds no run"):
        validation.validate(config)
    ring_config = ring.get_config()
    ring_config.mmd.autoencoder = str(tmp_path)
    with pytest.raises(ConfigError, match="GMMN\\+AE's"):
        validation.validate(ring_config)


@pytest.mark.slow  # an autoencoder run, its resumed twin, GMMN+AE runs: ~30 s of CPU
def test_gmmn_ae_runs_on_its_autoencoders_codes_and_decodes_with_its_decoder(tmp_path):
    """The autoencoder run resumed equals its straight run; an unfinished one is refused in one line;
    GMMN+AE's data are the float64 numpy encoder's codes of the training images, its samples the numpy
    decoder of its G's codes, and its run stopped and resumed equals the straight one."""
    ae_dir = tmp_path / "ae"
    train.train(tiny_autoencoder(num_steps=2, ckpt_every=1), str(ae_dir))
    shutil.rmtree(ae_dir / "checkpoints" / "2")  # as if stopped after step 1 of 2
    gmmn = gmmn_ae_mnist.get_config()
    gmmn.model.code_dim, gmmn.model.ae_hidden, gmmn.model.g_hidden = 3, 8, (8,)
    gmmn.mmd.autoencoder = str(ae_dir)
    gmmn.update_from_flattened_dict({"num_steps": 6, "ckpt_every": 3, "log_every": 3, "sample_every": 3})
    gmmn.eval_every = 0
    with pytest.raises(ConfigError, match="not finished"):
        validation.validate(gmmn)
    ae = train.train(tiny_autoencoder(), str(ae_dir))
    jax.tree.map(
        np.testing.assert_array_equal, ae, train.train(tiny_autoencoder(), str(tmp_path / "ae_straight"))
    )

    from gan_jax.data import datasets
    from gan_jax.training import autoencoder as ae_stage

    x = datasets.load_dataset(gmmn.data)["train"][0]
    setup = make_setup(gmmn, len(x))
    state, codes = ae_stage.prepare(gmmn, create_train_state(gmmn, setup, None, len(x)), jnp.asarray(x))
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), ae.g_params)
    rows_ = np.array([0, 1, 12_345, len(x) - 1])
    np.testing.assert_allclose(codes[rows_], numpy_encode(p, np.asarray(x[rows_], np.float64)), atol=1e-5)
    z = np.random.default_rng(4).uniform(-1, 1, size=(7, 10)).astype(np.float32)
    variables = {"params": state.g_params, **state.g_state}
    code = np.asarray(setup.generator.apply(variables, z, method="code"), np.float64)
    np.testing.assert_allclose(setup.generator.apply(variables, z), numpy_decode(p, code), atol=1e-5)

    straight = train.train(gmmn, str(tmp_path / "straight"))
    gmmn.num_steps = 3
    train.train(gmmn, str(tmp_path / "resumed"))
    gmmn.num_steps = 6
    jax.tree.map(np.testing.assert_array_equal, train.train(gmmn, str(tmp_path / "resumed")), straight)
    assert rows(tmp_path / "resumed") == rows(tmp_path / "straight")


def test_the_moment_matching_losses_vanish_when_the_samples_agree():
    """The records' fixed points: G's loss 0 (MMD-GAN's D loss too) for equal samples or features."""
    x = jnp.asarray(np.random.default_rng(5).normal(size=(6, 3)), jnp.float32)
    assert float(games.GAMES["gmmn"].g_loss(real_logits=x, fake_logits=x)) == pytest.approx(0.0, abs=1e-3)
    for loss in (games.GAMES["mmd_gan"].g_loss, games.GAMES["mmd_gan"].d_loss):
        assert float(loss(real_logits=x, fake_logits=x)) == pytest.approx(0.0, abs=1e-3)
    for name in ("gmmn", "mmd_gan", "autoencoder"):
        assert games.GAMES[name].fixed_point and games.GAMES[name].reference


def test_gmmn_counts_epochs_of_real_minibatches_for_the_paper_schedule(monkeypatch):
    """paper_sgd's momentum ramps over epochs: without a D, G's optimizer is told that an epoch is
    num_train // batch_size of its updates (each takes one real minibatch), as a GAN's D is."""
    seen = []
    monkeypatch.setattr(optimizers, "make_optimizer", lambda optim, per_epoch: seen.append(per_epoch))
    c = gmmn_mnist.get_config()
    c.optim = config_lib.get_config().optim  # the paper's SGD with its momentum ramp
    make_setup(c, 50_000)
    assert seen == [50_000 // c.batch_size]
