"""config.matmul_precision reaches the compiled step: every float32 dot of the paper model's step asks for
the configured precision, through launch's own path, and the value is recorded in config.json."""

import json
import re

import jax
import numpy as np
import pytest
from conftest import tiny_config

from gan_jax.errors import ConfigError
from gan_jax.game.state import create_train_state, make_setup
from gan_jax.training import jitting, precision, train, validation

NUM = 100


def dot_precisions(hlo: str) -> set[str]:
    return set(re.findall(r"dot_general.*?precision = \[(\w+), \w+\]", hlo))


def lowered_step(config) -> str:
    setup = make_setup(config, NUM)
    images = np.random.default_rng(0).uniform(size=(NUM, config.model.data_dim)).astype(np.float32)
    state = create_train_state(config, setup, images.mean(0), NUM)
    with precision.scope(config):
        return jitting.jitted_step(config, setup, NUM).lower(state, images).as_text()


@pytest.mark.parametrize(
    "name, want", [("highest", {"HIGHEST"}), ("high", {"HIGH"}), ("default", {"DEFAULT"})]
)
def test_every_dot_of_the_step_asks_for_the_configured_precision(name, want):
    config = tiny_config(matmul_precision=name)
    found = dot_precisions(lowered_step(config))
    assert found == want, found


def test_the_paper_model_defaults_to_full_float32():
    assert tiny_config().matmul_precision == "highest"


def test_training_compiles_its_step_at_the_configured_precision(tmp_path, monkeypatch):
    seen, jitted = [], jitting.jitted_step

    def recording(*args, **kwargs):
        seen.append(jax.config.jax_default_matmul_precision)
        return jitted(*args, **kwargs)

    monkeypatch.setattr(jitting, "jitted_step", recording)
    config = tiny_config(num_steps=2, matmul_precision="high", log_every=1, ckpt_every=2, sample_every=2)
    train.train(config, str(tmp_path))
    assert seen and set(seen) == {"high"}
    with open(tmp_path / "config.json") as f:
        assert json.load(f)["matmul_precision"] == "high"


def test_an_unknown_precision_is_refused():
    with pytest.raises(ConfigError, match="choose one of: highest, high, default"):
        validation.validate(tiny_config(matmul_precision="tf32"))
