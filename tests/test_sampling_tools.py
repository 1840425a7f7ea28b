"""--mode=sample's tools on a trained workdir: the interpolation grid (its end tiles are G of the two ends
drawn from the run's interpolation stream, its middle tiles G of the path between them) and the
truncation trick's samples, refused in one line where they do not apply."""

import jax
import numpy as np
import pytest
from conftest import tiny_config
from test_train import launch, one_line_error

from gan_jax.errors import EvalError
from gan_jax.game import steps
from gan_jax.game.state import INTERPOLATION_STREAM
from gan_jax.networks import latent
from gan_jax.training import evaluation, images, train

STEPS = 5


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("normal_noise"))
    config = tiny_config(num_steps=4, log_every=2, ckpt_every=4, sample_every=4)
    config.model.noise = "normal"
    train.train(config, path)
    return path


def tile(grid: np.ndarray, row: int, col: int) -> np.ndarray:
    """The 28x28 image at (row, col) of a 1-px-padded grid, as G's [0, 1] pixels rounded to uint8."""
    top, left = 1 + row * 29, 1 + col * 29
    return grid[top : top + 28, left : left + 28]


def test_the_interpolation_grid_holds_g_along_each_path(workdir):
    (path,) = evaluation.interpolate_workdir(workdir, STEPS, rows=3)
    grid = images.read_png(path)[::2, ::2, 0]  # save_png doubles each pixel
    assert grid.shape == (3 * 29 + 1, STEPS * 29 + 1)
    config = evaluation.load_run_config(workdir)
    _, num_train, mean = evaluation.run_data(config)
    setup, state = evaluation.restore_generator(workdir, config, mean, num_train)
    m = config.model
    ends = latent.sample_noise(jax.random.fold_in(state.rng, INTERPOLATION_STREAM), 6, m.z_dim, "normal")
    mid = latent.interpolate(ends[2], ends[3], STEPS, "normal")[2]
    z = np.stack([ends[0], ends[1], mid])
    x = np.asarray(steps.make_sampler(setup)(steps.sampling_variables(state), z))
    want = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8).reshape(3, 28, 28)
    for got, (row, col) in zip(want, [(0, 0), (0, STEPS - 1), (1, 2)], strict=True):
        np.testing.assert_array_equal(tile(grid, row, col), got)
    assert not np.array_equal(tile(grid, 0, 0), tile(grid, 0, STEPS - 1))


def test_truncated_samples_sit_beside_the_fair_ones(workdir):
    (fair,) = evaluation.sample_workdir(workdir, 50)
    (truncated,) = evaluation.sample_workdir(workdir, 50, truncation=0.5)
    assert truncated.endswith("samples_truncated_0.5.npy")
    a, b = np.load(fair), np.load(truncated)
    assert a.shape == b.shape == (50, 784) and not np.array_equal(a, b)
    # the truncated z lie nearer 0, so the samples spread less around their mean than the fair ones
    assert b.std(axis=0).mean() < a.std(axis=0).mean()


def test_tools_that_do_not_apply_are_one_line(workdir, tmp_path):
    config = evaluation.load_run_config(workdir)
    config.model.noise = "uniform"
    with pytest.raises(EvalError, match="for a run of model.noise=normal"):
        evaluation.check_truncation(config, 0.5)
    with pytest.raises(EvalError, match="at least 2 steps"):
        evaluation.interpolate_workdir(workdir, 1)
    line = one_line_error(launch("--mode=train", "--interpolate=4", f"--workdir={tmp_path}"))
    assert "--truncation/--interpolate are for --mode=sample" in line
