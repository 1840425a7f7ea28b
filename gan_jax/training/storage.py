"""A workdir in object storage (``gs://BUCKET/...``): the run works in a local staging directory that is
pulled from the bucket at the start and pushed to it after every checkpoint (each save awaited:
``run_checkpoints.Checkpoints``) and at the end, the files through ``etils.epath`` (on GCS: gcsfs
through fsspec, or ``tf.io.gfile`` where TensorFlow is installed; the lease below needs fsspec's file
system, gcsfs), or any fsspec file system registered for the scheme, as the tests' stand-in is.

Why a staging copy rather than each file written in place: metrics.jsonl is appended row by row and
TensorBoard's event files grow, and an object cannot be appended to; orbax's arrays go through
tensorstore, whose kvstore is GCS itself for ``gs://`` and could not be pointed at a stand-in to test
them. The bucket then holds, at any time, what the last push left there:

- a checkpoint step's files, uploaded first, then its ``gan_jax_sha256.json`` digest last: the digest
  is the step's commit mark, and a pull takes only the steps that have one (a push cut short by a
  preemption leaves a step without it, ignored, then replaced or deleted by the next push);
- config.json, metrics.jsonl (whole: a resume truncates its rows past the checkpoint, as locally),
  sample grids, TensorBoard event files (a resumed run writes a new one beside the old: TensorBoard
  reads both), eval.json and samples.npy of ``--mode=evaluate/sample``;
- the steps that orbax deletes locally (``keep_checkpoints``) are deleted from the bucket at the next
  push; a step set aside as unreadable moves to ``checkpoints_unreadable/`` there too.

One writer: ``fcntl`` cannot lock an object, so a training run holds a lease, the object
``WORKDIR/.lock`` created with fsspec's exclusive mode (``open(path, "xb")``, which gcsfs sends as
``ifGenerationMatch=0``: the create fails if the object exists), holding the holder's host, pid, start
and last renewal. A thread renews it every LEASE_TTL_S / 4 while the run holds it; each push renews it
too, first checking that it is still this run's (else the run stops before writing: another took it
over); neither renewal is conditional on the object's generation. Another run is refused while the lease
is fresh (renewed within ``LEASE_TTL_S``, and on this host, its process alive); a stale one is taken over
(overwritten, then read back). The takeover of a stale lease is not atomic (two runs starting within the
same second could both take it); ``experiments/scripts/sweep.py`` deletes the lease of a preempted
trial's VM, which it knows to be gone, before it resumes the trial.
"""

import contextlib
import datetime
import json
import os
import shutil
import socket
import tempfile
import threading
import uuid

from etils import epath

from gan_jax.errors import WorkdirError

LEASE = ".lock"
LEASE_TTL_S = 3600  # a lease not renewed for this long (its run gone or stuck) is stale
DIGEST_FILE = "gan_jax_sha256.json"  # (checkpoints.DIGEST_FILE: a step's commit mark in the bucket)
CHECKPOINTS = "checkpoints"
NOT_PULLED = ("samples", "tb", "checkpoints_unreadable", LEASE)  # outputs a run never reads back


def is_remote(path: str) -> bool:
    """Whether ``path`` is a URL (``gs://...``, ``s3://...``) rather than a local or mounted path."""
    return "://" in str(path)


def _remote(path: str) -> epath.Path:
    """``epath.Path(path)``; ``WorkdirError`` in one line when no file system serves its scheme."""
    try:
        remote = epath.Path(path)
        remote.exists()
    except (ImportError, NotImplementedError, KeyError) as e:
        scheme = str(path).split("://")[0]
        raise WorkdirError(
            f"cannot open workdir {path}: no file system for {scheme}:// ({type(e).__name__}: "
            f"{_one_line(e)}); for gs:// install gcsfs (pip install gcsfs)"
        ) from None
    except Exception as e:  # (credentials, network: the file system's own errors)
        raise WorkdirError(f"cannot reach workdir {path}: {type(e).__name__}: {_one_line(e)}") from None
    return remote


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


@contextlib.contextmanager
def io_errors(what: str):
    """Turns an error of the bucket's file system into ``WorkdirError`` "cannot WHAT: REASON"."""
    try:
        yield
    except WorkdirError:
        raise
    except Exception as e:  # gcsfs raises its own HTTP errors as well as OSError
        raise WorkdirError(f"cannot {what}: {type(e).__name__}: {_one_line(e)}") from e


def _files(root: epath.Path, relative: str = ""):
    """The files under ``root`` (relative paths), listed through ``iterdir`` (an object store's
    "directories" are prefixes)."""
    folder = root / relative if relative else root
    for child in sorted(folder.iterdir(), key=lambda p: p.name):
        name = f"{relative}/{child.name}" if relative else child.name
        if child.is_dir():
            yield from _files(root, name)
        else:
            yield name


def _step_of(relative: str) -> int | None:
    """The checkpoint step a relative path lies in (``checkpoints/<step>/...``), else None."""
    parts = relative.split("/")
    return int(parts[1]) if len(parts) > 2 and parts[0] == CHECKPOINTS and parts[1].isdigit() else None


def _copy(source, target) -> None:
    """One file from ``source`` to ``target`` (epath or local paths), a local target's parents made (an
    object store has no directories: gcsfs's makedirs would even create a missing bucket)."""
    if not is_remote(target):
        os.makedirs(os.path.dirname(os.fspath(target)), exist_ok=True)
    target = epath.Path(target)
    with epath.Path(source).open("rb") as f, target.open("wb") as g:
        shutil.copyfileobj(f, g, 1 << 20)


class Mirror:
    """A remote workdir and its local staging copy: ``pull`` once, ``push`` after each checkpoint."""

    def __init__(self, remote: str, local: str, lease: "Lease | None" = None):
        self.remote, self.local, self.lease = _remote(remote), local, lease
        self.pushed: dict[str, tuple] = {}  # relative path: (size, mtime) of the local file pushed or pulled

    def remote_path(self, local_path: str) -> str:
        """The bucket's path of a file of the staging directory."""
        return os.fspath(self.remote / os.path.relpath(local_path, self.local))

    def pull(self) -> None:
        """Copies the workdir's files from the bucket into the staging directory, but for the outputs no
        run reads (``NOT_PULLED``) and the checkpoint steps without a digest (uncommitted)."""
        with io_errors(f"read workdir {self.remote}"):
            if not self.remote.is_dir():
                return
            names = [n for n in _files(self.remote) if n.split("/")[0] not in NOT_PULLED]
            committed = {_step_of(n) for n in names if n.endswith("/" + DIGEST_FILE)}
            for name in names:
                if _step_of(name) is None or _step_of(name) in committed:
                    _copy(self.remote / name, os.path.join(self.local, name))
                    self.pushed[name] = self._stat(name)

    def push(self, checkpoints: bool = True) -> None:
        """Uploads the staging directory's new or changed files: each complete checkpoint step's files,
        its digest last; then the other files; then (``checkpoints``) deletes the bucket's steps that are
        no longer local. With a lease, renews it first (``WorkdirError`` if another run took it)."""
        if self.lease is not None:
            self.lease.renew()
        local = epath.Path(self.local)
        names = [n for n in _files(local) if n != LEASE and not n.startswith(".write_probe_")]
        steps = {_step_of(n) for n in names if n.endswith("/" + DIGEST_FILE)}
        # under checkpoints/, only committed steps: one in flight (orbax's *.orbax-checkpoint-tmp), or
        # not yet digested, waits for a later push
        ready = [n for n in names if n.split("/")[0] != CHECKPOINTS or _step_of(n) in steps]
        order = sorted(ready, key=lambda n: (_step_of(n) is None, n.endswith(DIGEST_FILE), n))
        with io_errors(f"write workdir {self.remote}"):
            for name in order:
                stat = self._stat(name)
                if self.pushed.get(name) != stat:
                    _copy(os.path.join(self.local, name), self.remote / name)
                    self.pushed[name] = stat
            remote_steps = self.remote / CHECKPOINTS
            if checkpoints and remote_steps.is_dir():
                for child in remote_steps.iterdir():
                    if child.name.isdigit() and int(child.name) not in steps:
                        child.rmtree()

    def _stat(self, name: str) -> tuple:
        st = os.stat(os.path.join(self.local, name))
        return st.st_size, st.st_mtime_ns


class Staged:
    """Where a run works: ``local`` (a local workdir itself, or the staging copy of a remote one)."""

    def __init__(self, local: str, mirror: Mirror | None = None):
        self.local, self.mirror = local, mirror

    def push(self) -> None:
        if self.mirror is not None:
            self.mirror.push()

    def path(self, local_path: str) -> str:
        """Where ``local_path`` (a file the run wrote) is kept: its bucket path for a remote workdir."""
        return local_path if self.mirror is None else self.mirror.remote_path(local_path)


@contextlib.contextmanager
def staged(workdir: str, train: bool = False):
    """A ``Staged`` workdir for the body. A local one is itself, nothing more. A remote one is pulled
    into a fresh staging directory (under ``$GAN_JAX_STAGING``, else the system's temporary directory),
    pushed when the body ends (also on an error or a signal's stop, which saved a checkpoint), and the
    staging directory removed. With ``train``: the workdir's lease is held for the body (``Lease``)
    and each push also deletes the bucket's checkpoints dropped locally."""
    if not is_remote(workdir):
        yield Staged(workdir)
        return
    _remote(workdir)  # (an unknown scheme fails before anything is made)
    root = os.environ.get("GAN_JAX_STAGING") or None
    if root:
        os.makedirs(root, exist_ok=True)
    local = tempfile.mkdtemp(prefix="gan_jax_staging_", dir=root)
    try:
        with Lease(workdir) if train else contextlib.nullcontext() as lease:
            mirror = Mirror(workdir, local, lease)
            mirror.pull()
            try:
                yield Staged(local, mirror)
            except BaseException:
                with contextlib.suppress(Exception):  # (the body's own error is the one to tell)
                    mirror.push(checkpoints=train)
                raise
            mirror.push(checkpoints=train)
    finally:
        shutil.rmtree(local, ignore_errors=True)


def _owner_text(owner: dict) -> str:
    return (
        f"process {owner.get('pid')} on {owner.get('host')} (started {owner.get('started')}, "
        f"lease renewed {owner.get('renewed')})"
    )


class Lease:
    """The single-writer guard of a remote workdir: the object ``WORKDIR/.lock`` (see the module's
    docstring), held from ``__enter__`` to ``__exit__`` (deleted then, if still this run's). While held,
    a thread renews it every ttl_s / 4, so a run that saves less often than ttl_s keeps it; each push
    renews it too, and stops the run if it is no longer its own."""

    def __init__(self, workdir: str, ttl_s: float = LEASE_TTL_S):
        self.workdir, self.path, self.ttl_s = workdir, _remote(workdir) / LEASE, ttl_s
        now = _now()
        self.owner = {
            "id": uuid.uuid4().hex,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": now,
            "renewed": now,
        }

    def __enter__(self):
        self._acquire()
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name="gan_jax-lease", daemon=True)
        self._beat.start()
        return self

    def _heartbeat(self) -> None:
        """``renew`` every ttl_s / 4 until ``__exit__``; a failure is left for the next push's renew to
        report (it raises there, where the run can stop cleanly)."""
        while not self._stop.wait(self.ttl_s / 4):
            with contextlib.suppress(Exception):
                self.renew()

    def _acquire(self) -> None:
        import fsspec  # (epath's open has no exclusive mode; fsspec's, as gcsfs implements it, has)

        with io_errors(f"lock workdir {self.workdir}"):
            fs, path = fsspec.core.url_to_fs(os.fspath(self.path))
            try:
                with fs.open(path, "xb") as f:
                    f.write(json.dumps(self.owner).encode())
                return
            except FileExistsError:
                held = self._read()
            if held is not None and self._fresh(held):
                raise WorkdirError(
                    f"workdir {self.workdir} is in use by {_owner_text(held)}; wait for it or use another "
                    f"--workdir (if that process is gone, delete {self.path})"
                )
            self._write()  # a stale lease (its holder dead or silent for ttl_s): taken over
            if (self._read() or {}).get("id") != self.owner["id"]:
                raise WorkdirError(f"workdir {self.workdir}: another process took its stale lease first")

    def __exit__(self, *exc):
        self._stop.set()
        self._beat.join()
        with contextlib.suppress(Exception):
            if (self._read() or {}).get("id") == self.owner["id"]:
                self.path.unlink()

    def renew(self) -> None:
        """Rewrites the lease with the time now; ``WorkdirError`` if it is no longer this run's."""
        with io_errors(f"renew the lease {self.path}"):
            held = self._read()
            if held is None or held.get("id") != self.owner["id"]:
                who = _owner_text(held) if held else "nobody (deleted)"
                raise WorkdirError(
                    f"workdir {self.workdir}: this run's lease is now held by {who}; stopped without "
                    "writing to the bucket"
                )
            self.owner["renewed"] = _now()
            self._write()

    def _fresh(self, held: dict) -> bool:
        """Renewed within ttl_s, and (on this host) its process alive."""
        if held.get("host") == socket.gethostname() and isinstance(held.get("pid"), int):
            try:
                os.kill(held["pid"], 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                pass
        try:
            renewed = datetime.datetime.fromisoformat(held["renewed"])
        except (KeyError, TypeError, ValueError):
            return False
        age = datetime.datetime.now(datetime.UTC) - renewed
        return age.total_seconds() < self.ttl_s

    def _read(self) -> dict | None:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            return {}

    def _write(self) -> None:
        self.path.write_text(json.dumps(self.owner))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
