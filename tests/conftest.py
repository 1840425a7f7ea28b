"""Shared fixtures: a tiny config of the paper model and small fake image sets (compiles stay cheap)."""

import atexit
import os
import shutil
import sys
import tempfile

# jaxlib 0.10.0-0.10.1 log an error line for every executable they load from the persistent cache on a
# CPU whose LLVM tuning flags (+prefer-no-gather/scatter) are not host features (Zen 4; openxla/xla#44565),
# although the load succeeds. Those lines would break the tests that read a command's stderr: C++ logs below
# FATAL are silenced here, and in the launch.py subprocesses through the environment they inherit.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# One XLA compilation cache for the session (JAX's persistent cache), shared by the in-process tests
# and the launch.py subprocesses (they inherit the environment): a program that several tests run
# (the smoke config's step, its sampler, its initial state) compiles once per session, not once per
# process. A hit loads the executable that compiling would give. An outer JAX_COMPILATION_CACHE_DIR
# is kept (and not removed).
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="gan_jax_tests_xla_cache_")
    atexit.register(shutil.rmtree, os.environ["JAX_COMPILATION_CACHE_DIR"], True)
MIN_COMPILE_S = os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.3")
jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
jax.config.update("jax_persistent_cache_min_compile_time_secs", float(MIN_COMPILE_S))

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
