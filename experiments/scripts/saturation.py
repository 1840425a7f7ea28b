r"""The paper's saturation remark (Sec. 3), measured: G's gradient norm early in training under the
minimax game (G minimises log(1 - D(G(z)))) vs the non-saturating one (G maximises log D(G(z))),
same seed, same model, same data order (the paper MNIST config, simultaneous updates).

Run (about 3 minutes on 2 CPU cores):
  python experiments/scripts/saturation.py --out=experiments/reports/figures/saturation.png
"""

import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from experiments.configs import paper_mnist  # noqa: E402
from gan_jax.training import (
    figures,
    train,  # noqa: E402
)

_OUT = flags.DEFINE_string("out", "experiments/reports/figures/saturation.png", "PNG to write.")
_WORKDIR = flags.DEFINE_string("workdir", "/tmp/gan_jax/saturation", "Root of the two runs.")
_STEPS = flags.DEFINE_integer("num_steps", 1000, "Steps per run.")


def run(game: str) -> list[dict]:
    config = paper_mnist.get_config()
    config.game, config.num_steps, config.log_every = game, _STEPS.value, 10
    config.eval_every, config.sample_every, config.ckpt_every = 0, _STEPS.value, _STEPS.value
    workdir = os.path.join(_WORKDIR.value, game)
    train.train(config, workdir)
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f if "g_grad_norm" in line]


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    rows = {game: run(game) for game in ("minimax", "nonsaturating")}
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for game, table in rows.items():
        steps = [r["step"] for r in table]
        axes[0].semilogy(steps, [r["g_grad_norm"] for r in table], label=game)
        axes[1].plot(steps, [r["d_fake"] for r in table], label=game)
        # While D(G(z)) ~ 1/2 both games have the same gradient, -sigmoid(0) = sigmoid(0) - 1; the
        # remark is about the phase after D has learned to reject samples: the second half of the run.
        half = _STEPS.value // 2
        late = [r["g_grad_norm"] for r in table if r["step"] > half]
        print(
            f"{game}: median |grad_G| over steps {half + 1}-{_STEPS.value} = {np.median(late):.3e}; "
            f"mean D(G(z)) at step {steps[-1]} = {table[-1]['d_fake']:.3f}"
        )
    axes[0].set_title("G gradient norm", fontsize=9)
    axes[1].set_title("mean D(G(z))", fontsize=9)
    for ax in axes:
        ax.set_xlabel("step", fontsize=8)
        ax.legend(fontsize=8)
    figures.save(fig, _OUT.value, dpi=110)
    print(f"wrote {_OUT.value}")


if __name__ == "__main__":
    app.run(main)
