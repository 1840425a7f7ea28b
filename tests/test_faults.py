"""Faults that were silent or disguised: each a user's mistake in one line (exit 2) before anything is
written, or a bug with its traceback (exit 1)."""

import asyncio
import importlib
import os
import pkgutil
import sys

import pytest
from test_train import launch, one_line_error

from experiments import configs
from gan_jax import errors
from gan_jax.metrics import evaluate
from gan_jax.training import checkpoints, validation

EXPERIMENT_CONFIGS = sorted(m.name for m in pkgutil.iter_modules(configs.__path__))


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


def test_evaluation_on_a_dataset_without_metrics_is_refused_before_any_write(tmp_path):
    workdir = tmp_path / "run"
    config = "--config=experiments/configs/mixture1d.py"
    proc = launch(f"--workdir={workdir}", "--config.eval_every=100", config=[config])
    line = one_line_error(proc)
    assert proc.returncode == 2
    assert "config.eval_every=100" in line and "'mixture1d' has no metrics" in line, line
    assert "set config.eval_every=0" in line and not os.path.exists(workdir)


@pytest.mark.parametrize("name", EXPERIMENT_CONFIGS)
def test_every_committed_config_validates(name, tmp_path):
    module = importlib.import_module(f"experiments.configs.{name}")
    config = module.get_config()
    if name == "gmmn_ae_mnist":  # GMMN+AE reads its autoencoder's run: that run's config validates, and
        config, code_space = module.get_config("autoencoder"), config  # without it GMMN+AE is refused
        code_space.mmd.autoencoder = str(tmp_path / "no_run")
        with pytest.raises(errors.ConfigError, match="holds no run .* train it first"):
            validation.validate(code_space)
    validation.validate(config)  # raises ConfigError on the first bad field
    assert config.eval_every == 0 or config.data.name in evaluate.METRIC_DATASETS


BUGGY_CONFIG = """from experiments.configs import smoke


def get_config():
    c = smoke.get_config()
    c.num_steps = {bug}
    return c
"""


@pytest.mark.parametrize("bug", ['int("x")', "c.no_such_field", 'open("/no/such/file").read()'])
def test_a_bug_in_a_config_file_keeps_its_traceback(tmp_path, bug):
    path = tmp_path / "buggy.py"
    path.write_text(BUGGY_CONFIG.format(bug=bug))
    proc = launch(f"--workdir={tmp_path / 'run'}", config=[f"--config={path}"])
    assert proc.returncode == 1, proc.stderr
    assert "bad flag" not in proc.stderr and "Traceback" in proc.stderr
    assert f'File "{path}", line 6, in get_config' in proc.stderr and bug in proc.stderr


@pytest.mark.parametrize(
    "flag, message",
    [
        ("--config.num_steps=abc", "error: bad flag: flag --config.num_steps=abc: invalid literal"),
        ("--config.no_such_field=1", 'error: bad flag: unknown config field or key: "no_such_field"'),
    ],
)
def test_a_mistyped_override_stays_one_line(tmp_path, flag, message):
    proc = launch(f"--workdir={tmp_path / 'run'}", flag)
    assert proc.returncode == 2 and one_line_error(proc).startswith(message), proc.stderr


@pytest.mark.parametrize("override", [(), ("--config.num_steps=3",)])
def test_a_config_file_that_is_not_there_is_one_line(tmp_path, override):
    path = tmp_path / "no_such_config.py"
    proc = launch(f"--workdir={tmp_path / 'run'}", *override, config=[f"--config={path}"])
    line = one_line_error(proc)
    assert proc.returncode == 2 and line.startswith("error: bad flag: ") and str(path) in line, line
    assert "No such file or directory" in line


class _ClosedLoopCallback:
    """An object whose finaliser calls into a closed asyncio loop: an unraisable "Event loop is closed"
    that has nothing to do with orbax."""

    def __init__(self, loop):
        self.loop = loop

    def __del__(self):
        self.loop.call_soon_threadsafe(print)


def closed_loop_unraisable():
    loop = asyncio.new_event_loop()
    loop.close()
    _ClosedLoopCallback(loop)  # (collected at once: its __del__ raises into sys.unraisablehook)


@pytest.fixture
def hooked(monkeypatch):
    """checkpoints' hook wrapped around a recorder, with no orbax I/O pending; the hooks restored after."""
    reports = []
    monkeypatch.setattr(sys, "unraisablehook", reports.append)
    for name, value in (("calls", 0), ("saving", set()), ("failed", False)):
        monkeypatch.setattr(checkpoints._OrbaxIO, name, value)
    checkpoints._silence_failed_io()
    assert sys.unraisablehook is not reports.append
    return reports


def test_an_unrelated_closed_event_loop_reaches_the_previous_hook(hooked):
    closed_loop_unraisable()
    assert [(r.exc_type, str(r.exc_value)) for r in hooked] == [(RuntimeError, "Event loop is closed")]


def test_a_closed_event_loop_while_orbax_io_is_abandoned_is_dropped(hooked, monkeypatch):
    monkeypatch.setattr(checkpoints._OrbaxIO, "failed", True)
    closed_loop_unraisable()
    assert hooked == []
