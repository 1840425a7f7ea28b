"""The saturation trap, told as it happens: D has won (D(G(z)) near 0), G's gradient has fallen by orders
of magnitude from its peak, and G's samples of a fixed z are all alike. A run showing all three at a log
step has stopped learning (G can no longer move); ``config.on_collapse`` says so once ('warn') or stops
the run ('stop').

``sample_diversity`` is the mean over pixels (or coordinates) of the standard deviation across G's
samples of the run's fixed z, divided by the same of the training data: 1 for samples as varied as the
data, 0 when every sample is the same.
"""

import numpy as np

from gan_jax.errors import TrainError
from gan_jax.game import games

ON_COLLAPSE = ("warn", "stop")


def diversity(samples: np.ndarray, data_std: float) -> float:
    """Mean per-coordinate std across ``samples`` [N, D], over the data's (``data_std``); NaN for data
    without spread (the point mass 'dirac'), where the ratio means nothing."""
    if not data_std > 0:
        return float("nan")
    return float(np.mean(np.std(np.asarray(samples, np.float64), axis=0)) / data_std)


def data_spread(x_train: np.ndarray, rows: int = 10_000) -> float:
    """The denominator of ``diversity``: the mean per-coordinate std of (the first rows of) the data."""
    return float(np.mean(np.std(np.asarray(x_train[:rows], np.float64), axis=0)))


class Monitor:
    """Watches each replica's logged metrics for the trap (the module doc), at most one word each."""

    def __init__(self, config):
        self.config = config
        self.probability = games.get_game(config.game).probability
        self.peak: dict[int, float] = {}
        self.told: set[int] = set()

    def signs(self, r: int, scalars: dict) -> str | None:
        """The trap's signs in replica ``r``'s metrics, as text, if every one holds; else None. D(G(z))
        is read in the cross-entropy games only (a critic's output is no probability)."""
        c = self.config
        norm = float(scalars["g_grad_norm"])
        self.peak[r] = max(self.peak.get(r, 0.0), norm)
        if not norm < c.collapse_grad_drop * self.peak[r]:  # (never, while the peak is 0)
            return None
        signs = [f"G's gradient norm {norm:.2g} ({norm / self.peak[r]:.2g} of its peak {self.peak[r]:.2g})"]
        if self.probability:
            if not scalars["d_fake"] < c.collapse_d_fake:
                return None
            signs.insert(0, f"D(G(z)) {scalars['d_fake']:.2g}")
        if not scalars["sample_diversity"] < c.collapse_diversity:
            return None
        return ", ".join(signs + [f"sample diversity {scalars['sample_diversity']:.2g}"])

    def check(self, step: int, r: int, scalars: dict, prefix: str = "") -> str | None:
        """A one-line warning the first time replica ``r`` shows the trap (None otherwise); with
        ``on_collapse='stop'`` a ``TrainError`` instead."""
        signs = self.signs(r, scalars)
        if signs is None or r in self.told:
            return None
        self.told.add(r)
        message = f"{prefix}step {step}: the run looks collapsed ({signs})"
        if self.config.on_collapse == "stop":
            raise TrainError(f"{message}; stopped (config.on_collapse=stop); last checkpoint kept")
        return f"warning: {message}; config.on_collapse=stop stops such a run"
