"""PacGAN packing (Lin et al. 2018): D judges m samples at once, by value."""

import jax
import jax.numpy as jnp
import numpy as np
from conftest import tiny_dcgan_config

from experiments.configs import dcgan_mnist, ring
from gan_jax.data import batches, datasets
from gan_jax.game import games, steps, updates
from gan_jax.game.state import DATA_STREAM, create_train_state, make_setup
from gan_jax.networks import latent
from gan_jax.training import validation


def test_d_judges_m_consecutive_samples_concatenated():
    """The step's D loss equals the game's loss of D on [x_0 x_1], [x_2 x_3], ... (real minibatch rows
    and G's samples of the step's z), recomputed here from the step's keys."""
    config = ring.get_config()
    config.pack, config.batch_size, config.d_loss_scale = 2, 8, 1.0
    config.model.g_hidden = config.model.d_hidden = (16,)
    validation.validate(config)
    x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    setup = make_setup(config, len(x))
    state = create_train_state(config, setup, x.mean(0), len(x))
    _, metrics = jax.jit(steps.make_step(config, setup, len(x)))(state, jnp.asarray(x))
    k_z, _, _ = jax.random.split(steps.step_key(state), 3)
    _, idx = batches.next_batch_indices(
        jax.random.fold_in(state.rng, DATA_STREAM), state.data_perm, 0, 64, 16
    )
    fakes = setup.generator.apply({"params": state.g_params}, latent.sample_noise(k_z, 16, 2))

    def d(v):
        return setup.discriminator.apply({"params": state.d_params}, v, train=True)

    def loss(real, fake):
        return float(games.GAMES[config.game].d_loss(real_logits=d(real), fake_logits=d(fake)))

    real = np.asarray(x)[np.asarray(idx)]
    packed = loss(real.reshape(8, 4), np.asarray(fakes).reshape(8, 4))
    np.testing.assert_allclose(float(metrics["d_loss"]), packed, rtol=1e-5)
    interleaved = loss(
        real.reshape(2, 8, 2).transpose(1, 0, 2).reshape(8, 4), np.asarray(fakes).reshape(8, 4)
    )
    assert abs(interleaved - packed) > 1e-4  # another grouping of the samples would be told apart


def test_images_are_packed_along_their_channels():
    config = dcgan_mnist.get_config()
    config.pack = 3
    x = np.random.default_rng(0).uniform(size=(6, 784)).astype(np.float32)
    packed = np.asarray(updates.pack(config, jnp.asarray(x))).reshape(2, 28, 28, 3)
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(packed[i, :, :, j], x[3 * i + j].reshape(28, 28))


def test_a_packed_dcgan_discriminator_takes_m_channels_and_trains():
    config = tiny_dcgan_config(dcgan_mnist, pack=2)
    validation.validate(config)
    x = np.random.default_rng(0).uniform(size=(64, 784)).astype(np.float32)
    setup = make_setup(config, len(x))
    state = create_train_state(config, setup, x.mean(0), len(x))
    first_conv = [v for k, v in state.d_params.items() if k.startswith("Conv")][0]["kernel"]
    assert first_conv.shape[2] == 2  # two grey images along the channels
    new, metrics = jax.jit(steps.make_step(config, setup, len(x)))(state, jnp.asarray(x))
    assert np.isfinite(float(metrics["d_loss"])) and int(new.data_index) == 1


def test_the_pacgan_protocol_configs_are_its_networks_and_budget():
    """G 4 x 400 ReLU with batch norm, D 3 maxout layers of 200 x 5, Adam 1e-4 / 0.8, batch 100, 400
    epochs of 100,000 points, 2,500 evaluation samples (Lin et al. 2018's toy protocol)."""
    from experiments.configs import pacgan_grid, pacgan_ring

    for module, modes in ((pacgan_ring, 8), (pacgan_grid, 25)):
        config = module.get_config()
        validation.validate(config)
        setup = make_setup(config, config.data.num_train)
        state = create_train_state(config, setup, np.zeros(2), config.data.num_train)
        g_widths = [v["kernel"].shape[1] for k, v in sorted(state.g_params.items()) if k.startswith("Dense")]
        assert g_widths == [400] * 4 and len(state.g_state["batch_stats"]) == 4
        maxouts = [v for k, v in sorted(state.d_params.items()) if k.startswith("Maxout")]
        assert [m["pieces"]["kernel"].shape[1] for m in maxouts] == [1000] * 3  # 200 units x 5 pieces
        assert (config.optim.learning_rate, config.optim.b1, config.batch_size) == (1e-4, 0.8, 100)
        assert config.num_steps == 400 * 100_000 // 100 and config.eval_samples == 2_500
        assert len(datasets.toy_centres(config.data)) == modes
