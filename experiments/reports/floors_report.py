r"""docs/evaluation.md's real-data floors from the committed eval.json files: MNIST's from the
500-epoch H200 run (experiments/results/paper_mnist_h200/simultaneous/replica_0/eval.json, the floors
every MNIST evaluation writes beside its metrics), StackedMNIST's at 26,000 samples from a StackedMNIST
run's (experiments/results/modes/runs/stacked_mnist_long/game=nonsaturating/eval.json).

  python experiments/reports/floors_report.py            # print the tables
  python experiments/reports/floors_report.py --write    # put them into docs/evaluation.md
"""

import json
import os
import sys

from absl import app

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from experiments.reports import tables  # noqa: E402

DOC = "docs/evaluation.md"
MNIST = "paper_mnist_h200/simultaneous/replica_0/eval.json"
STACKED = "modes/runs/stacked_mnist_long/game=nonsaturating/eval.json"


def floors(path: str) -> dict:
    with open(os.path.join(tables.RESULTS, path)) as f:
        report = json.load(f)
    return report["real_data"] | {"num_samples": report["num_samples"]}


def mnist_table() -> str:
    r = floors(MNIST)
    rows = [
        [
            "`parzen_ll`, `parzen_se`, `parzen_sigma`",
            "the 2014 paper's: a Gaussian Parzen window on the 10,000 samples, σ chosen from "
            "`logspace(-1, 0, 10)` by the mean log-likelihood of the first 1,000 validation images, then "
            "the mean log-likelihood (nats) of the 10,000 test images and its standard error",
            f"{r['parzen_ll']:.1f} ± {r['parzen_se']:.1f}, ± its standard error over the test images "
            f"(σ {r['parzen_sigma']:.3f})",
        ],
        [
            "`fcd`",
            "Fréchet distance between Gaussians fitted to the shipped classifier's penultimate features of "
            "the samples and of the test images (FID with an MNIST classifier)",
            f"{r['fcd']:.2f}",
        ],
        [
            "`classifier_score`",
            "exp E KL(p(y\\|x) ‖ p(y)) with the shipped classifier (the Inception score's form)",
            f"{r['classifier_score']:.2f} (max 10)",
        ],
        [
            "`precision`, `recall`",
            "improved precision/recall (Kynkäänniemi et al. 2019), k = 3 nearest neighbours in classifier "
            "features",
            f"{r['precision']:.3f} / {r['recall']:.3f}",
        ],
        ["`class_kl`", "KL of the samples' predicted-class histogram to uniform", f"{r['class_kl']:.3f}"],
    ]
    return tables.markdown(["key", "protocol", "real-data floor"], rows)


def stacked_table() -> str:
    r = floors(STACKED)
    rows = [
        [
            "`modes_covered`",
            "modes holding at least one sample (of `num_modes` = 1,000)",
            f"{r['modes_covered']:,}",
        ],
        [
            "`reverse_kl`",
            "KL(q ‖ uniform) = Σ q_m ln(1000 q_m) over the modes with q_m > 0, q the samples' mode "
            "histogram / N; ln 1000 = 6.91 for one mode",
            f"{r['reverse_kl']:.3f}",
        ],
        [
            "`classifier_accuracy`",
            "the classifier on each real test digit: the per-channel floor",
            f"{r['classifier_accuracy']:.4f}",
        ],
        [
            "`mode_accuracy`",
            "real stacks read as their true triple (all three channels right)",
            f"{r['mode_accuracy']:.3f}",
        ],
    ]
    return tables.markdown(["key", "protocol", f"real-data floor ({r['num_samples']:,})"], rows)


def get_tables() -> dict:
    return {(DOC, "mnist_floors"): mnist_table(), (DOC, "stacked_floors"): stacked_table()}


def main(argv):
    del argv
    tables.main(get_tables)


if __name__ == "__main__":
    app.run(main)
