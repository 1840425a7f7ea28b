"""gan_jax/training/workdir.py: the workdir lock against a second process (and free again once its holder is
killed), and unwritable or full workdirs told in one WorkdirError line."""

import contextlib
import os
import signal
import socket
import subprocess
import sys

import pytest
from conftest import ROOT

from gan_jax.errors import WorkdirError
from gan_jax.training import workdir

HOLD = """
import sys, time
from gan_jax.training.workdir import lock
with lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(600)
"""


@contextlib.contextmanager
def tmpfs(path, size: str, read_only: bool = False):
    """A tmpfs of ``size`` mounted at ``path`` (created) for the body; the test is skipped where mount is
    not allowed (not root)."""
    os.makedirs(path, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", path], check=True)


def fill(directory, leave: int = 0) -> None:
    """Fills the file system of ``directory`` with a file, then shortens that file by ``leave`` bytes."""
    path = os.path.join(directory, "filler")
    with open(path, "wb", buffering=0) as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 65536)
    with contextlib.suppress(OSError):  # (a partial last chunk may have been written)
        with open(path, "ab", buffering=0) as f:
            while True:
                f.write(b"\0" * 4096)
    os.truncate(path, max(0, os.path.getsize(path) - leave))


def test_the_lock_refuses_a_second_process_until_its_holder_is_killed(tmp_path):
    """A process holding the lock makes another's attempt a WorkdirError naming its pid and host (and
    this process's own second attempt too: flock is per open file); SIGKILLed, it leaves the lock free."""
    path = str(tmp_path / "run")
    env = dict(os.environ, PYTHONPATH=ROOT)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, path], stdout=subprocess.PIPE, env=env)
    try:
        assert holder.stdout.readline() == b"held\n"
        message = f"workdir {path} is in use by process {holder.pid} on {socket.gethostname()} \\(started "
        with pytest.raises(WorkdirError, match=message + ".*wait for it or use another --workdir$"):
            with workdir.lock(path):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    with workdir.lock(path):
        with pytest.raises(WorkdirError, match=f"in use by process {os.getpid()} "):
            with workdir.lock(path):
                pass
    with workdir.lock(path):  # released on leaving the body
        assert os.path.exists(os.path.join(path, workdir.LOCK_FILE))


def test_check_writable_creates_the_workdir(tmp_path):
    path = str(tmp_path / "a" / "b")
    assert workdir.prepare(os.path.relpath(path)) == path
    assert os.listdir(path) == []  # (its probe file removed)


def test_a_workdir_under_a_file_is_one_workdir_error(tmp_path):
    (tmp_path / "file").write_text("")
    path = str(tmp_path / "file" / "run")
    with pytest.raises(WorkdirError, match=f"^cannot write {path}: Not a directory"):
        workdir.check_writable(path)
    with pytest.raises(WorkdirError, match="^cannot write .*: Not a directory"):
        with workdir.lock(path):
            pass


def test_a_read_only_or_full_workdir_is_one_workdir_error(tmp_path):
    with tmpfs(str(tmp_path / "ro"), "64k", read_only=True) as path:
        with pytest.raises(WorkdirError, match=f"^cannot write {path}/run: Read-only file system"):
            workdir.check_writable(os.path.join(path, "run"))
    with tmpfs(str(tmp_path / "full"), "64k") as path:
        os.makedirs(os.path.join(path, "run"))
        fill(path)
        with pytest.raises(WorkdirError, match=f"^cannot write {path}/run: No space left on device"):
            workdir.check_writable(os.path.join(path, "run"))


def test_writing_names_the_path_and_the_reason(tmp_path):
    path = str(tmp_path / "missing" / "metrics.jsonl")
    with pytest.raises(WorkdirError, match=f"^cannot write {path}: No such file or directory$"):
        with workdir.writing(path), open(path, "w"):
            pass
    with pytest.raises(
        WorkdirError, match=rf"^cannot write {tmp_path}: No such file or directory \({tmp_path}/x/y\)$"
    ):
        with workdir.writing(str(tmp_path)), open(tmp_path / "x" / "y", "w"):
            pass
    with pytest.raises(KeyError):  # anything but an OSError passes unchanged
        with workdir.writing(path):
            raise KeyError("x")
