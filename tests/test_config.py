"""The config is the one source of defaults: old runs' configs and checkpoints load, upgraded by merging
into today's defaults; every recorded run's config still validates (or is refused for a stated reason)."""

import glob
import json
import os
import shutil

import numpy as np
import pytest
from conftest import ROOT
from test_train import launch, rows

from gan_jax import config as config_lib
from gan_jax.errors import ConfigError
from gan_jax.training import validation

OLD_RUN = os.path.join(ROOT, "tests", "data", "old_run")  # written by the code before this config module
# the overrides that run was made with (its config.json holds them)
OLD_FLAGS = [
    "--config.model.g_hidden=(16,)",
    "--config.model.d_units=8",
    "--config.model.d_pieces=2",
    "--config.model.z_dim=4",
    "--config.keep_checkpoints=1",
    "--config.log_every=2",
    "--config.ckpt_every=4",
    "--config.sample_every=4",
]


def test_upgrade_keeps_saved_values_and_fills_new_fields():
    with open(os.path.join(OLD_RUN, "config.json")) as f:
        saved = json.load(f)
    assert "name" not in saved["data"] and "penalty_dropout" not in saved["reg"]  # an older layout
    config = config_lib.upgrade(saved)
    assert config.model.g_hidden == (16,) and config.model.d_pieces == 2 and config.num_steps == 4
    assert config.data.name == "mnist" and config.optim.name == "paper_sgd"
    assert config.reg.penalty_dropout is True  # a field the old run lacks takes today's default
    assert config.g_optim.learning_rate is None
    validation.validate(config)


def test_an_old_runs_checkpoint_resumes_and_continues_as_a_new_run(tmp_path):
    """The old run (4 steps) resumed to 6 gives the rows of a straight 6-step run of today's code."""
    old, new = str(tmp_path / "old"), str(tmp_path / "new")
    shutil.copytree(OLD_RUN, old)
    resumed = launch(f"--workdir={old}", "--config.num_steps=6", *OLD_FLAGS)
    assert resumed.returncode == 0, resumed.stderr
    assert "from step 4" in resumed.stdout
    straight = launch(f"--workdir={new}", "--config.num_steps=6", *OLD_FLAGS)
    assert straight.returncode == 0, straight.stderr
    keys = sorted(set(rows(old)[0]))  # the old code's metrics (today's runs log sample_diversity too)
    got, want = ([[r[k] for k in keys] for r in rows(path)] for path in (old, new))
    # The recorded steps 1-4 ran on another jax release (0.10.2): equal to float32 rounding, not to the
    # bit (bit-exact resume on one release is test_resume's); the steps after the resume likewise.
    assert [r[keys.index("step")] for r in got] == [r[keys.index("step")] for r in want] == [2, 4, 6]
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize(
    "path",
    sorted(glob.glob(os.path.join(ROOT, "experiments", "results", "**", "config.json"), recursive=True)),
)
def test_every_recorded_config_upgrades_and_validates(path):
    with open(path) as f:
        config = config_lib.upgrade(json.load(f))
    if config.model.name.startswith("dcgan") and config.reg.gp_weight and config.model.d_norm == "batch":
        with pytest.raises(ConfigError, match="per-example D"):  # a penalty on a batch-norm D
            validation.validate(config)
        return
    validation.validate(config)


def test_model_data_and_optimizer_families_are_complete():
    for name in config_lib.MODELS:
        assert {"name", "z_dim", "data_dim", "num_classes", "dtype", "spectral_norm"} <= set(
            config_lib.model_config(name)
        )
    for name in config_lib.DATASETS:
        assert config_lib.data_config(name).name == name
    with pytest.raises(ConfigError, match="choose one of: paper_sgd, adam"):
        config_lib.optim_config("sgd")
