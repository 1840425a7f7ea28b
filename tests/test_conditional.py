"""Conditional GANs (config.model.num_classes): models, the step's labels, grids, metrics, refusals;
and the bfloat16 compute option."""

import functools
import os
import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import ROOT, tiny_config, tiny_dcgan_config

from experiments.configs import dcgan_mnist
from gan_jax import config as config_lib
from gan_jax.data import batches, mnist
from gan_jax.errors import DataError
from gan_jax.game import games, steps
from gan_jax.game.state import DATA_STREAM, create_train_state, make_setup
from gan_jax.metrics import classifier, evaluate
from gan_jax.networks import latent, models
from gan_jax.training import outputs, validation

K = 10


def conditional(name="paper_mlp", conditioning="concat", **model):
    config = tiny_config() if name == "paper_mlp" else tiny_dcgan_config(dcgan_mnist)
    config.model.num_classes = K
    config.model.conditioning = conditioning
    for key, value in model.items():
        config.model[key] = value
    return config


def init(config, batch=6):
    gen, disc = models.build_models(config)
    z = latent.sample_noise(jax.random.PRNGKey(0), batch, config.model.z_dim)
    y = jnp.arange(batch) % K
    g_vars = gen.init(jax.random.PRNGKey(1), z, labels=y)
    x = gen.apply(g_vars, z, labels=y)
    d_vars = disc.init(jax.random.PRNGKey(2), x, labels=y, train=False)
    return gen, disc, g_vars, d_vars, z, x


CASES = [(n, c) for n in ("paper_mlp", "dcgan28") for c in models.CONDITIONINGS]


@pytest.mark.parametrize("name,conditioning", CASES)
def test_labels_change_the_output_of_g_and_d(name, conditioning):
    config = conditional(name, conditioning)
    gen, disc, g_vars, d_vars, z, x = init(config)
    y0, y1 = jnp.zeros(len(z), jnp.int32), jnp.full(len(z), 3)
    x0, x1 = gen.apply(g_vars, z, labels=y0), gen.apply(g_vars, z, labels=y1)
    chex.assert_shape(x0, (len(z), 784))
    assert float(jnp.abs(x0 - x1).max()) > 1e-4
    l0, l1 = (disc.apply(d_vars, x, labels=y, train=False) for y in (y0, y1))
    chex.assert_shape(l0, (len(z),))
    assert float(jnp.abs(l0 - l1).max()) > 1e-3 * float(jnp.abs(l0).max())  # the paper D's logits are ~1e-6


@pytest.mark.parametrize("name", ["paper_mlp", "dcgan28"])
def test_projection_adds_the_class_embedding_dot_the_features(name):
    """l(x, y) = w . phi(x) + b + E[y] . phi(x): the difference between two labels is
    (E[y1] - E[y0]) . phi(x), phi read from D's sown features."""
    config = conditional(name, "projection")
    _, disc, _, d_vars, z, x = init(config)
    y0, y1 = jnp.zeros(len(z), jnp.int32), jnp.full(len(z), 7)
    variables = dict(d_vars)
    params = jax.tree.map(lambda p: p, variables["params"])
    table = params["projection"]["Embed_0"]["embedding"]
    params["projection"]["Embed_0"]["embedding"] = jnp.asarray(
        np.random.default_rng(1).normal(size=table.shape), jnp.float32
    )
    variables["params"] = params
    apply = functools.partial(disc.apply, variables, x, train=False, mutable=["intermediates"])
    l0, inter = apply(labels=y0)
    l1, _ = apply(labels=y1)
    phi = np.asarray(inter["intermediates"]["features"][0], np.float64)
    e = np.asarray(params["projection"]["Embed_0"]["embedding"], np.float64)
    expected = phi @ (e[7] - e[0])
    np.testing.assert_allclose(np.asarray(l1 - l0), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["paper_mlp", "dcgan28"])
def test_projection_embedding_is_spectrally_normalised_with_d(name):
    """With spectral_norm the class term is <E[y], phi> / sigma(E), sigma(E) E's top singular value (as
    in Miyato & Koyama's SNEmbedID): after power iterations (training passes) the stored sigma is the
    numpy SVD's, and the difference between two labels is phi . (E[7] - E[0]) / sigma(E)."""
    config = conditional(name, "projection", spectral_norm=True)
    _, disc, _, d_vars, z, x = init(config)
    params = jax.tree.map(lambda p: p, d_vars["params"])
    table = np.random.default_rng(1).normal(size=params["projection"]["Embed_0"]["embedding"].shape)
    params["projection"]["Embed_0"]["embedding"] = jnp.asarray(table, jnp.float32)
    y0, y1 = jnp.zeros(len(z), jnp.int32), jnp.full(len(z), 7)

    @jax.jit
    def iterate(spectral):
        def body(_, spectral):
            variables = {"params": params, "spectral": spectral}
            _, new = disc.apply(
                variables, x, labels=y0, train=True, mutable=["spectral"], rngs={"dropout": jax.random.key(3)}
            )
            return new["spectral"]

        return jax.lax.fori_loop(0, 300, body, spectral)

    spectral = iterate(d_vars["spectral"])
    e = np.asarray(params["projection"]["Embed_0"]["embedding"], np.float64)
    sigma = np.linalg.svd(e, compute_uv=False)[0]
    stored = spectral["projection"]["SpectralNorm_0"]["Embed_0/embedding/sigma"]
    assert float(stored) == pytest.approx(sigma, rel=1e-3)
    variables = {"params": params, "spectral": spectral}
    apply = functools.partial(disc.apply, variables, x, train=False, mutable=["intermediates"])
    (l0, inter), (l1, _) = apply(labels=y0), apply(labels=y1)
    phi = np.asarray(inter["intermediates"]["features"][0], np.float64)
    np.testing.assert_allclose(np.asarray(l1 - l0), phi @ (e[7] - e[0]) / sigma, rtol=2e-3, atol=1e-5)


def test_labels_are_required_exactly_when_conditional():
    gen, disc, g_vars, d_vars, z, x = init(conditional())
    with pytest.raises(ValueError, match="conditional on 10 classes"):
        gen.apply(g_vars, z)
    with pytest.raises(ValueError, match="conditional on 10 classes"):
        disc.apply(d_vars, x, train=False)
    plain_g, _ = models.build_models(tiny_config())
    with pytest.raises(ValueError, match="unconditional"):
        plain_g.init(jax.random.PRNGKey(0), z, labels=jnp.zeros(len(z), jnp.int32))


@pytest.mark.parametrize("scheme", steps.UPDATES)
def test_the_step_conditions_fakes_on_the_real_minibatch_labels(scheme):
    """D's loss in the step's metrics equals the loss computed independently with real batch (x, y)
    and fakes G(z, y): the same labels y for both; with the labels of another batch it differs."""
    config = conditional()
    config.update_scheme = scheme
    config.model.d_init_scale = config.model.g_init_scale = 0.3
    config.d_loss_scale = 1.0
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(500, 784)).astype(np.float32)
    labels = rng.integers(0, K, size=500).astype(np.int32)
    setup = make_setup(config, len(images))
    state = create_train_state(config, setup, images.mean(axis=0), len(images))
    step = jax.jit(steps.make_step(config, setup, len(images)))
    _, metrics = step(state, (jnp.asarray(images), jnp.asarray(labels)))

    data_key = jax.random.fold_in(state.rng, DATA_STREAM)
    _, idx = batches.next_batch_indices(data_key, state.data_perm, 0, len(images), config.batch_size)
    key = steps.step_key(state)
    if scheme == "alternating":
        key = steps.player_keys(key, config.d_steps, config.g_steps)[0][0]
    k_z, k_real, k_fake = jax.random.split(key, 3)
    z = latent.sample_noise(k_z, config.batch_size, config.model.z_dim)
    game = games.get_game(config.game)

    def d_loss(y):
        x_fake = setup.generator.apply({"params": state.g_params}, z, labels=y)

        def logits(x, k):
            return setup.discriminator.apply(
                {"params": state.d_params}, x, labels=y, train=True, rngs={"dropout": k}
            )

        return game.d_loss(real_logits=logits(images[idx], k_real), fake_logits=logits(x_fake, k_fake))

    np.testing.assert_allclose(float(metrics["d_loss"]), float(d_loss(labels[idx])), rtol=1e-5)
    assert abs(float(d_loss((labels[idx] + 1) % K)) - float(metrics["d_loss"])) > 1e-4


def test_grid_is_class_by_row_with_a_shared_z_per_column():
    labels = outputs.grid_labels(K)
    model = config_lib.model_config("paper_mlp")
    model.num_classes, model.z_dim = K, 4
    z = outputs.grid_noise(jax.random.PRNGKey(0), model)
    np.testing.assert_array_equal(labels.reshape(10, 10), np.repeat(np.arange(10)[:, None], 10, axis=1))
    z = np.asarray(z).reshape(10, 10, 4)
    np.testing.assert_array_equal(z, np.broadcast_to(z[:1], z.shape))
    assert len(np.unique(z[0, :, 0])) == 10
    assert outputs.grid_labels(0) is None


@pytest.fixture(scope="module")
def mnist_test_split():
    splits = mnist.load_hub()
    return splits, splits["test"][0][:2000], splits["test"][1][:2000]


def test_conditional_metrics_reward_the_right_classes(mnist_test_split):
    """Real test images with their own labels: accuracy ~ the classifier's, small per-class FCD;
    with every label moved to the next class: accuracy ~0 and much larger per-class FCD."""
    splits, x, y = mnist_test_split
    params = classifier.load_classifier()
    feats, probs = classifier.features_and_probs(params, x)
    test_feats, _ = classifier.features_and_probs(params, splits["test"][0])
    right = evaluate.conditional_metrics(feats, probs, y, test_feats, splits["test"][1])
    wrong = evaluate.conditional_metrics(feats, probs, (y + 1) % K, test_feats, splits["test"][1])
    assert right["cond_accuracy"] > 0.98
    assert wrong["cond_accuracy"] < 0.02
    assert len(right["per_class_fcd"]) == K
    assert right["per_class_fcd_mean"] < 15.0 < 5 * right["per_class_fcd_mean"] < wrong["per_class_fcd_mean"]
    with pytest.raises(evaluate.EvalError, match="labels must have shape"):
        evaluate.conditional_metrics(feats, probs, y[:10], test_feats, splits["test"][1])
    with pytest.raises(evaluate.EvalError, match="classes 0..9"):
        evaluate.conditional_metrics(feats, probs, np.full(len(y), 10), test_feats, splits["test"][1])
    one_seven = np.where(np.arange(len(y)) == 0, 7, y)  # a single sample drawn for class 7 ...
    one_seven[(one_seven == 7) & (np.arange(len(y)) > 0)] = 1  # ... and no other
    few = evaluate.conditional_metrics(feats, probs, one_seven, test_feats, splits["test"][1])
    assert np.isnan(few["per_class_fcd"][7]) and np.isfinite(few["per_class_fcd"][1])


def test_evaluation_labels_are_balanced():
    np.testing.assert_array_equal(evaluate.sample_labels(25, 10)[:12], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
    assert np.bincount(evaluate.sample_labels(10_000, 10)).tolist() == [1000] * 10
    assert evaluate.sample_labels(5, 0) is None


def test_refusals_are_clear():
    config = conditional()
    config.model.conditioning = "film"
    with pytest.raises(ValueError, match="concat, projection"):
        validation.validate(config)
    config = conditional()
    config.model.dtype = "float16"
    with pytest.raises(ValueError, match="float32, bfloat16"):
        validation.validate(config)
    with pytest.raises(DataError, match="labels span"):
        validation.check_data(conditional(), np.zeros((3, 784)), np.array([0, 3, 10]), 3)
    config = conditional()
    config.model.num_classes = 7
    with pytest.raises(ValueError, match="'mnist' has 10 classes"):
        validation.validate(config)
    from experiments.configs import dcgan_celeba, ring

    config = dcgan_celeba.get_config()
    config.model.num_classes = 10
    with pytest.raises(ValueError, match="dataset 'celeb_a' has none"):
        validation.validate(config)
    config = ring.get_config()
    config.model.num_classes = 8
    with pytest.raises(ValueError, match="model 'mlp' is unconditional"):
        validation.validate(config)


@pytest.mark.slow  # ~40 s; the conditional step and metrics are covered in-process above
def test_conditional_run_and_its_samples_end_to_end(tmp_path):
    """launch.py trains a conditional model (class-by-row grids) and --mode=sample writes the classes."""
    workdir = str(tmp_path)
    base = [sys.executable, "launch.py", "--config=experiments/configs/smoke.py", f"--workdir={workdir}"]
    flags = [
        "--config.model.num_classes=10",
        "--config.num_steps=10",
        "--config.model.conditioning=projection",
    ]
    proc = subprocess.run(base + flags, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert os.path.exists(os.path.join(workdir, "samples", "step_0000010.png"))
    proc = subprocess.run(
        base + ["--mode=sample", "--num_samples=25"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    samples = np.load(os.path.join(workdir, "samples.npy"))
    chex.assert_shape(samples, (25, 784))
    np.testing.assert_array_equal(np.load(os.path.join(workdir, "labels.npy")), np.arange(25) % 10)


def matmul_dtypes(fn, *args) -> list[tuple[str, ...]]:
    """The operand dtypes of every dot_general and convolution in ``fn``'s jaxpr (nested ones too)."""
    found = []

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            if eqn.primitive.name in ("dot_general", "conv_general_dilated"):
                found.append(tuple(str(v.aval.dtype) for v in eqn.invars))
            for param in eqn.params.values():
                for sub in param if isinstance(param, tuple | list) else (param,):
                    if hasattr(sub, "eqns"):
                        walk(sub)
                    elif hasattr(sub, "jaxpr") and hasattr(sub.jaxpr, "eqns"):
                        walk(sub.jaxpr)

    walk(jax.make_jaxpr(fn)(*args).jaxpr)
    return found


@pytest.mark.parametrize("name", ["paper_mlp", "dcgan28"])
def test_bfloat16_matmuls_keep_float32_params_and_outputs(name):
    """dtype='bfloat16': float32 parameters, G's samples and D's logits float32 and within bf16
    rounding of the float32 model's (same parameters), yet further from them than float32 rounding;
    every matmul and convolution of G and D takes bf16 operands (a player that ignores the option
    would still pass the closeness checks)."""
    config = conditional(name)
    config.model.num_classes = 0
    gen, disc = models.build_models(config)
    config.model.dtype = "bfloat16"
    gen16, disc16 = models.build_models(config)
    z = latent.sample_noise(jax.random.PRNGKey(0), 8, config.model.z_dim)
    g_vars = gen.init(jax.random.PRNGKey(1), z)
    assert {p.dtype for p in jax.tree.leaves(gen16.init(jax.random.PRNGKey(1), z))} == {jnp.dtype("float32")}
    x, x16 = gen.apply(g_vars, z), gen16.apply(g_vars, z)
    assert x16.dtype == jnp.float32
    assert 0 < float(jnp.abs(x - x16).max()) < 0.05
    d_vars = disc.init(jax.random.PRNGKey(2), x, train=False)
    logit, logit16 = disc.apply(d_vars, x, train=False), disc16.apply(d_vars, x, train=False)
    assert logit16.dtype == jnp.float32
    np.testing.assert_allclose(logit16, logit, rtol=0.05, atol=0.05 * float(jnp.abs(logit).max()))
    # bf16 keeps 8 bits of mantissa (relative rounding 2^-9), float32 24: the logits moved by more
    # than 1e-4 of their scale, and G's samples (about 0.5, float32 ulp 6e-8) by more than 5e-7
    assert float(jnp.abs(logit16 - logit).max()) > 1e-4 * float(jnp.abs(logit).max())
    assert float(jnp.abs(x16 - x).max()) > 5e-7
    g32, g16 = matmul_dtypes(gen.apply, g_vars, z), matmul_dtypes(gen16.apply, g_vars, z)
    d32 = matmul_dtypes(functools.partial(disc.apply, train=False), d_vars, x)
    d16 = matmul_dtypes(functools.partial(disc16.apply, train=False), d_vars, x)
    assert len(g16) == len(g32) >= 3 and len(d16) == len(d32) >= 3
    assert set(g32) == set(d32) == {("float32", "float32")}
    assert set(g16) == set(d16) == {("bfloat16", "bfloat16")}


def test_bfloat16_training_step_is_finite(images):
    config = tiny_config()
    config.model.dtype = "bfloat16"
    setup = make_setup(config, len(images))
    state = create_train_state(config, setup, images.mean(axis=0), len(images))
    state, metrics = jax.jit(steps.make_step(config, setup, len(images)))(state, jnp.asarray(images))
    assert int(state.step) == 1 and int(state.nonfinite_step) == -1
    assert all(np.isfinite(float(v)) for v in metrics.values())
    assert {p.dtype for p in jax.tree.leaves(state.g_params)} == {jnp.dtype("float32")}
