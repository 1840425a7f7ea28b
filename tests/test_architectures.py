"""The DCGAN pairs (gan_jax/networks/models.py) and their state in the train state: shapes, output ranges,
initialisation, batch statistics through training and sampling, spectral norm, configs, one run, and
checkpoints of a model without state from before the state fields."""

import dataclasses
import functools
import os
import subprocess
import sys

import chex
import flax
import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest
from conftest import ROOT, tiny_dcgan_config
from test_steps import batch_at

from experiments.configs import dcgan_celeba, dcgan_cifar10, dcgan_mnist, paper_mnist, ring, smoke
from gan_jax.game import steps, updates
from gan_jax.game.state import create_train_state, make_setup
from gan_jax.networks import dcgan, latent, layers, models
from gan_jax.training import checkpoints
from gan_jax.training.checkpoints import _check_fits, checkpoint_manager, restore_checkpoint

NUM = 16  # fake training images per architecture
# config module, spectral norm in D (dcgan32 trains with it, so one step also covers SN's state)
ARCHS = {"dcgan28": (dcgan_mnist, False), "dcgan32": (dcgan_cifar10, True), "dcgan64": (dcgan_celeba, False)}


def tiny(name, **overrides):
    module, spectral_norm = ARCHS[name]
    config = tiny_dcgan_config(module, **overrides)
    config.model.spectral_norm = spectral_norm
    return config


def fake_images(config):
    low, high = models.output_range(config.model)
    rng = np.random.default_rng(0)
    return rng.uniform(low, high, size=(NUM, config.model.data_dim)).astype(np.float32)


@pytest.fixture(scope="module")
def built():
    """name -> (config, setup, initial state, images), built once per architecture."""
    out = {}
    for name in ARCHS:
        config = tiny(name)
        images = fake_images(config)
        setup = make_setup(config, NUM)
        out[name] = (config, setup, create_train_state(config, setup, images.mean(0), NUM), images)
    return out


@pytest.mark.parametrize("name", list(ARCHS))
@pytest.mark.parametrize("spectral_norm", [False, True])
def test_shapes_and_state_collections(name, spectral_norm):
    """G: [B, z] -> [B, H*W*C]; D: [B, H*W*C] -> [B]; the state collections each module keeps."""
    config = tiny(name)
    config.model.spectral_norm = spectral_norm
    gen, disc = models.build_models(config)
    z = jnp.zeros((5, config.model.z_dim))
    g_vars = jax.eval_shape(gen.init, jax.random.PRNGKey(0), z)
    x = jax.eval_shape(functools.partial(gen.apply, train=False), g_vars, z)
    chex.assert_shape(x, (5, config.model.data_dim))
    d_vars = jax.eval_shape(functools.partial(disc.init, train=False), jax.random.PRNGKey(0), x)
    chex.assert_shape(jax.eval_shape(functools.partial(disc.apply, train=False), d_vars, x), (5,))
    assert set(g_vars) == {"params", "batch_stats"}
    assert set(d_vars) == {"params", "spectral" if spectral_norm else "batch_stats"}


@pytest.mark.parametrize("name", list(ARCHS))
def test_output_ranges(built, name):
    """sigmoid for MNIST in [0, 1] (dcgan28), tanh for [-1, 1] (dcgan32/64), well spread inside."""
    config, setup, state, _ = built[name]
    z = latent.sample_noise(jax.random.PRNGKey(0), 4, config.model.z_dim)
    x = steps.make_sampler(setup)(steps.sampling_variables(state), z)
    low, high = models.output_range(config.model)
    assert (low, high) == ((0.0, 1.0) if name == "dcgan28" else (-1.0, 1.0))
    assert low <= float(x.min()) < (low + high) / 2 < float(x.max()) <= high


def test_full_size_models_of_the_configs():
    """The shipped configs (ngf = ndf = 64): image sizes, G's first and D's last widths (shapes only)."""
    for module, (h, c), (g_first, d_last) in (
        (dcgan_mnist, (28, 1), (7 * 7 * 128, 7 * 7 * 128)),
        (dcgan_cifar10, (32, 3), (4 * 4 * 512, 4 * 4 * 512)),
        (dcgan_celeba, (64, 3), (4 * 4 * 512, 4 * 4 * 512)),
    ):
        config = module.get_config()
        assert set(paper_mnist.get_config().keys()) <= set(config.keys())  # derived: every field there
        assert config.optim.name == "adam" and config.update_scheme == "alternating"
        gen, disc = models.build_models(config)
        z = jnp.zeros((2, config.model.z_dim))
        g_vars = jax.eval_shape(gen.init, jax.random.PRNGKey(0), z)
        x = jax.eval_shape(gen.apply, g_vars, z)
        assert x.shape == (2, h * h * c) == (2, config.model.data_dim)
        d_vars = jax.eval_shape(functools.partial(disc.init, train=False), jax.random.PRNGKey(0), x)
        assert g_vars["params"]["Dense_0"]["kernel"].shape == (100, g_first)
        assert d_vars["params"]["out"]["kernel"].shape == (d_last, 1)


def test_wrong_image_shape_or_output_is_refused():
    config = tiny("dcgan28")
    config.model.image_shape = (32, 32, 1)
    with pytest.raises(ValueError, match="makes 28x28 images"):
        models.build_models(config)
    config = tiny("dcgan28")
    config.model.output = "relu"
    with pytest.raises(ValueError, match="sigmoid, tanh"):
        models.build_models(config)


def test_dcgan_initialisation_statistics(built):
    """W ~ N(0, 0.02^2) (std within 1 % over a 131k kernel), BN scale ~ N(1, 0.02^2), BN bias 0."""
    kernel = dcgan.dcgan_normal(jax.random.PRNGKey(0), (4, 4, 64, 128))
    assert abs(float(kernel.std()) - 0.02) < 2e-4 and abs(float(kernel.mean())) < 2e-4
    scale = layers.dcgan_bn_scale(jax.random.PRNGKey(1), (20_000,))
    assert abs(float(scale.mean()) - 1.0) < 1e-3 and abs(float(scale.std()) - 0.02) < 1e-3
    _, _, state, _ = built["dcgan64"]
    kernels = [v for path, v in jax.tree_util.tree_leaves_with_path(state.g_params) if "kernel" in str(path)]
    flat = np.concatenate([np.ravel(k) for k in kernels])
    assert flat.size > 20_000 and abs(flat.std() - 0.02) < 1e-3
    bn = state.g_params["BatchNorm_0"]
    assert float(jnp.abs(bn["bias"]).max()) == 0.0 and abs(float(bn["scale"].mean()) - 1.0) < 0.01


@pytest.fixture(scope="module")
def stepped(built):
    """name -> (state, new state, metrics, config) after one jitted simultaneous step (the alternating
    scheme runs end to end below); dcgan28's with R1 on, so the penalty's D passes are in it."""
    out = {}
    for name, (_, _, state, images) in built.items():
        config = tiny(name, update_scheme="simultaneous")
        config.reg.r1_gamma = 1.0 if name == "dcgan28" else 0.0
        setup = make_setup(config, NUM)
        new, metrics = jax.jit(steps.make_step(config, setup, NUM))(state, jnp.asarray(images))
        out[name] = (state, new, metrics, config)
    return out


def config_has_spectral_norm(name):
    return ARCHS[name][1]


def sn_leaves(spectral: dict):
    """(module, kernel path) of each spectrally normalised layer in D's 'spectral' collection."""
    return [(k, name[: -len("/u")]) for k, layer in spectral.items() for name in layer if name.endswith("/u")]


def changed(new, old):
    return jax.tree.map(lambda a, b: bool(jnp.any(a != b)), new, old)


@pytest.mark.parametrize("name", list(ARCHS))
def test_one_train_step_is_finite_and_moves_the_state_collections(stepped, name):
    state, new, metrics, _ = stepped[name]
    assert all(np.isfinite(float(v)) for v in metrics.values())
    assert int(new.nonfinite_step) == -1 and int(new.step) == 1
    assert all(jax.tree.leaves(changed(new.g_state, state.g_state)))  # every running mean and var
    if not config_has_spectral_norm(name):  # D's running means and vars
        assert all(jax.tree.leaves(changed(new.d_state, state.d_state)))
    else:  # every layer's power-iteration vector u moves (sigma may not: the out kernel's starts near 1)
        sn = new.d_state["spectral"]
        assert all(changed(sn[k][f"{p}/u"], state.d_state["spectral"][k][f"{p}/u"]) for k, p in sn_leaves(sn))
        assert all(float(sn[k][f"{p}/sigma"]) > 0 for k, p in sn_leaves(sn))
    assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(new))


def test_sampling_is_eval_mode_and_leaves_the_state(built, stepped):
    """Sampling uses the running averages: each sample is independent of the rest of its batch, it
    differs from the train-mode (batch moments) output, and the state is left as it was."""
    config, setup, _, _ = built["dcgan28"]
    _, state, _, _ = stepped["dcgan28"]
    before = jax.tree.map(np.copy, state.g_state)
    z = latent.sample_noise(jax.random.PRNGKey(5), 8, config.model.z_dim)
    sampler = steps.make_sampler(setup)
    x = sampler(steps.sampling_variables(state), z)
    np.testing.assert_allclose(x[:1], sampler(steps.sampling_variables(state), z[:1]), atol=1e-6)
    train_mode = jax.jit(lambda p, s, z: updates.apply_train(setup.generator, p, s, z)[0])
    x_train = train_mode(state.g_params, state.g_state, z)
    assert float(jnp.abs(x - x_train).max()) > 1e-3
    chex.assert_trees_all_equal(state.g_state, before)


def test_d_state_takes_real_then_fake_and_no_penalty_pass(built, stepped):
    """Simultaneous with R1 on: D's batch stats after the step are those of a train-mode pass on the
    real batch, then one on the fake batch (the R1 pass writes nothing); G's those of its one pass."""
    _, setup, _, images = built["dcgan28"]
    state, new, _, config = stepped["dcgan28"]
    k_z, _, _ = jax.random.split(steps.step_key(state), 3)

    @jax.jit
    def expected(state, x_real, z):
        x_fake, g_state = updates.apply_train(setup.generator, state.g_params, state.g_state, z)
        _, d_state = updates.apply_train(setup.discriminator, state.d_params, state.d_state, x_real)
        _, d_state = updates.apply_train(setup.discriminator, state.d_params, d_state, x_fake)
        return g_state, d_state

    x_real = batch_at(state, 0, images, config.batch_size)
    z = latent.sample_noise(k_z, config.batch_size, config.model.z_dim)
    g_state, d_state = expected(state, x_real, z)
    chex.assert_trees_all_close(new.g_state, g_state, rtol=1e-5, atol=1e-7)
    chex.assert_trees_all_close(new.d_state, d_state, rtol=1e-5, atol=1e-7)


def test_spectral_norm_sigma_converges_to_the_top_singular_value(built):
    """After power iterations (D's training passes), each SN layer's sigma is the largest singular value
    of its kernel as a [fan_in, out] matrix (numpy SVD), so the normalised kernel's is 1."""
    config, setup, state, images = built["dcgan32"]
    x = jnp.asarray(images[:4])

    @jax.jit
    def iterate(d_state):
        def body(_, d_state):
            _, d_state = updates.apply_train(setup.discriminator, state.d_params, d_state, x)
            return d_state

        return jax.lax.fori_loop(0, 200, body, d_state)

    spectral = iterate(state.d_state)["spectral"]
    for layer, kernel_name in (("SpectralNorm_1", "Conv_1"), ("SpectralNorm_3", "out")):
        kernel = np.asarray(state.d_params[kernel_name]["kernel"], np.float64)
        matrix = kernel.reshape(-1, kernel.shape[-1])
        top = np.linalg.svd(matrix, compute_uv=False)[0]
        sigma = float(spectral[layer][f"{kernel_name}/kernel/sigma"])
        assert sigma == pytest.approx(top, rel=1e-3)
        assert np.linalg.svd(matrix / sigma, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-3)


@pytest.mark.parametrize("module", [smoke, ring], ids=["paper_maxout_d", "toy_mlp_d"])
def test_spectral_norm_makes_the_mlp_discriminators_1_lipschitz(module):
    """The paper's maxout D and the toy MLP D with spectral_norm, their weights scaled up 100x: after
    power iterations (training passes) each layer's sigma is its kernel's top singular value (numpy
    SVD), and in eval mode |l(x) - l(y)| <= |x - y| (every layer 1-Lipschitz: a normalised Dense, then
    ReLU or a maxout over its pieces), which the same weights without normalisation break."""
    config = module.get_config()
    config.model.spectral_norm = True
    _, d = models.build_models(config)
    config.model.spectral_norm = False
    _, plain = models.build_models(config)
    kx, ky, kd = jax.random.split(jax.random.PRNGKey(0), 3)
    x = jax.random.uniform(kx, (64, config.model.data_dim))
    y = x + 0.1 * jax.random.normal(ky, x.shape)
    variables = d.init(kd, x[:1], train=False)
    params = jax.tree.map(lambda p: 100.0 * p, variables["params"])

    @jax.jit
    def iterate(spectral):
        def body(_, spectral):
            variables = {"params": params, "spectral": spectral}
            _, new = d.apply(variables, x, train=True, mutable=["spectral"], rngs={"dropout": kd})
            return new["spectral"]

        return jax.lax.fori_loop(0, 500, body, spectral)

    spectral = iterate(variables["spectral"])
    flat_params = flax.traverse_util.flatten_dict(params, sep="/")
    flat_spectral = flax.traverse_util.flatten_dict(spectral, sep="/")
    sigmas = {k: v for k, v in flat_spectral.items() if k.endswith("sigma")}
    assert len(sigmas) == sum(k.endswith("kernel") for k in flat_params)  # every layer
    for path, sigma in sigmas.items():  # .../SpectralNorm_i/<layer>/kernel/sigma -> .../<layer>/kernel
        parts = path.split("/")
        kernel = np.asarray(flat_params["/".join(parts[:-4] + parts[-3:-1])], np.float64)
        assert float(sigma) == pytest.approx(np.linalg.svd(kernel, compute_uv=False)[0], rel=1e-3)
    distance = np.linalg.norm(np.asarray(x - y), axis=1)

    def ratio(module, variables):
        lx, ly = module.apply(variables, x, train=False), module.apply(variables, y, train=False)
        return np.abs(np.asarray(lx - ly)) / distance

    assert ratio(d, {"params": params, "spectral": spectral}).max() <= 1.0 + 1e-3
    assert ratio(plain, {"params": params}).max() > 2.0


@pytest.mark.slow  # ~35 s; DCGAN steps are covered in-process above
def test_dcgan_mnist_end_to_end(tmp_path):
    """launch.py with the DCGAN MNIST config (dcgan28, alternating), tiny: its steps are finite (the loop
    stops on a non-finite one), it checkpoints and writes sample grids."""
    args = [
        "--config=experiments/configs/dcgan_mnist.py",
        f"--workdir={tmp_path}",
        "--config.num_steps=4",
        "--config.batch_size=8",
        "--config.model.ngf=8",
        "--config.model.ndf=8",
        "--config.model.z_dim=8",
        "--config.log_every=2",
        "--config.sample_every=4",
        "--config.ckpt_every=4",
        "--config.eval_every=0",
    ]
    proc = subprocess.run(
        [sys.executable, "launch.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "step 4/4" in proc.stdout
    for step in (0, 4):
        assert os.path.getsize(os.path.join(tmp_path, "samples", f"step_{step:07d}.png")) > 1000
    assert os.path.isdir(os.path.join(tmp_path, "checkpoints", "4"))


def test_checkpoints_from_before_the_model_state_fields_still_restore(config, images, tmp_path):
    """A paper-model checkpoint written without g_state / d_state (the TrainState of earlier versions)
    restores into today's state, whose two fields are None."""
    setup = make_setup(config, len(images))
    state = create_train_state(config, setup, images.mean(0), len(images))
    assert state.g_state is None and state.d_state is None
    old = {f.name: getattr(state, f.name) for f in dataclasses.fields(state) if not f.name.endswith("_state")}
    old |= {"g_opt_state": state.g_opt_state, "d_opt_state": state.d_opt_state}
    with checkpoint_manager(str(tmp_path), create=True) as mngr:
        mngr.save(3, args=ocp.args.StandardSave(old))
        mngr.wait_until_finished()
        restored = restore_checkpoint(mngr, 3, state)
    chex.assert_trees_all_equal(restored, state)


@pytest.mark.parametrize("model_state_fields", [True, False])
def test_checkpoints_with_unit_major_maxout_columns_restore_as_the_same_model(
    config, images, tmp_path, model_state_fields
):
    """A checkpoint from before Maxout kept its columns piece-major (its Dense named Dense_0, column
    j * pieces + i = piece i of unit j), with or without the model-state fields: restored into today's
    state it is today's state, and D computes what the old unit-major layout computed."""
    config.model.d_init_scale = 0.3  # logits of order 1: a layout error shows far above rounding
    setup = make_setup(config, len(images))
    state, _ = jax.jit(steps.make_step(config, setup, len(images)))(
        create_train_state(config, setup, images.mean(0), len(images)), jnp.asarray(images)
    )  # one step: the momentum moments are not zero
    pieces = config.model.d_pieces

    def unit_major(tree):  # today's piece-major leaves back to the old layout, renamed Dense_0
        def back(path, x):
            keys = [getattr(k, "key", None) for k in path]
            if layers.MAXOUT_DENSE not in keys or keys[-1] not in ("kernel", "bias"):
                return x
            return jnp.swapaxes(x.reshape(*x.shape[:-1], pieces, -1), -1, -2).reshape(x.shape)

        flat = jax.tree_util.tree_map_with_path(back, tree)
        return checkpoints._rename_maxout(flat, layers.MAXOUT_DENSE, layers.LEGACY_MAXOUT_DENSE)

    old = unit_major(state)
    legacy = {f.name: getattr(old, f.name) for f in dataclasses.fields(old) if not f.name.endswith("_state")}
    legacy |= {"g_opt_state": old.g_opt_state, "d_opt_state": old.d_opt_state}
    if model_state_fields:  # written between the model-state fields and the piece-major layout
        legacy = old
        assert old.g_state is None
    legacy_params = legacy.d_params if model_state_fields else legacy["d_params"]
    moments = str(jax.tree_util.tree_structure(old.d_opt_state))
    assert "Dense_0" in legacy_params["Maxout_0"] and "Dense_0" in moments and "pieces" not in moments
    with checkpoint_manager(str(tmp_path), create=True) as mngr:
        mngr.save(3, args=ocp.args.StandardSave(legacy))
        mngr.wait_until_finished()
        restored = restore_checkpoint(mngr, 3, state, maxout_pieces=pieces)
        with pytest.raises(ValueError, match="unit-major"):
            restore_checkpoint(mngr, 3, state)
    chex.assert_trees_all_equal(restored, state)

    x = images[:4].astype(np.float64)  # the old layout's D, in float64 numpy: eval mode, no dropout
    for name in sorted(k for k in legacy_params if k.startswith("Maxout_")):
        layer = legacy_params[name]["Dense_0"]
        z = x @ np.asarray(layer["kernel"], np.float64) + np.asarray(layer["bias"], np.float64)
        x = z.reshape(len(x), -1, pieces).max(-1)
    out = legacy_params["out"]
    expected = (x @ np.asarray(out["kernel"], np.float64) + np.asarray(out["bias"], np.float64))[:, 0]
    got = setup.discriminator.apply({"params": restored.d_params}, images[:4], train=False)
    assert np.abs(expected).max() > 0.1
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_a_checkpoint_that_does_not_fit_is_refused_naming_the_array():
    """state._check_fits on flat {path: array} trees: the first mismatch is named, before any restore."""

    def a(*shape):
        return jax.ShapeDtypeStruct(shape, jnp.float32)

    target = {("d_params", "w"): a(4, 2), ("d_opt_state", "0", "trace", "w"): a(4, 2), ("step",): a()}
    _check_fits(dict(target), target)  # fits itself
    with pytest.raises(
        ValueError, match=r"this model's d_params.w has shape \(4, 2\), the checkpoint's \(4, 3\)"
    ):
        _check_fits(target | {("d_params", "w"): a(4, 3)}, target)
    with pytest.raises(ValueError, match="this model's step is not in the checkpoint"):
        _check_fits({k: v for k, v in target.items() if k != ("step",)}, target)
    extra = {("d_opt_state", "0", "trace", "v"): a(1), ("d_params", "v"): a(1)}
    with pytest.raises(
        ValueError, match=r"holds arrays this model lacks: d_params.v, d_opt_state.0.trace.v$"
    ):
        _check_fits(target | extra, target)
    with_state = target | {("d_state", "batch_stats", "mean"): a(2)}
    with pytest.raises(ValueError, match="the checkpoint has no d_state"):
        _check_fits(target, with_state)  # a legacy checkpoint, a model that keeps state
    with pytest.raises(ValueError, match="this model's d_state.batch_stats.mean is not in"):
        _check_fits(target | {("d_state", "batch_stats", "var"): a(2)}, with_state)
