r"""docs/evaluation.md's real-data floors of the two-set metrics, from the committed records of
experiments/scripts/set_floors.py (experiments/results/set_floors/<features>/<dataset>_n<N>.json: each
dataset's test images as the samples, its first N training images as the reference).

  python experiments/reports/set_floors_report.py            # print the table
  python experiments/reports/set_floors_report.py --write    # put it into docs/evaluation.md
"""

import json
import os
import sys

from absl import app

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from experiments.reports import tables  # noqa: E402

DOC = "docs/evaluation.md"
FEATURES = ("classifier", "inception")  # the table's order: features, then dataset, then N
DATASETS = ("mnist", "fashion_mnist")


def record(path: str) -> dict:
    with open(os.path.join(tables.RESULTS, "set_floors", path)) as f:
        return json.load(f)


def records() -> list[str]:
    """Every committed record, as ``<features>/<dataset>_n<N>.json``, in the table's order."""
    found = []
    for features in FEATURES:
        directory = os.path.join(tables.RESULTS, "set_floors", features)
        for name in os.listdir(directory) if os.path.isdir(directory) else ():
            dataset, num = name.removesuffix(".json").rsplit("_n", 1)
            found.append((FEATURES.index(features), DATASETS.index(dataset), int(num), f"{features}/{name}"))
    return [path for *_, path in sorted(found)]


def floors_table() -> str:
    rows = []
    for path in records():
        r = record(path)
        p, key = r["protocol"], r["protocol"]["features"].split(",")[0]
        prefix = "classifier" if "classifier" in key else "inception"
        rows.append(
            [
                f"{p['samples']} vs {p['reference']}",
                f"{key} ({p['feature_dim']})",
                f"{r[f'{prefix}_fid']:.3f}",
                f"{r[f'{prefix}_kid_mean']:.4f} ± {r[f'{prefix}_kid_std']:.4f}",
                f"{r['precision']:.3f} / {r['recall']:.3f}",
                f"{r['density']:.3f} / {r['coverage']:.3f}",
                f"{p['kid_subsets']} × {p['kid_subset_size']:,}, seed {p['kid_seed']}",
                f"{r['seconds']:.0f}",
            ]
        )
    header = ["sets", "features (d)", "FID", "KID mean ± std", "precision / recall", "density / coverage"]
    return tables.markdown([*header, "KID subsets", "seconds"], rows)


def get_tables() -> dict:
    return {(DOC, "set_floors"): floors_table()}


def main(argv):
    del argv
    tables.main(get_tables)


if __name__ == "__main__":
    app.run(main)
