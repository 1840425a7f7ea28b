"""The project's own errors: a user's mistake or a fault of the environment, each told in one line.

``launch.py`` catches ``GanJaxError`` alone and prints its message on one line (exit 2); any other
exception is a bug and keeps its traceback (exit 1).
"""


class GanJaxError(Exception):
    """Base of every error whose message is a complete, one-line explanation for the user."""


class ConfigError(GanJaxError, ValueError):
    """A config field or flag with an unknown value, out of range, or inert with the other fields."""


class DataError(GanJaxError):
    """A dataset that is missing, corrupt, or does not fit the config."""


class CheckpointError(GanJaxError):
    """A checkpoint that cannot be read, or that does not fit this config's model."""


class WorkdirError(GanJaxError):
    """A workdir that is busy (another process trains in it), unwritable, or on a full disk."""


class TrainError(GanJaxError):
    """A run that cannot go on (a non-finite loss or gradient)."""


class EvalError(GanJaxError):
    """An evaluation that cannot proceed (bad samples, no checkpoint, no metrics for the dataset)."""
