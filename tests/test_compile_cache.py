"""launch.py's persistent compilation cache: on by default in the directory the flag or JAX's variable
names, filled by a first run and read by the next (same rows), off with an empty flag."""

import os
import subprocess
import sys

import jax
from conftest import ROOT
from test_train import SMOKE, rows

from gan_jax.training import compile_cache


def entries(path) -> list[str]:
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def launch(*args, **env):
    """launch.py in an environment without the tests' own TF_CPP_MIN_LOG_LEVEL, as a user runs it."""
    base = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    cmd = [sys.executable, "launch.py", *SMOKE, *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=base | env)


def test_a_run_fills_the_cache_the_next_reuses_it_and_empty_turns_it_off(tmp_path):
    cache = tmp_path / "xla"
    env = {"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}  # store every program, however quick
    first = launch(f"--workdir={tmp_path / 'a'}", f"--compilation_cache={cache}", **env)
    assert first.returncode == 0, first.stderr
    stored = entries(cache)
    assert stored, "the first run stored no compiled program"
    second = launch(f"--workdir={tmp_path / 'b'}", f"--compilation_cache={cache}", **env)
    assert second.returncode == 0, second.stderr
    assert second.stderr.count("cpu_aot_loader") == 0  # jaxlib 0.10.1's spurious load lines stay quiet
    assert rows(str(tmp_path / "a")) == rows(str(tmp_path / "b"))  # a loaded program computes the same
    assert set(stored) <= set(entries(cache))


def test_an_empty_flag_turns_the_cache_off(monkeypatch):
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/nonexistent/cache")
    before = jax.config.jax_compilation_cache_dir, jax.config.jax_enable_compilation_cache
    try:
        assert compile_cache.enable("") is None
        assert not jax.config.jax_enable_compilation_cache
        assert compile_cache.enable(None) == "/nonexistent/cache"  # JAX's variable, when the flag is absent
        assert jax.config.jax_compilation_cache_dir == "/nonexistent/cache"
    finally:  # nothing compiles in between: the session's cache is back before the next test
        jax.config.update("jax_compilation_cache_dir", before[0])
        jax.config.update("jax_enable_compilation_cache", before[1])
