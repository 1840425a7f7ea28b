import numpy as np
from PIL import Image

from gan_jax.training import figures, images


def test_figure2_grid_size_and_nearest_neighbour_column():
    rng = np.random.default_rng(0)
    train_x = rng.uniform(size=(50, 784)).astype(np.float32)
    samples = rng.uniform(size=(6, 784)).astype(np.float32)
    samples[2] = train_x[17] + 0.01  # row 0's last sample sits next to training image 17
    grid = figures.nearest_neighbour_grid(samples, train_x, rows=2, cols=3)
    assert grid.shape == (2 * 29 + 1, 4 * 29 + 1) and grid.dtype == np.uint8
    nn_tile = grid[1:29, 3 * 29 + 1 : 4 * 29].astype(np.float32) / 255
    np.testing.assert_allclose(nn_tile, train_x[17].reshape(28, 28), atol=1 / 255 + 1e-6)


def test_interpolation_endpoints_and_linearity():
    a, b = np.zeros(4), np.arange(4.0)
    z = figures.interpolation_z(a, b, 5)
    np.testing.assert_allclose(z[0], a)
    np.testing.assert_allclose(z[-1], b)
    np.testing.assert_allclose(z[2], (a + b) / 2)


def test_png_writers_produce_images_of_the_expected_size(tmp_path):
    grid = images.grid(np.full((100, 784), 0.5, np.float32), 10, 10)
    images.save_png(str(tmp_path / "g.png"), grid, scale=2)
    assert Image.open(tmp_path / "g.png").size == (2 * 291, 2 * 291)
    figures.scatter_2d(str(tmp_path / "s.png"), np.zeros((10, 2)), np.ones((3, 2)))
    assert Image.open(tmp_path / "s.png").size == (400, 400)
    x = np.linspace(-3, 3, 50)
    figures.density_1d(str(tmp_path / "d.png"), x, np.exp(-(x**2)), np.zeros(20), np.full(50, 0.5))
    assert Image.open(tmp_path / "d.png").size == (500, 320)
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text(
        '{"step": 1, "d_loss": 1.0, "g_loss": 2.0}\n{"step": 2, "d_loss": 0.5, "g_loss": 1.5}\n'
    )
    figures.training_curves(str(tmp_path / "c.png"), str(metrics))
    assert Image.open(tmp_path / "c.png").size == (640, 280)


def test_colour_grid_keeps_channels_in_place():
    """Flat HWC colour images tile into an [H, W, 3] grid, each pixel's channels together."""
    samples = np.zeros((4, 2 * 2 * 3), np.float32)
    samples[3].reshape(2, 2, 3)[1, 0] = (1.0, 0.0, 0.5)  # image 3 (row 1, col 1), pixel (1, 0)
    grid = images.grid(samples, 2, 2, side=2, channels=3)
    assert grid.shape == (7, 7, 3) and grid[0, 0].tolist() == [255, 255, 255]  # the padding
    assert grid[1 + 3 + 1, 1 + 3].tolist() == [255, 0, 128] and grid[1:3, 1:3].max() == 0
