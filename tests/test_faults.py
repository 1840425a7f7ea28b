"""Faults that were silent or disguised: each a user's mistake in one line (exit 2) before anything is
written, or a bug with its traceback (exit 1)."""

import os

from test_train import launch, one_line_error


def test_an_unknown_config_game_is_one_line_naming_the_choices(tmp_path):
    workdir = tmp_path / "run"
    proc = launch(f"--workdir={workdir}", "--config.game=bogus")
    line = one_line_error(proc)
    assert proc.returncode == 2
    assert "config.game 'bogus'" in line and "choose one of: minimax, nonsaturating" in line, line
    assert not os.path.exists(workdir)


def test_a_batch_that_does_not_split_over_the_devices_is_refused_before_any_write(tmp_path):
    workdir = tmp_path / "run"
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=3", "JAX_PLATFORMS": "cpu"}
    proc = launch(f"--workdir={workdir}", "--config.data_parallel=True", env=env)  # the smoke batch: 100
    line = one_line_error(proc)
    assert proc.returncode == 2
    assert "batch_size=100 is not divisible by the 3 devices" in line, line
    assert not os.path.exists(workdir)
