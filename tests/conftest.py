"""Shared fixtures: a tiny config of the paper model and small fake image sets (compiles stay cheap)."""

import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from experiments.configs import smoke  # noqa: E402


def tiny_config(**overrides):
    config = smoke.get_config()
    for key, value in overrides.items():
        config[key] = value
    return config


def tiny_dcgan_config(module, **overrides):
    """A DCGAN config (``module``'s) shrunk for tests: 8 filters in G and D, z_dim 8, batch 8."""
    config = module.get_config()
    config.model.ngf = config.model.ndf = 8
    config.model.z_dim = 8
    config.batch_size = 8
    for key, value in overrides.items():
        config[key] = value
    return config


@pytest.fixture
def config():
    return tiny_config()


@pytest.fixture(scope="session")
def images():
    """500 fake 784-pixel images in [0, 1) (5 minibatches of 100)."""
    return np.random.default_rng(0).uniform(size=(500, 784)).astype(np.float32)
