"""The collapse warning: its measure, its rule by hand-made metrics, and a run made to collapse."""

import numpy as np
import pytest
from conftest import tiny_config
from test_train import launch, one_line_error

from gan_jax.errors import TrainError
from gan_jax.training import collapse


def test_diversity_is_zero_for_identical_samples_and_one_for_the_data():
    x = np.random.default_rng(0).uniform(size=(500, 6))
    spread = collapse.data_spread(x)
    np.testing.assert_allclose(spread, np.mean(np.std(x, axis=0)))
    assert collapse.diversity(x, spread) == pytest.approx(1.0)
    assert collapse.diversity(np.repeat(x[:1], 100, axis=0), spread) == pytest.approx(0.0, abs=1e-12)
    assert collapse.diversity(0.5 * x, spread) == pytest.approx(0.5)


def rows(*triples):
    return [{"d_fake": d, "g_grad_norm": g, "sample_diversity": s} for d, g, s in triples]


@pytest.mark.parametrize(
    "last, collapsed",
    [
        ((0.001, 0.01, 0.001), True),  # all three signs (peak 2.0: 0.005 of it)
        ((0.5, 0.01, 0.001), False),  # D has not won
        ((0.001, 0.5, 0.001), False),  # G's gradient still 0.25 of its peak
        ((0.001, 0.01, 0.3), False),  # the samples still differ
    ],
)
def test_the_warning_needs_every_sign_and_comes_once(last, collapsed):
    monitor = collapse.Monitor(tiny_config())
    for i, scalars in enumerate(rows((0.4, 1.0, 0.8), (0.2, 2.0, 0.7), last, last)):
        message = monitor.check(100 * i, 0, scalars)
        assert (message is not None) == (collapsed and i == 2), (i, message)
    if collapsed:  # each replica has its own peak: replica 1's first row is its peak, no warning
        assert monitor.check(400, 1, rows(last)[0]) is None


def test_a_critic_game_reads_no_probability_and_stop_raises():
    monitor = collapse.Monitor(tiny_config(game="hinge"))
    monitor.check(0, 0, rows((0.9, 2.0, 0.8))[0])
    assert "D(G(z))" not in monitor.check(100, 0, rows((0.9, 0.01, 0.001))[0])
    stopping = collapse.Monitor(tiny_config(on_collapse="stop"))
    stopping.check(0, 0, rows((0.4, 2.0, 0.8))[0])
    with pytest.raises(TrainError, match="step 100: the run looks collapsed.*stopped"):
        stopping.check(100, 0, rows((0.001, 0.01, 0.001))[0])


COLLAPSING = [  # a G that barely moves (lr x 1e-4) and makes one image, against a D that learns
    "--game=minimax",
    "--config.g_lr_multiplier=0.0001",
    "--config.model.d_init_scale=0.1",
    "--config.model.g_init_scale=0.000001",
    "--config.num_steps=200",
    "--config.log_every=20",
    "--config.ckpt_every=100",
    "--config.sample_every=100",
    "--config.collapse_grad_drop=0.5",
    "--config.collapse_d_fake=0.05",
]


def test_a_run_made_to_collapse_warns_once_or_stops(tmp_path):
    proc = launch(f"--workdir={tmp_path / 'warn'}", *COLLAPSING)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stdout.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "step 200: the run looks collapsed" in warnings[0]
    stop = launch(f"--workdir={tmp_path / 'stop'}", *COLLAPSING, "--config.on_collapse=stop")
    assert stop.returncode == 2 and "stopped (config.on_collapse=stop)" in one_line_error(stop)


@pytest.mark.slow  # the paper model's own no-false-alarm check is the slow test below
def test_a_run_that_trains_gives_no_warning(tmp_path):
    proc = launch(f"--workdir={tmp_path}", "--config.num_steps=200", "--config.log_every=20")
    assert proc.returncode == 0, proc.stderr
    assert "collapsed" not in proc.stdout


@pytest.mark.slow  # the paper model, 3 epochs each way (~5 min on 2 CPU cores)
def test_the_paper_models_alternating_trap_warns_and_simultaneous_does_not(tmp_path):
    """Seed 0 of the paper config: Algorithm 1's alternating updates fall into the trap within 3 epochs
    (README), the 2014 code's simultaneous updates do not."""
    common = ["--config.num_steps=3000", "--config.eval_every=0", "--config.log_every=250"]
    alt = launch(f"--workdir={tmp_path / 'alt'}", "--update=alternating", *common, config=[])
    sim = launch(f"--workdir={tmp_path / 'sim'}", *common, config=[])
    assert alt.returncode == sim.returncode == 0
    assert "looks collapsed" in alt.stdout and "looks collapsed" not in sim.stdout
