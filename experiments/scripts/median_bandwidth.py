r"""The median heuristic for a Gaussian kernel's bandwidth (Gretton et al. 2012, Sec. 8): sigma = the median
distance between training points, the bandwidth of the random-Fourier-feature discriminators'
(experiments/configs/nonneural_*.py). Writes experiments/results/nonneural/median_bandwidth.json.

Run (seconds on 2 CPU cores):
  python experiments/scripts/median_bandwidth.py
"""

import json
import os
import sys

import numpy as np
from absl import app, flags
from scipy.spatial.distance import pdist

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from gan_jax import config as config_lib  # noqa: E402
from gan_jax.data import datasets  # noqa: E402

_POINTS = flags.DEFINE_integer("points", 2_000, "Training points drawn (without replacement) per dataset.")
_SEED = flags.DEFINE_integer("seed", 0, "The draw of the points.")
_OUT = flags.DEFINE_string("out", f"{ROOT}/experiments/results/nonneural/median_bandwidth.json", "Record.")


def median_distance(x: np.ndarray, points: int, seed: int) -> dict:
    """The median, 10th and 90th percentiles of the Euclidean distances between ``points`` rows of x."""
    rows = np.random.default_rng(seed).choice(len(x), size=min(points, len(x)), replace=False)
    d = pdist(np.asarray(x[rows], np.float64))
    p10, median, p90 = (float(q) for q in np.quantile(d, (0.1, 0.5, 0.9)))
    return {"median": median, "p10": p10, "p90": p90}


def main(_):
    record = {"points": _POINTS.value, "seed": _SEED.value, "command": "python " + " ".join(sys.argv)}
    for name in ("mnist", "ring"):
        x, _ = datasets.load_dataset(config_lib.data_config(name))["train"]
        record[name] = median_distance(x, _POINTS.value, _SEED.value)
        print(name, record[name])
    os.makedirs(os.path.dirname(_OUT.value), exist_ok=True)
    with open(_OUT.value, "w") as f:
        json.dump(record, f, indent=1)


if __name__ == "__main__":
    app.run(main)
