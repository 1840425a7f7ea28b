r"""Why Parzen must never be read alone (Theis et al. 2016): a k-means "model" whose 10,000
centroids are used as the Parzen samples, scored with the paper's protocol beside real data.

Run (a few minutes on 2 CPU cores):
  python experiments/scripts/kmeans_parzen.py --k=10000 --iters=10 --out=experiments/results/roads/kmeans
--out writes kmeans_parzen.json (each set's MNIST metrics, gan_jax/metrics/evaluate.py, and the command)
and centroids.png (the first 100 centroids) there.
"""

import json
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from gan_jax.data import mnist  # noqa: E402
from gan_jax.metrics import evaluate  # noqa: E402
from gan_jax.training import images  # noqa: E402

_K = flags.DEFINE_integer("k", 10_000, "Centroids (= Parzen samples).")
_ITERS = flags.DEFINE_integer("iters", 10, "Lloyd iterations.")
_SEED = flags.DEFINE_integer("seed", 0, "Initial centroids: a seeded choice of training images.")
_OUT = flags.DEFINE_string("out", None, "Write the record and the centroids' grid into this directory.")


@jax.jit
def _assign(x, centroids):
    """Index of each row's nearest centroid (squared Euclidean)."""
    d2 = jnp.sum(centroids**2, axis=1)[None, :] - 2.0 * x @ centroids.T
    return jnp.argmin(d2, axis=1)


def kmeans(x: np.ndarray, k: int, iters: int, seed: int) -> np.ndarray:
    """Lloyd's algorithm; an empty cluster keeps its previous centroid."""
    rng = np.random.default_rng(seed)
    centroids = x[rng.choice(len(x), k, replace=False)]
    for _ in range(iters):
        labels = np.concatenate(
            [np.asarray(_assign(x[i : i + 5000], centroids)) for i in range(0, len(x), 5000)]
        )
        sums = np.zeros_like(centroids, dtype=np.float64)
        np.add.at(sums, labels, x)
        counts = np.bincount(labels, minlength=k)
        filled = counts > 0
        centroids[filled] = (sums[filled] / counts[filled, None]).astype(np.float32)
    return centroids


def main(argv):
    del argv
    splits = mnist.load_mnist()
    start = time.time()
    centroids = kmeans(splits["train"][0], _K.value, _ITERS.value, _SEED.value)
    fit = time.time() - start
    record = {"k": _K.value, "iters": _ITERS.value, "seed": _SEED.value, "fit_seconds": round(fit, 1)}
    for name, samples in (
        ("kmeans_centroids", centroids),
        ("training_images", splits["train"][0][: _K.value]),
    ):
        r = evaluate.scalars(evaluate.mnist_metrics(samples, splits))
        record[name] = r
        print(
            f"{name:18s} Parzen {r['parzen_ll']:.1f} ± {r['parzen_se']:.1f} (sigma {r['parzen_sigma']:.3f}), "
            f"FCD {r['fcd']:.2f}, precision {r['precision']:.3f}, recall {r['recall']:.3f}"
        )
    print(f"k = {_K.value}, {_ITERS.value} Lloyd iterations in {fit:.0f} s")
    if _OUT.value:
        os.makedirs(_OUT.value, exist_ok=True)
        record["command"] = "python experiments/scripts/kmeans_parzen.py " + " ".join(sys.argv[1:])
        with open(os.path.join(_OUT.value, "kmeans_parzen.json"), "w") as f:
            json.dump(record, f, indent=2)
        images.save_png(os.path.join(_OUT.value, "centroids.png"), images.grid(centroids[:100], 10, 10))
        print(f"wrote {_OUT.value}/kmeans_parzen.json and centroids.png")


if __name__ == "__main__":
    app.run(main)
