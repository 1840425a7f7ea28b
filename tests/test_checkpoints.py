"""gan_jax/training/checkpoints.py: a checkpoint that cannot be read is skipped for the one before it (left on
disk, quietly), another model's is refused naming the array, and a save on a full or read-only disk is
one WorkdirError that leaves the last good checkpoint restorable."""

import contextlib
import glob
import os
import re
import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import ROOT, tiny_config
from test_workdir import fill, tmpfs

from gan_jax.errors import CheckpointError, WorkdirError
from gan_jax.game.state import create_train_state, make_setup
from gan_jax.training import checkpoints

NUM_TRAIN = 500


def state_shapes(**model):
    """The smoke model's TrainState as shapes (with ``model``'s fields changed): no array computed."""
    config = tiny_config()
    config.model.update(model)
    setup = make_setup(config, NUM_TRAIN)
    mean = np.full(784, 0.3, np.float32)
    return jax.eval_shape(lambda: create_train_state(config, setup, mean, NUM_TRAIN))


@pytest.fixture(scope="module")
def states():
    """Two TrainStates of the smoke model, 1 and 2, every leaf distinct within and between them."""

    def filled(k):
        return jax.tree.map(
            lambda s: jnp.asarray((np.arange(s.size) + 1000 * k).reshape(s.shape), s.dtype), state_shapes()
        )

    return {1: filled(1), 2: filled(2)}


@contextlib.contextmanager
def save_steps(directory, states, steps=(1, 2)):
    """A manager of ``directory`` holding the ``steps`` of ``states``, closed by ``checkpoints.close``."""
    mngr = checkpoints.checkpoint_manager(directory, create=True)
    try:
        for step in steps:
            checkpoints.save(mngr, step, states[step])
        yield mngr
    finally:
        checkpoints.close(mngr)


def largest_file(directory) -> str:
    files = [p for p in glob.glob(os.path.join(directory, "**"), recursive=True) if os.path.isfile(p)]
    return max(files, key=os.path.getsize)


def corrupt(directory, how: str) -> str:
    """Damages one file of the checkpoint in ``directory`` (a step's); returns its path."""
    path = {
        "truncated array file": largest_file(directory),
        "truncated metadata": os.path.join(directory, "default", "_METADATA"),
        "missing metadata": os.path.join(directory, "default", "_METADATA"),
    }[how]
    if how == "missing metadata":
        os.rename(path, path + ".moved")
    else:
        os.truncate(path, os.path.getsize(path) // 2)
    return path


@pytest.mark.parametrize("how", ["truncated array file", "truncated metadata", "missing metadata"])
def test_an_unreadable_newest_checkpoint_is_skipped_for_the_one_before(states, tmp_path, how):
    """The newest step damaged: the step before it restores, equal to what was saved, the skipped step
    is reported with orbax's reason, and its files stay on disk."""
    with save_steps(str(tmp_path), states) as mngr:
        damaged = corrupt(str(tmp_path / "2"), how)
        state, step, skipped = checkpoints.restore_latest(mngr, states[2], "WORKDIR")
    chex.assert_trees_all_equal(state, states[1])
    assert step == 1
    assert [s for s, _ in skipped] == [2]
    reason = {
        "truncated array file": r"ValueError: (OUT_OF_RANGE|DATA_LOSS): Error reading",  # (tensorstore's)
        "truncated metadata": "JSONDecodeError: ",
        "missing metadata": r"no tree metadata \(_METADATA\)$",
    }[how]
    assert re.match(reason, skipped[0][1]), skipped
    assert os.path.exists(damaged if how != "missing metadata" else damaged + ".moved")
    assert sorted(os.listdir(tmp_path)) == ["1", "2"]


def test_no_readable_checkpoint_is_one_checkpoint_error_naming_each_step(states, tmp_path):
    with save_steps(str(tmp_path), states) as mngr:
        corrupt(str(tmp_path / "2"), "truncated array file")
        corrupt(str(tmp_path / "1"), "truncated metadata")
        with pytest.raises(
            CheckpointError, match=r"^no checkpoint in WORKDIR can be read \(step 2: .*; step 1: "
        ):
            checkpoints.restore_latest(mngr, states[2], "WORKDIR")
    assert sorted(os.listdir(tmp_path)) == ["1", "2"]


def test_no_checkpoint_leaves_the_state_as_it_is(states, tmp_path):
    with checkpoints.checkpoint_manager(str(tmp_path), create=True) as mngr:
        state, step, skipped = checkpoints.restore_latest(mngr, states[1], "WORKDIR")
    assert state is states[1] and step is None and skipped == []


def test_another_models_checkpoint_is_refused_naming_the_array(states, tmp_path):
    """A misfit is refused at the newest step, before any array is read (even a damaged one)."""
    with save_steps(str(tmp_path), states) as mngr:
        corrupt(str(tmp_path / "2"), "truncated array file")
        message = (
            rf"^checkpoint step 2 in {tmp_path} was written by another model or config \(this model's "
            r"d_params.Maxout_0.pieces.bias has shape \(24,\), the checkpoint's \(48,\)\); resume"
        )
        with pytest.raises(checkpoints.Misfit, match=message):
            checkpoints.restore_latest(mngr, state_shapes(d_units=8), "WORKDIR")


def test_a_skipped_checkpoint_writes_nothing_to_stderr(tmp_path):
    """orbax's failed restore leaves the other arrays' reads pending in a closed event loop, which
    report themselves through sys.unraisablehook until the interpreter exits: a process that skips a
    checkpoint must still write nothing to stderr."""
    run = subprocess.run(
        [sys.executable, "-c", SKIP_ONE, str(tmp_path)], capture_output=True, text=True, cwd=ROOT
    )
    assert (run.stdout, run.stderr) == ("1 [2] 3.0\n", "")


STATES = """
import glob, os, sys
import flax.struct, jax.numpy as jnp, numpy as np
from gan_jax.training import checkpoints

class State(flax.struct.PyTreeNode):
    arrays: dict

def state(k):  # 4 MB of incompressible arrays: I/O still in flight when the first array fails
    rng = np.random.default_rng(k)
    arrays = [np.concatenate([[k + i], rng.normal(size=2**18 - 1)]) for i in range(4)]
    return State({f"a{i}": jnp.asarray(a, jnp.float32) for i, a in enumerate(arrays)})
"""

SKIP_ONE = (
    STATES
    + """
directory = sys.argv[1]
with checkpoints.checkpoint_manager(directory, create=True) as mngr:
    for step in (1, 2):
        checkpoints.save(mngr, step, state(step))
big = max(glob.glob(os.path.join(directory, "2", "**"), recursive=True), key=os.path.getsize)
os.truncate(big, os.path.getsize(big) // 2)
with checkpoints.checkpoint_manager(directory) as mngr:
    restored, step, skipped = checkpoints.restore_latest(mngr, state(0), "WORKDIR")
print(step, [s for s, _ in skipped], float(restored.arrays["a2"][0]))
"""
)


def test_a_failed_save_writes_nothing_but_its_error(tmp_path):
    """A process whose background save fails on a full disk: the WorkdirError alone, nothing on stderr
    from orbax's threads or from the I/O they abandoned, at any time until exit."""
    with tmpfs(str(tmp_path / "disk"), "8m") as disk:
        run = subprocess.run(
            [sys.executable, "-c", FAIL_TO_SAVE, disk], capture_output=True, text=True, cwd=ROOT
        )
    error = f"cannot write checkpoint step 2 to {disk}/checkpoints: No space left on device"
    assert (run.stdout, run.stderr) == (error + "\n", "")


FAIL_TO_SAVE = (
    STATES
    + """
sys.path.insert(0, "tests")
from test_workdir import fill
from gan_jax.errors import WorkdirError
mngr = checkpoints.checkpoint_manager(os.path.join(sys.argv[1], "checkpoints"), create=True)
checkpoints.save(mngr, 1, state(1))
fill(sys.argv[1], leave=65536)
try:
    checkpoints.save(mngr, 2, state(2), wait=False)
    checkpoints.close(mngr)
except WorkdirError as e:
    print(e)
"""
)


@pytest.mark.parametrize("wait", [True, False])
def test_a_save_on_a_full_disk_is_one_workdir_error_and_the_last_checkpoint_restores(
    states, tmp_path, caplog, wait
):
    """Room for the probe file but not for the checkpoint: orbax's failed write (of a background save
    when not waited for, raised by ``wait``) is one WorkdirError; orbax logs no traceback; step 1 restores."""
    with tmpfs(str(tmp_path / "disk"), "4m") as disk:
        directory = os.path.join(disk, "checkpoints")
        with save_steps(directory, states, steps=(1,)) as mngr:
            fill(disk, leave=65536)
            message = f"^cannot write checkpoint step 2 to {directory}: No space left on device$"
            with pytest.raises(WorkdirError, match=message):
                checkpoints.save(mngr, 2, states[2], wait=wait)
                checkpoints.wait(mngr)
            assert not [r for r in caplog.records if r.exc_info]
            os.remove(os.path.join(disk, "filler"))
            state, step, skipped = checkpoints.restore_latest(mngr, states[2], "WORKDIR")
    chex.assert_trees_all_equal(state, states[1])
    assert (step, skipped) == (1, [])


def test_a_save_in_a_read_only_directory_is_one_workdir_error(states, tmp_path):
    with tmpfs(str(tmp_path / "disk"), "4m") as disk:
        directory = os.path.join(disk, "checkpoints")
        with save_steps(directory, states, steps=(1,)) as mngr:
            subprocess.run(["mount", "-o", "remount,ro", disk], check=True)
            message = f"^cannot write checkpoint step 2 to {directory}: Read-only file system$"
            with pytest.raises(WorkdirError, match=message):
                checkpoints.save(mngr, 2, states[2])
            state, step, _ = checkpoints.restore_latest(mngr, states[2], "WORKDIR")
    chex.assert_trees_all_equal(state, states[1])


def test_only_failed_writes_become_workdir_errors(states, tmp_path, monkeypatch):
    """orbax's ValueError of a tensorstore status with an OS error code, and an OSError, are write
    failures; another ValueError passes unchanged."""
    with checkpoints.checkpoint_manager(str(tmp_path), create=True) as mngr:
        for error, match in [
            (
                ValueError("RESOURCE_EXHAUSTED: Failed writing [os_error_code='28']"),
                "No space left on device",
            ),
            (PermissionError(13, "Permission denied"), "Permission denied"),
        ]:

            def fail(*args, error=error, **kwargs):
                raise error

            monkeypatch.setattr(mngr, "save", fail)
            with pytest.raises(
                WorkdirError, match=f"^cannot write checkpoint step 3 to {tmp_path}: {match}$"
            ):
                checkpoints.save(mngr, 3, states[1])
        monkeypatch.setattr(mngr, "save", lambda *args, **kwargs: int("x"))
        with pytest.raises(ValueError, match="invalid literal"):
            checkpoints.save(mngr, 3, states[1])
