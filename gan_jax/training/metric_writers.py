"""Where metrics go: ``metrics.jsonl`` (one JSON object a line) and TensorBoard event files.

tensorboardX writes the events with protobuf only, so no TensorFlow install is needed.
"""

import json
import math
import os
import sys

import numpy as np


def _summary_writer_class():
    """tensorboardX's SummaryWriter, imported with torch hidden: tensorboardX imports torch whenever it
    is installed (the test extra installs it for the parity test), slowing every process's start, for
    torch tensors that this project never passes it."""
    hidden = "torch" not in sys.modules
    if hidden:
        sys.modules["torch"] = None  # makes `import torch` raise ImportError
    try:
        from tensorboardX import SummaryWriter
    finally:
        if hidden:
            del sys.modules["torch"]
    return SummaryWriter


class MetricWriter:
    """Appends scalars to ``workdir/metrics.jsonl`` and TensorBoard events to ``workdir/tb``."""

    def __init__(self, workdir: str):
        self._jsonl = open(os.path.join(workdir, "metrics.jsonl"), "a")
        self._tb = _summary_writer_class()(os.path.join(workdir, "tb"))

    def scalars(self, step: int, scalars: dict) -> None:
        values = {k: float(v) for k, v in scalars.items()}
        # NaN/Inf are not JSON: they are written as null (and left out of TensorBoard).
        row = {"step": int(step)} | {k: (v if math.isfinite(v) else None) for k, v in values.items()}
        self._jsonl.write(json.dumps(row) + "\n")
        self._jsonl.flush()
        for name, value in values.items():
            if math.isfinite(value):
                self._tb.add_scalar(name, value, int(step))

    def image(self, step: int, name: str, image: np.ndarray, dataformats: str = "HW") -> None:
        self._tb.add_image(name, image, int(step), dataformats=dataformats)

    def text(self, step: int, name: str, text: str) -> None:
        self._tb.add_text(name, text, int(step))

    def close(self) -> None:
        self._jsonl.close()
        self._tb.close()


def truncate_jsonl(path: str, max_step: int) -> None:
    """Drops rows after ``max_step``: a resumed run rewrites what the interrupted one logged
    past its last checkpoint, so the file reads as one uninterrupted run."""
    if not os.path.exists(path):
        return
    with open(path) as f:
        rows = [line for line in f if line.strip() and json.loads(line).get("step", 0) <= max_step]
    with open(path, "w") as f:
        f.writelines(rows)
