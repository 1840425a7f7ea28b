"""gan_jax/training/checkpoints.py's faults: only a checkpoint proven damaged is skipped; a failed read of
files that may be intact (EIO, EACCES, ...) stops the run in one line and leaves them in place."""

import errno
import os

import chex
import orbax.checkpoint as ocp
import pytest
from test_checkpoints import save_steps, states  # noqa: F401 (a fixture)
from test_train import launch, one_line_error

from gan_jax.errors import CheckpointError
from gan_jax.training import checkpoints

TRANSIENT = {
    "EIO": OSError(errno.EIO, "Input/output error", "/ckpt/2/default/d/x"),
    "EACCES": PermissionError(errno.EACCES, "Permission denied", "/ckpt/2/default/_METADATA"),
    "tensorstore EIO": ValueError("UNKNOWN: Error reading local file: Input/output error [os_error_code=5]"),
}


def failing_restore(error, fails_for=(2,)):
    original = ocp.CheckpointManager.restore

    def restore(self, step, *args, **kwargs):
        if step in fails_for:
            raise Exception("Encountered error while reading array index") from error  # (orbax's wrapping)
        return original(self, step, *args, **kwargs)

    return restore


@pytest.mark.parametrize("name", list(TRANSIENT))
def test_a_transient_read_error_stops_and_leaves_the_checkpoint(states, tmp_path, monkeypatch, name):  # noqa: F811
    with save_steps(str(tmp_path), states) as mngr:
        monkeypatch.setattr(ocp.CheckpointManager, "restore", failing_restore(TRANSIENT[name]))
        with pytest.raises(
            CheckpointError, match=r"^cannot read checkpoint step 2 in .*: .*; it is left"
        ) as e:
            checkpoints.restore_latest(mngr, states[2], "WORKDIR")
    assert "Input/output error" in str(e.value) or "Permission denied" in str(e.value)
    assert sorted(os.listdir(tmp_path)) == ["1", "2"]


def test_a_missing_file_or_damaged_data_is_skipped(states, tmp_path, monkeypatch):  # noqa: F811
    damaged = ValueError('DATA_LOSS: Error reading "d/x" in OCDBT database: checksum mismatch')
    with save_steps(str(tmp_path), states) as mngr:
        monkeypatch.setattr(ocp.CheckpointManager, "restore", failing_restore(damaged))
        state, step, skipped = checkpoints.restore_latest(mngr, states[2], "WORKDIR")
        assert step == 1 and [s for s, _ in skipped] == [2] and "DATA_LOSS" in skipped[0][1]
        missing = FileNotFoundError(errno.ENOENT, "No such file or directory", "/ckpt/2/x")
        monkeypatch.setattr(ocp.CheckpointManager, "restore", failing_restore(missing))
        assert checkpoints.restore_latest(mngr, states[2], "WORKDIR")[1] == 1
    chex.assert_trees_all_equal(state, states[1])


def test_an_unrecognised_read_error_is_a_bug_with_its_traceback(states, tmp_path, monkeypatch):  # noqa: F811
    with save_steps(str(tmp_path), states) as mngr:
        monkeypatch.setattr(ocp.CheckpointManager, "restore", failing_restore(ValueError("a bug")))
        with pytest.raises(Exception, match="Encountered error") as e:
            checkpoints.restore_latest(mngr, states[2], "WORKDIR")
    assert not isinstance(e.value, CheckpointError)


EIO_AT_RESTORE = """
import errno
import orbax.checkpoint as ocp

def restore(self, step, *args, **kwargs):
    raise OSError(errno.EIO, "Input/output error", f"{self.directory}/{step}/default/d")

ocp.CheckpointManager.restore = restore
"""


def test_launch_stops_on_an_io_error_and_keeps_the_checkpoint(tmp_path):
    workdir = str(tmp_path / "run")
    first = launch(f"--workdir={workdir}", "--config.num_steps=10")
    assert first.returncode == 0, first.stderr
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(EIO_AT_RESTORE)  # (imported at the interpreter's start)
    env = {"PYTHONPATH": os.pathsep.join([str(inject), os.environ.get("PYTHONPATH", "")])}
    env["JAX_ENABLE_COMPILATION_CACHE"] = "false"  # (a cached executable's load may log CPU features)
    proc = launch(f"--workdir={workdir}", "--config.num_steps=20", env=env)
    line = one_line_error(proc)
    assert proc.returncode == 2
    assert line.startswith("error: cannot read checkpoint step 10 in ") and "Input/output error" in line, line
    assert "checkpoints_unreadable" not in os.listdir(workdir)
    assert "10" in os.listdir(os.path.join(workdir, "checkpoints"))
