import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import tiny_config, tiny_dcgan_config

from experiments.configs import dcgan_mnist, paper_mnist
from gan_jax.game.state import create_state, create_train_state, make_setup
from gan_jax.networks import latent, layers, models


def paper_models():
    return models.build_models(paper_mnist.get_config())


def test_generator_shapes_range_and_init():
    gen, _ = paper_models()
    z = latent.sample_noise(jax.random.PRNGKey(0), 7, 100)
    params = gen.init(jax.random.PRNGKey(1), z)["params"]
    x = gen.apply({"params": params}, z)
    chex.assert_shape(x, (7, 784))
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    kernels = [params[name]["kernel"] for name in ("Dense_0", "Dense_1", "out")]
    assert [k.shape for k in kernels] == [(100, 1200), (1200, 1200), (1200, 784)]
    for k in kernels:  # pylearn2 irange .05: U(-0.05, 0.05), so std = 0.05 / sqrt(3)
        assert float(jnp.abs(k).max()) <= 0.05
        assert abs(float(k.std()) - 0.05 / np.sqrt(3)) < 0.002


def test_noise_is_uniform_with_unit_variance():
    z = latent.sample_noise(jax.random.PRNGKey(0), 4000, 100)
    assert float(jnp.abs(z).max()) <= np.sqrt(3.0)
    assert abs(float(z.var()) - 1.0) < 0.01 and abs(float(z.mean())) < 0.01


def test_discriminator_maxout_shapes_and_pieces():
    _, disc = paper_models()
    x = jnp.ones((3, 784)) * 0.5
    params = disc.init(jax.random.PRNGKey(0), x, train=False)["params"]
    logits = disc.apply({"params": params}, x, train=False)
    chex.assert_shape(logits, (3,))
    assert params["Maxout_0"]["pieces"]["kernel"].shape == (784, 240 * 5)
    assert params["Maxout_1"]["pieces"]["kernel"].shape == (240, 240 * 5)
    assert params["out"]["kernel"].shape == (240, 1)
    assert float(jnp.abs(params["Maxout_0"]["pieces"]["kernel"]).max()) <= 0.005


def test_maxout_takes_the_max_over_pieces():
    layer = layers.Maxout(units=2, pieces=3, init_scale=1.0)
    x = jnp.array([[1.0, -2.0]])
    params = layer.init(jax.random.PRNGKey(0), x)["params"]
    z = np.asarray(x @ params["pieces"]["kernel"] + params["pieces"]["bias"])
    expected = np.array([[max(z[0, i * 2 + j] for i in range(3)) for j in range(2)]])  # column i*units+j
    np.testing.assert_allclose(layer.apply({"params": params}, x), expected, rtol=1e-6)


def test_dropout_only_in_training():
    _, disc = paper_models()
    x = jax.random.uniform(jax.random.PRNGKey(0), (64, 784))
    params = disc.init(jax.random.PRNGKey(1), x, train=False)["params"]
    eval_a = disc.apply({"params": params}, x, train=False)
    eval_b = disc.apply({"params": params}, x, train=False)
    chex.assert_trees_all_equal(eval_a, eval_b)
    train_a = disc.apply({"params": params}, x, train=True, rngs={"dropout": jax.random.PRNGKey(2)})
    train_b = disc.apply({"params": params}, x, train=True, rngs={"dropout": jax.random.PRNGKey(3)})
    assert float(jnp.abs(train_a - eval_a).max()) > 1e-6
    assert float(jnp.abs(train_a - train_b).max()) > 1e-6


def test_generator_output_bias_is_the_marginal_logit(config, images):
    config.model.g_hidden = (8,)
    mean_pixel = images.mean(axis=0)
    mean_pixel[:3] = [0.0, 1.0, 0.25]
    setup = make_setup(config, len(images))
    state = create_train_state(config, setup, mean_pixel, len(images))
    bias = np.asarray(state.g_params["out"]["bias"])
    np.testing.assert_allclose(1.0 / (1.0 + np.exp(-bias[3:])), mean_pixel[3:], rtol=1e-5)
    np.testing.assert_allclose(
        bias[:3], [np.log(1e-7 / (1 - 1e-7)), np.log((1 - 1e-7) / 1e-7), np.log(1 / 3)], rtol=1e-4
    )


def test_jitted_initial_state_is_the_eager_one():
    """create_state(jit=True), what a launch builds: the eager state, bit for bit for the paper model
    (two replicas stacked), within float32 rounding for a DCGAN (its normal init is fused)."""
    mean = np.random.default_rng(0).uniform(0.01, 0.5, size=784).astype(np.float32)
    for config, exact in ((tiny_config(num_replicas=2), True), (tiny_dcgan_config(dcgan_mnist), False)):
        setup = make_setup(config, 500)
        eager, jitted = (create_state(config, setup, mean, 500, jit=j) for j in (False, True))
        assert jax.tree.structure(eager) == jax.tree.structure(jitted)
        if exact:
            chex.assert_trees_all_equal(eager, jitted)
        else:
            chex.assert_trees_all_close(eager, jitted, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("norm, per_example", [("batch", False), ("layer", True), ("none", True)])
def test_a_layer_norm_dcgan_discriminator_judges_each_example_alone(norm, per_example):
    """D(x_0) in train mode, with the rest of the batch changed: unchanged for 'layer' and 'none' (the
    penalty's input gradient is then per example), changed for 'batch' (batch norm mixes the batch)."""
    config = dcgan_mnist.get_config()
    config.model.ngf = config.model.ndf = 4
    config.model.d_norm = norm
    _, d = models.build_models(config)
    x = np.random.default_rng(0).uniform(size=(4, 784)).astype(np.float32)
    variables = d.init(jax.random.PRNGKey(0), x, train=False)
    other = x.copy()
    other[1:] = np.random.default_rng(1).uniform(size=(3, 784))

    def first(batch):
        out, _ = d.apply(variables, batch, train=True, mutable=["batch_stats"])
        return float(out[0])

    assert (abs(first(x) - first(other)) < 1e-6) == per_example


def test_minibatch_std_is_the_batchs_mean_feature_spread():
    """Karras et al.'s feature, by hand in float64: the mean over features of the std across the batch."""
    h = np.random.default_rng(0).normal(size=(5, 3, 3, 4)).astype(np.float32)
    out = np.asarray(layers.minibatch_std(jnp.asarray(h)))
    assert out.shape == (5, 3, 3, 5)
    np.testing.assert_array_equal(out[..., :4], h)
    want = np.mean(np.sqrt(np.var(h.astype(np.float64), axis=0) + 1e-8))
    np.testing.assert_allclose(out[..., 4], want, rtol=1e-6)


@pytest.mark.parametrize("name", ["mlp", "dcgan28"])
def test_a_minibatch_std_discriminator_sees_the_rest_of_its_batch(name):
    from experiments.configs import ring

    config = ring.get_config() if name == "mlp" else dcgan_mnist.get_config()
    config.model.d_minibatch_std = True
    if name == "dcgan28":
        config.model.ngf = config.model.ndf = 4
        config.model.d_norm = "none"
    _, d = models.build_models(config)
    x = np.random.default_rng(0).uniform(size=(4, config.model.data_dim)).astype(np.float32)
    variables = d.init(jax.random.PRNGKey(0), x, train=False)
    other = x.copy()
    other[1:] = 0.0  # the others collapse to one point: example 0's output must change
    assert (
        abs(float(d.apply(variables, x, train=False)[0]) - float(d.apply(variables, other, train=False)[0]))
        > 1e-7
    )
    assert models.d_mixes_batch(config.model)  # so a gradient penalty is refused with it


@pytest.mark.parametrize("init_std", [0.0, 0.02])
def test_pacgan_toy_networks_start_from_the_configured_weights(init_std):
    """PacGAN's ring G and maxout D with ``model.init_std``: 0.02 draws every kernel N(0, 0.02^2)
    (Blocks' IsotropicGaussian), 0 keeps flax's LeCun normal (std 1 / sqrt(fan_in)); biases start at
    0 either way."""
    from experiments.configs import pacgan_ring

    config = pacgan_ring.get_config()
    config.model.init_std = init_std
    g, d = models.build_models(config)
    g_params = g.init(jax.random.PRNGKey(0), jnp.zeros((2, 2)))["params"]
    d_params = d.init(jax.random.PRNGKey(1), jnp.zeros((2, 2)), train=False)["params"]
    kernels = {f"G {k}": v["kernel"] for k, v in g_params.items() if "kernel" in v}
    kernels |= {f"D {k}": v.get("pieces", v)["kernel"] for k, v in d_params.items()}
    assert len(kernels) == 5 + 4 and kernels["D Maxout_1"].shape == (200, 1000)
    for name, k in kernels.items():
        k = np.asarray(k, np.float64)
        want = init_std or 1 / np.sqrt(k.shape[0])
        assert abs(k.std() - want) < 4 * want / np.sqrt(2 * k.size), name  # 4 s.e. of a sample std
    biases = [
        v["bias"]
        for tree in (g_params, d_params)
        for v in jax.tree.leaves(tree, is_leaf=lambda x: "bias" in x)
    ]
    assert biases and all(float(jnp.abs(b).max()) == 0.0 for b in biases)


def test_a_negative_init_std_is_refused():
    from experiments.configs import pacgan_ring

    config = pacgan_ring.get_config()
    config.model.init_std = -0.02
    with pytest.raises(models.ConfigError, match="init_std must be >= 0"):
        models.build_models(config)
