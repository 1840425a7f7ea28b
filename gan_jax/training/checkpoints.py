"""Checkpoints of the train state: orbax's manager, saves that fail in one line, and restores that tell
a damaged checkpoint (skipped) from one written by another model (refused) and from a failed read of
intact files (stopped). Each step's files get a sha256 digest once saved, checked at restore.

orbax writes a step into ``<step>.orbax-checkpoint-tmp`` and renames it once complete, so a failed save
leaves the steps before it as they were. Its failures are noisy: a full disk logs every background
thread's traceback, and a failed read or write leaves I/O pending in a closed event loop that reports
itself later, up to the interpreter's exit; both are silenced here, where this module raises the
failure as one line instead.
"""

import asyncio
import dataclasses
import errno
import gc
import hashlib
import inspect
import json
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp

from gan_jax.errors import CheckpointError, WorkdirError
from gan_jax.networks import layers
from gan_jax.training.workdir import probe_write

MODEL_STATE_FIELDS = ("g_state", "d_state")
DIGEST_FILE = "gan_jax_sha256.json"  # in a step's directory: the sha256 of each of its files at save
_ORBAX_DIR = os.path.dirname(ocp.__file__)
_ASYNCIO_DIR = os.path.dirname(asyncio.__file__)
_ABSL_LOGGER = "absl"  # orbax logs through absl's logger


class Misfit(CheckpointError, ValueError):
    """A checkpoint written by another model or config: an array it lacks, holds extra, or holds with
    another shape."""


class Unreadable(CheckpointError):
    """A checkpoint whose files are proven damaged (truncated, missing, not valid JSON, or changed since
    their sha256 at save); ``step`` and ``reason`` (the underlying error's first line) are kept for
    ``restore_latest``'s report."""

    def __init__(self, directory, step: int, reason: str):
        super().__init__(f"checkpoint step {step} in {directory} cannot be read: {reason}")
        self.step, self.reason = step, reason


def checkpoint_manager(directory: str, **options) -> ocp.CheckpointManager:
    """An orbax manager of TrainState checkpoints (``ocp.args.StandardSave``) in ``directory``, with the
    handler registered so that a step's saved tree structure can be read (``restore_checkpoint``).
    Also silences the reports of failed I/O (``_silence_failed_io``), which ``save`` / ``wait`` /
    ``close`` and the restores raise as one line instead."""
    _silence_failed_io()
    return ocp.CheckpointManager(
        os.path.abspath(directory),  # (orbax refuses a relative path)
        options=ocp.CheckpointManagerOptions(**options),
        item_handlers=ocp.StandardCheckpointHandler(),
    )


def save(mngr: ocp.CheckpointManager, step: int, state, wait: bool = True) -> None:
    """Checkpoint ``step`` of ``state`` (forced, whatever the manager's interval); awaited when ``wait``,
    else written in the background and awaited by the next ``save``, ``wait`` or ``close``.

    Raises ``WorkdirError`` "cannot write checkpoint step N to DIR: REASON" when the directory cannot be
    written (found before orbax starts, by writing a probe file: orbax's background threads would
    otherwise wait minutes for a step directory it failed to create) or the write fails (a full disk:
    of this step, or of an earlier background save, then the step named). The steps written before are
    left intact, and so is the failed step's temporary directory. Any other error propagates as it is."""
    _await_save(mngr)
    directory = str(mngr.directory)
    try:
        probe_write(directory)
    except OSError as e:
        raise WorkdirError(f"cannot write checkpoint step {step} to {directory}: {e.strerror or e}") from e
    _write(mngr, step, lambda: mngr.save(step, args=ocp.args.StandardSave(state), force=True))
    _OrbaxIO.saving.add(id(mngr))  # (its I/O goes on in orbax's threads until awaited)
    _UNDIGESTED.setdefault(id(mngr), []).append(step)  # (its digest is written once orbax is done)
    if wait:
        _await_save(mngr)


def wait(mngr: ocp.CheckpointManager) -> None:
    """Waits for a background save; ``WorkdirError`` (as ``save``) if its write failed."""
    _await_save(mngr)


def _await_save(mngr: ocp.CheckpointManager) -> None:  # (``save``'s argument ``wait`` hides ``wait``)
    """Waits for a background save, then writes the digest of each step saved since (``_write_digest``)."""
    steps = _UNDIGESTED.pop(id(mngr), [])
    try:
        _write(mngr, mngr.latest_step(), mngr.wait_until_finished)  # (the step in flight is the latest)
    finally:
        _OrbaxIO.saving.discard(id(mngr))
    for step in steps:
        _write(mngr, step, lambda step=step: _write_digest(mngr, step))


_UNDIGESTED: dict = {}  # id(manager): the steps it saved whose digest is not written yet


def _step_files(directory: str) -> list[str]:
    """The files of a step's ``directory`` (relative paths, sorted), its digest file aside."""
    files = []
    for root, _, names in os.walk(directory):
        files += [os.path.relpath(os.path.join(root, n), directory) for n in names]
    return sorted(f for f in files if not f.startswith(DIGEST_FILE))


def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _write_digest(mngr: ocp.CheckpointManager, step: int) -> None:
    """``DIGEST_FILE`` in ``step``'s directory: the sha256 of each of its files, as orbax finished them
    (orbax keeps no checksums: a flipped byte would restore silently). Host 0 writes it (the files are
    shared), atomically (a temporary file renamed)."""
    directory = os.path.join(str(mngr.directory), str(step))
    if jax.process_index() != 0 or not os.path.isdir(directory):  # (a step orbax already dropped)
        return
    digests = {name: _sha256(os.path.join(directory, name)) for name in _step_files(directory)}
    path = os.path.join(directory, DIGEST_FILE)
    with open(path + ".tmp", "w") as f:
        json.dump({"sha256": digests}, f, indent=0, sort_keys=True)
    os.replace(path + ".tmp", path)


def _verify_digest(mngr: ocp.CheckpointManager, step: int) -> None:
    """``Unreadable`` unless each file ``step``'s ``DIGEST_FILE`` lists has the sha256 it had at save
    (a file missing or changed; a digest file that does not parse); nothing to check for a step saved
    without one (before digests were written). ``CheckpointError`` for a failed read (``_read``)."""
    directory = os.path.join(str(mngr.directory), str(step))
    name = DIGEST_FILE
    try:
        with open(os.path.join(directory, DIGEST_FILE)) as f:
            listed = json.load(f)["sha256"]
        for name, want in listed.items():
            if _sha256(os.path.join(directory, name)) != want:
                raise Unreadable(
                    mngr.directory, step, f"{name} differs from its sha256 at save ({DIGEST_FILE})"
                )
    except FileNotFoundError:
        if name == DIGEST_FILE:
            return
        raise Unreadable(mngr.directory, step, f"{name} is missing (listed in {DIGEST_FILE})") from None
    except OSError as e:
        raise _read_failure(mngr.directory, step, _reason(e)) from None
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise Unreadable(mngr.directory, step, f"{DIGEST_FILE} does not parse: {_reason(e)}") from None


def close(mngr: ocp.CheckpointManager) -> None:
    """Waits for a background save (``WorkdirError`` as ``save`` if it failed), then in any case closes
    the manager's threads and collects, quietly, the I/O that a failed read or write abandoned (which
    the manager's threads held)."""
    try:
        wait(mngr)
    finally:
        mngr.close()
        _collect_abandoned()


def restore_latest(mngr: ocp.CheckpointManager, state, workdir: str, maxout_pieces: int | None = None):
    """(state, step, skipped): the newest checkpoint of ``mngr`` that can be read, restored into
    ``state`` as ``restore_checkpoint`` does; ``skipped`` lists (step, reason) of each newer one that
    could not be read (left on disk: nothing is ever deleted). With no checkpoint: (state, None, []).

    Raises ``Misfit`` (a ``CheckpointError``) at once for a checkpoint written by another model or
    config, naming the first array that differs; ``CheckpointError`` naming every step when none can be
    read. Other errors (bugs) propagate with their traceback."""
    skipped = []
    for step in sorted(mngr.all_steps(), reverse=True):
        try:
            return restore_checkpoint(mngr, step, state, maxout_pieces), step, skipped
        except Unreadable as e:
            skipped.append((step, e.reason))
    if skipped:
        steps = "; ".join(f"step {step}: {reason}" for step, reason in skipped)
        raise CheckpointError(
            f"no checkpoint in {workdir} can be read ({steps}); move them away to start afresh, "
            "or use another --workdir"
        )
    return state, None, skipped


def restore_checkpoint(mngr: ocp.CheckpointManager, step: int, state, maxout_pieces: int | None = None):
    """Checkpoint ``step`` restored into ``state``'s structure (and shardings). Earlier layouts also
    restore, read from the saved tree's metadata: a model without state takes checkpoints written
    before TrainState had ``g_state`` / ``d_state``; a maxout D takes those whose Maxout layers kept
    their columns unit-major (``layers.LEGACY_MAXOUT_DENSE``), converted to today's piece-major
    columns (``maxout_pieces``: the model's pieces per unit).

    Raises ``Misfit`` for another model's checkpoint (checked on the metadata, before any array is
    read), ``Unreadable`` when orbax cannot read the step's files, finds no tree metadata, or a file
    differs from its sha256 at save (``DIGEST_FILE``), ``CheckpointError`` for a failed read (EIO,
    EACCES, ...: ``_read``), and
    ValueError for a unit-major checkpoint without ``maxout_pieces`` (a caller's mistake)."""
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, state)
    saved = _read(mngr, step, lambda: mngr.item_metadata(step))
    if saved is None:  # (orbax's answer when the step's _METADATA is missing)
        raise Unreadable(mngr.directory, step, "no tree metadata (_METADATA)")
    saved_flat = ocp.tree.to_flat_dict(dict(saved))
    unit_major = _has_unit_major_maxout(saved_flat)
    unit_major &= any(_is_maxout(k) for path in ocp.tree.to_flat_dict(target) for k in path)
    if unit_major:
        if not maxout_pieces:
            raise ValueError(
                "the checkpoint's maxout layers are unit-major; restoring it needs maxout_pieces"
            )
        target = _rename_maxout(target, layers.MAXOUT_DENSE, layers.LEGACY_MAXOUT_DENSE)
    try:
        _check_fits(saved_flat, ocp.tree.to_flat_dict(target))  # (before orbax reads any array)
        restored = _restore_arrays(mngr, step, target, saved)
        _verify_digest(mngr, step)  # (after orbax's read, whose own reason names a truncated file)
        if unit_major:
            restored = _rename_maxout(
                _piece_major(restored, maxout_pieces), layers.LEGACY_MAXOUT_DENSE, layers.MAXOUT_DENSE
            )
    except Misfit as e:
        raise Misfit(
            f"checkpoint step {step} in {mngr.directory} was written by another model or config ({e}); "
            "resume it with the config it was trained with, or use another --workdir"
        ) from None
    return state.replace(**{f.name: getattr(restored, f.name) for f in dataclasses.fields(state)})


def _restore_arrays(mngr: ocp.CheckpointManager, step: int, target, saved):
    """The arrays of ``step`` in ``target``'s structure. A field the checkpoint lacks (written before
    TrainState had it: ``g_state`` / ``d_state`` of a model without state, ``prev_grads`` when not
    optimistic; ``_check_fits`` let it through only with no arrays) keeps ``target``'s value."""
    fields = {f.name: getattr(target, f.name) for f in dataclasses.fields(target)}
    if all(name in saved for name in fields):
        return _read(mngr, step, lambda: mngr.restore(step, args=ocp.args.StandardRestore(target)))
    present = {name: value for name, value in fields.items() if name in saved}
    restored = _read(mngr, step, lambda: mngr.restore(step, args=ocp.args.StandardRestore(present)))
    return target.replace(**restored)


def _is_maxout(key) -> bool:
    return isinstance(key, str) and key.startswith("Maxout_") and key[len("Maxout_") :].isdigit()


def _under_unit_major_maxout(keys) -> bool:
    """Whether a path (its keys) passes through a Maxout layer's Dense under its unit-major name."""
    return any(
        _is_maxout(a) and b == layers.LEGACY_MAXOUT_DENSE for a, b in zip(keys, keys[1:], strict=False)
    )


def _has_unit_major_maxout(flat: dict) -> bool:
    return any(_under_unit_major_maxout(path) for path in flat)


def _rename_maxout(tree, old: str, new: str, parent=None):
    """``tree`` with every Maxout layer's ``old`` entry renamed ``new`` (parameters, optimizer moments,
    anything that mirrors them): dicts, tuples, named tuples and flax structs are rebuilt."""
    if isinstance(tree, dict):
        return {
            (new if k == old and _is_maxout(parent) else k): _rename_maxout(v, old, new, k)
            for k, v in tree.items()
        }
    if dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        fields = {f.name: _rename_maxout(getattr(tree, f.name), old, new) for f in dataclasses.fields(tree)}
        return dataclasses.replace(tree, **fields)
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree)(*(_rename_maxout(v, old, new) for v in tree))
    if isinstance(tree, tuple | list):
        return type(tree)(_rename_maxout(v, old, new) for v in tree)
    return tree


def _piece_major(tree, pieces: int):
    """The unit-major Maxout columns (j * pieces + i: piece i of unit j) of every kernel and bias under
    a Maxout layer's legacy Dense, reordered piece-major (i * units + j); leading axes (replicas) kept.
    ``Misfit`` when a layer's columns are not a multiple of ``pieces``."""

    def convert(path, x):
        keys = [getattr(k, "key", None) for k in path]
        if not _under_unit_major_maxout(keys) or keys[-1] not in ("kernel", "bias"):
            return x
        if x.shape[-1] % pieces:
            raise Misfit(f"a maxout layer of {x.shape[-1]} columns cannot hold {pieces} pieces per unit")
        units = x.shape[-1] // pieces
        moved = jnp.swapaxes(x.reshape(*x.shape[:-1], units, pieces), -1, -2)
        return moved.reshape(x.shape)

    return jax.tree_util.tree_map_with_path(convert, tree)


def _check_fits(saved: dict, target: dict) -> None:
    """``Misfit`` (a ValueError too) naming the first array of ``target`` (flat {path: array}) that the
    flat ``saved`` tree lacks or holds with another shape, else the first array only ``saved`` holds
    (parameters named before optimizer state). ``saved`` may lack ``MODEL_STATE_FIELDS`` altogether: a
    legacy checkpoint, which fits a model without state."""
    saved_fields = {path[0] for path in saved}
    for path, want in target.items():
        name = ".".join(map(str, path))
        if path[0] in MODEL_STATE_FIELDS and path[0] not in saved_fields:
            raise Misfit(f"the checkpoint has no {path[0]} (model state) but this model keeps one")
        if path not in saved:
            raise Misfit(f"this model's {name} is not in the checkpoint")
        if tuple(saved[path].shape) != tuple(want.shape):
            got = tuple(saved[path].shape)
            raise Misfit(f"this model's {name} has shape {tuple(want.shape)}, the checkpoint's {got}")
    extra = sorted(
        saved.keys() - target.keys(), key=lambda p: (not str(p[0]).endswith("_params"), tuple(map(str, p)))
    )
    if extra:
        names = ", ".join(".".join(map(str, p)) for p in extra[:3])
        raise Misfit(f"the checkpoint holds arrays this model lacks: {names}")


def _read(mngr: ocp.CheckpointManager, step: int, read: Callable):
    """``read()``, an orbax read of ``step``, with orbax's log records muted. Raises ``Unreadable`` for
    what orbax raises when the files are proven damaged (``_damaged``: a missing file or item directory,
    tensorstore's DATA_LOSS / OUT_OF_RANGE / FAILED_PRECONDITION / NOT_FOUND for a truncated or missing
    array file, JSONDecodeError for a truncated metadata file), also through the bare Exception orbax
    wraps a failed array read in; ``CheckpointError`` for a failed read of files that may be intact
    (``_failed_io``: EIO, EACCES, ...), the checkpoint left as it is. Other errors propagate unchanged."""
    logger = logging.getLogger(_ABSL_LOGGER)
    muted = _OrbaxLogFilter()
    logger.addFilter(muted)
    _OrbaxIO.calls += 1
    try:
        return read()
    except Exception as e:
        _OrbaxIO.failed = True  # (its abandoned I/O may report itself at any time until exit)
        if not isinstance(e, OSError | ValueError | KeyError) and type(e) is not Exception:
            raise
        failed_io = _failed_io(e)
        if failed_io is None and not _damaged(e):
            raise
        reason = _reason(e)
    finally:
        _OrbaxIO.calls -= 1
        logger.removeFilter(muted)
    _collect_abandoned()  # (now that the error holding them is dropped)
    if failed_io is not None:
        raise _read_failure(mngr.directory, step, reason)
    raise Unreadable(mngr.directory, step, reason)


def _read_failure(directory, step: int, reason: str) -> CheckpointError:
    return CheckpointError(
        f"cannot read checkpoint step {step} in {directory}: {reason}; it is left as it is (not skipped): "
        "rerun once the error is fixed"
    )


_MISSING = (errno.ENOENT, errno.ENOTDIR)
_DAMAGED_STATUS = re.compile(r"(DATA_LOSS|OUT_OF_RANGE|FAILED_PRECONDITION|NOT_FOUND): ")
_ORBAX_MISSING_ITEM = "Unable to retrieve default item"  # (orbax's ValueError for a missing item dir)


def _os_error_code(error: BaseException) -> int | None:
    """The ``os_error_code`` of a tensorstore status (a ValueError), else None."""
    code = re.search(r"\[os_error_code='?(\d+)'?\]", str(error)) if isinstance(error, ValueError) else None
    return int(code.group(1)) if code else None


def _failed_io(error: BaseException) -> str | None:
    """The OS's reason when ``error`` or one it came from is a failed read of files that may be intact:
    an OSError, or a tensorstore status with an ``os_error_code``, other than a missing file (EIO,
    EACCES, ENOSPC, ...: transient, or the machine's fault); else None."""
    for e in _chain(error):
        code = e.errno if isinstance(e, OSError) else _os_error_code(e)
        if code in _MISSING:
            return None
        if isinstance(e, OSError):
            return e.strerror or str(e) or type(e).__name__
        if code is not None:
            return os.strerror(code)
    return None


def _damaged(error: BaseException) -> bool:
    """Whether ``error`` or one it came from proves the checkpoint's files damaged: a missing file or
    item directory, a metadata file that does not parse, an array file that is cut short or garbled."""
    for e in _chain(error):
        if isinstance(e, KeyError | json.JSONDecodeError) or (isinstance(e, OSError) and e.errno in _MISSING):
            return True
        if isinstance(e, ValueError) and (
            _DAMAGED_STATUS.match(str(e))
            or str(e).startswith(_ORBAX_MISSING_ITEM)
            or _os_error_code(e) in _MISSING
        ):
            return True
    return False


def _write(mngr: ocp.CheckpointManager, step: int | None, write: Callable) -> None:
    """``write()``, an orbax save or wait. Raises ``WorkdirError`` for a failed write
    (``_write_failure``); other errors propagate unchanged."""
    _OrbaxIO.calls += 1
    try:
        write()
        return
    except Exception as e:
        _OrbaxIO.failed = True  # (its abandoned I/O may report itself at any time until exit)
        reason = _write_failure(e)
        if reason is None:
            raise
    finally:
        _OrbaxIO.calls -= 1
    _collect_abandoned()  # (now that the error holding them is dropped)
    raise WorkdirError(f"cannot write checkpoint step {step} to {mngr.directory}: {reason}")


def _chain(error: BaseException):
    """``error`` and the exceptions it was raised from or during, outermost first."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _write_failure(error: BaseException) -> str | None:
    """The OS's reason when ``error`` or one it came from is a failed write: an OSError, or the ValueError
    of a tensorstore status carrying an ``os_error_code`` (what orbax raises for a full disk); else None."""
    for e in _chain(error):
        if isinstance(e, OSError):
            return e.strerror or str(e)
        code = _os_error_code(e)
        if code is not None:
            return os.strerror(code)
    return None


def _reason(error: BaseException, limit: int = 300) -> str:
    """The innermost error of ``error``'s chain as "Type: first line" (cut to ``limit`` characters):
    orbax's own message for a failed array read is a page of TensorStore spec, its cause one line."""
    root = list(_chain(error))[-1]
    if isinstance(root, OSError) and root.strerror:
        line = f"{root.strerror}: {root.filename}" if root.filename else root.strerror
    else:
        line = (str(root).strip().splitlines() or [""])[0]
    text = f"{type(root).__name__}: {line}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _OrbaxLogFilter(logging.Filter):
    """Drops orbax's records (during a read: what fails is raised as ``Unreadable`` instead)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.pathname.startswith(_ORBAX_DIR)


class _WriteFailureLogFilter(logging.Filter):
    """Drops orbax's records whose exception is a failed write (``_write_failure``): the tracebacks that
    each of its background save threads logs for a full disk, raised by ``save`` as one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (error is not None and record.pathname.startswith(_ORBAX_DIR) and _write_failure(error))


class _AbandonedTaskLogFilter(logging.Filter):
    """Drops asyncio's "... exception was never retrieved" for orbax's tasks and futures (their coroutine
    or exception from orbax's code, or a failed write's error from tensorstore): the reads or writes
    that a failed restore or save abandoned, whose failure is raised as one line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "exception was never retrieved" not in str(record.msg):
            return True
        error = record.exc_info[1] if record.exc_info else None
        abandoned = f"defined at {_ORBAX_DIR}" in record.getMessage() or _raised_in_orbax(error)
        return not (abandoned or (error is not None and _write_failure(error)))


def _raised_in_orbax(error: BaseException | None) -> bool:
    return error is not None and _raised_in(_ORBAX_DIR, error.__traceback__)


def _silence_failed_io() -> None:
    """Installs (once) the filters of orbax's logged write failures and of its abandoned tasks, and a
    ``sys.unraisablehook`` that drops the reports of the I/O a failed read or write abandoned: orbax
    closes its event loop with the other arrays' reads or writes pending, whose completions then raise
    "Event loop is closed" in tensorstore's threads (even before the failure is raised), and the
    abandoned coroutines and tasks report themselves when collected, at any time until exit. The hook
    drops orbax's coroutines, and an asyncio "Event loop is closed" only while orbax's I/O may be
    pending (``_OrbaxIO``); every other report goes to the hook it wraps."""
    for name, kind in ((_ABSL_LOGGER, _WriteFailureLogFilter), ("asyncio", _AbandonedTaskLogFilter)):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
    if not isinstance(sys.unraisablehook, _AbandonedIOHook):
        sys.unraisablehook = _AbandonedIOHook(sys.unraisablehook)


def _collect_abandoned() -> None:
    """Collects, without a word, the coroutines a failed orbax read or write abandoned (those not
    reported to the hook warn "coroutine ... was never awaited")."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gc.collect()


class _OrbaxIO:
    """Whether orbax's I/O may be pending: during a read or write of this module (``calls``), while a
    background save is not yet awaited (``saving``: the managers' ids), and after any read or write
    failed (``failed``: the I/O it abandoned reports itself until exit)."""

    calls = 0
    saving: set = set()
    failed = False

    @classmethod
    def pending(cls) -> bool:
        return bool(cls.calls or cls.saving or cls.failed)


def _raised_in(directory: str, traceback) -> bool:
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename.startswith(directory):
            return True
        traceback = traceback.tb_next
    return False


class _AbandonedIOHook:
    def __init__(self, wrapped):
        self.wrapped = wrapped

    def __call__(self, unraisable) -> None:
        closed_loop = (  # asyncio's own error, raised while orbax's I/O may be pending
            unraisable.exc_type is RuntimeError
            and str(unraisable.exc_value) == "Event loop is closed"
            and _raised_in(_ASYNCIO_DIR, unraisable.exc_traceback)
            and _OrbaxIO.pending()
        )
        obj = unraisable.object
        orbax_io = inspect.iscoroutine(obj) and obj.cr_code.co_filename.startswith(_ORBAX_DIR)
        if not (closed_loop or orbax_io):
            self.wrapped(unraisable)
