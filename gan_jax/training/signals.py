"""Stopping cleanly on SIGTERM/SIGINT: the loop catches them, saves a checkpoint, raises ``Interrupted``."""

import signal

from gan_jax.training import parallel


class Interrupted(Exception):
    """SIGTERM/SIGINT arrived; a checkpoint of the last finished step was saved."""

    def __init__(self, signum: int, step: int):
        super().__init__(f"{signal.Signals(signum).name} at step {step}: checkpoint saved; rerun to resume")
        self.signum = signum


class Signals:
    """Catches SIGTERM and SIGINT for the duration of a ``with`` block (the loop then stops cleanly)."""

    def __enter__(self):
        self.caught = []
        self.handlers = {
            s: signal.signal(s, lambda signum, _: self.caught.append(signum))
            for s in (signal.SIGTERM, signal.SIGINT)
        }
        return self

    def caught_anywhere(self) -> bool:
        """Whether this or any other host caught one (every host asks at the same point)."""
        return parallel.any_process(bool(self.caught))

    def signum(self) -> int:
        return self.caught[0] if self.caught else signal.SIGTERM  # (another host's)

    def release(self) -> None:
        for s, h in self.handlers.items():
            signal.signal(s, h)

    def __exit__(self, *exc):
        self.release()
