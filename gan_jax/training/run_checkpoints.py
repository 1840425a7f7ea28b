"""The run's checkpoints: restore the newest readable one (an unreadable one set aside, never deleted),
save (refusing a non-finite state), and with ``on_nonfinite='freeze'`` tell the live replicas apart."""

import os
import shutil
from collections.abc import Callable

import jax
import numpy as np

from gan_jax.errors import TrainError
from gan_jax.game import replicas
from gan_jax.training import checkpoints, parallel, workdir


def unused_name(path: str) -> str:
    """``path``, or ``path.1``, ``path.2``, ... : the first that does not exist."""
    candidate, n = path, 0
    while os.path.exists(candidate):
        n += 1
        candidate = f"{path}.{n}"
    return candidate


class Checkpoints:
    """The run's orbax manager: restore the newest readable checkpoint, save (refusing a non-finite
    state), and with ``on_nonfinite='freeze'`` tell the live replicas apart."""

    def __init__(self, path: str, config, on_saved: Callable | None = None):
        """``on_saved()`` runs once each save is awaited (a bucket workdir pushes its staging copy)."""
        self.path, self.config, self.on_saved = path, config, on_saved
        self.freeze = config.on_nonfinite == "freeze" and replicas.num_replicas(config) > 1
        self.mngr = checkpoints.checkpoint_manager(
            f"{path}/checkpoints", max_to_keep=config.keep_checkpoints, create=True
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        checkpoints.close(self.mngr)  # its threads must end on every way out, or exit prints tracebacks

    def restore(self, state):
        """The newest readable checkpoint; an unreadable newer one is moved to
        ``checkpoints_unreadable/`` (kept, never deleted; the run will write that step again)."""
        pieces = self.config.model.get("d_pieces")  # a maxout D's pieces: legacy checkpoint layouts
        state, _, skipped = checkpoints.restore_latest(self.mngr, state, self.path, pieces)
        for step, reason in skipped:
            kept = unused_name(os.path.join(self.path, "checkpoints_unreadable", str(step)))
            if jax.process_index() == 0:
                with workdir.writing(kept):
                    os.makedirs(os.path.dirname(kept), exist_ok=True)
                    shutil.move(os.path.join(self.path, "checkpoints", str(step)), kept)
                print(f"skipped the unreadable checkpoint at step {step} ({reason}); moved to {kept}")
        if skipped:
            parallel.sync("set_aside")
            self.mngr.reload()
        self.check_finite(state)
        return state

    def check_finite(self, state) -> None:
        """``TrainError`` if a replica's step was non-finite (with ``freeze``: if every one's was)."""
        bad = np.atleast_1d(np.asarray(state.nonfinite_step))
        if (bad >= 0).all() if self.freeze else (bad >= 0).any():
            checkpoints.wait(self.mngr)
            where = f"step {bad[bad >= 0].min()}"
            if len(bad) > 1:
                where += f" (replicas {np.flatnonzero(bad >= 0).tolist()})"
            raise TrainError(
                f"non-finite loss or gradient at {where}; stopped; last good checkpoint: "
                f"step {self.mngr.latest_step()}"
            )

    def save(self, state, step: int, wait: bool) -> None:
        self.check_finite(state)
        # a bucket workdir awaits each save, so that its push carries this step (not only the one before)
        wait = wait or self.on_saved is not None
        checkpoints.save(self.mngr, step, state, wait=wait)  # (awaits the save before, if any)
        self._saved()

    def wait(self) -> None:
        checkpoints.wait(self.mngr)
        self._saved()

    def _saved(self) -> None:
        if self.on_saved is not None and jax.process_index() == 0:
            self.on_saved()

    def live_replicas(self, state, frozen: set, out) -> list[int]:
        """The replicas still training; says once, for each newly frozen one, at which step."""
        if not self.freeze:
            return list(range(out.count))
        first_bad = np.asarray(jax.device_get(state.nonfinite_step))
        for r in np.flatnonzero(first_bad >= 0):
            if int(r) not in frozen:
                out.say(
                    f"[replica {r}] non-finite loss or gradient at step {first_bad[r]}: frozen at its "
                    "state before that step (no more outputs); the other replicas train on"
                )
            frozen.add(int(r))
        return [r for r in range(len(first_bad)) if r not in frozen]
