"""Guards of a run's workdir: one training process at a time, and write failures told in one line."""

import contextlib
import datetime
import fcntl
import json
import os
import socket
import tempfile

from gan_jax.errors import WorkdirError

LOCK_FILE = ".lock"


@contextlib.contextmanager
def lock(workdir: str):
    """Holds an exclusive ``fcntl.flock`` on ``workdir/.lock`` for the body, the file holding the owner's
    pid, host and start time. The kernel releases it when the process exits or is killed, so no stale
    lock survives; the file itself stays. The descriptor is not inherited by exec'd children, but a
    forked child that outlives the process keeps the lock.

    Raises ``WorkdirError`` "workdir W is in use by process PID on HOST (started T); wait for it or use
    another --workdir" if another process holds it; "cannot write PATH: REASON" (``writing``) or
    "cannot lock PATH: REASON" (a file system without locks) if the file cannot be created or locked.
    With several hosts on one shared workdir, only one (the main process) should take it."""
    path = os.path.join(workdir, LOCK_FILE)
    with writing(path):
        os.makedirs(workdir, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkdirError(
                f"workdir {workdir} is in use by {_owner(fd)}; wait for it or use another --workdir"
            ) from None
        except OSError as e:
            raise WorkdirError(f"cannot lock {path}: {e.strerror or e}") from e
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now().isoformat(timespec="seconds"),
        }
        with writing(path):
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(owner).encode(), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):  # (a later holder is not taken for this one)
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # (releases the lock)


def _owner(fd: int) -> str:
    """Who holds the lock, from its file: "process PID on HOST (started T)"; "another process" while the
    holder has yet to write it."""
    try:
        owner = json.loads(os.pread(fd, 4096, 0))
        return f"process {owner['pid']} on {owner['host']} (started {owner['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def prepare(workdir: str) -> str:
    """``workdir``'s absolute path, after ``check_writable`` (``WorkdirError`` as there)."""
    path = os.path.abspath(workdir)
    check_writable(path)
    return path


def check_writable(workdir: str) -> None:
    """Creates ``workdir`` (and its parents) and writes, syncs and removes a one-byte file in it, so that
    an unwritable workdir or a full disk fails before any data is loaded. Raises ``WorkdirError``
    "cannot write W: REASON" (as ``writing``)."""
    with writing(workdir):
        os.makedirs(workdir, exist_ok=True)
        probe_write(workdir)


def probe_write(directory: str) -> None:
    """Writes, syncs and removes a one-byte temporary file in ``directory``; OSError if any step fails.
    (Unbuffered: a buffered file that cannot flush would fail again in its finalizer.)"""
    fd, path = tempfile.mkstemp(dir=directory, prefix=".write_probe_")
    try:
        os.write(fd, b"\0")
        os.fsync(fd)
    finally:
        os.close(fd)
        os.unlink(path)


@contextlib.contextmanager
def writing(path: str):
    """Turns an OSError raised in the body (writing ``path``: metrics, sample images, config.json) into
    ``WorkdirError`` "cannot write PATH: REASON", the OS's reason (and the file it names, when another);
    other errors propagate unchanged."""
    try:
        yield
    except OSError as e:
        reason = e.strerror or str(e)
        if e.filename and os.fspath(e.filename) != os.fspath(path):
            reason += f" ({e.filename})"
        raise WorkdirError(f"cannot write {path}: {reason}") from e
