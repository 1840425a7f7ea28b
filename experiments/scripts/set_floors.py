r"""Real-data floors of the two-set metrics (gan_jax/metrics/set_metrics.py): each dataset's test images
measured as "samples" against its first N training images, on one feature network, so a model's numbers
can be read beside what real held-out data scores under the same protocol.

  python experiments/scripts/set_floors.py --features=classifier --num=10000
  # -> experiments/results/set_floors/<features>/<dataset>_n<num>.json (the report and the command)

--features=classifier: each dataset's own shipped classifier. --features=inception needs the Inception
weights (``make data``; hours on 2 CPU cores at N = 10,000, minutes on a GPU).
"""

import json
import os
import sys
import time

from absl import app, flags

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from gan_jax.metrics import feature_extractors, image_sets, set_metrics  # noqa: E402

_FEATURES = flags.DEFINE_enum(
    "features", "classifier", list(feature_extractors.FEATURES), "The feature network."
)
_NUM = flags.DEFINE_integer("num", 10_000, "Test images (samples) and training images (reference) per set.")
_KID_SUBSET_SIZE = flags.DEFINE_integer("kid_subset_size", 1000, "KID's subset size (at most --num).")
_DATASETS = flags.DEFINE_list("datasets", list(image_sets.REFERENCE_DATASETS), "Datasets to measure.")
_OUT = flags.DEFINE_string("out", os.path.join(ROOT, "experiments/results/set_floors"), "Records go here.")


def floor(dataset: str, num: int, make_extractor, kid_protocol) -> dict:
    """The report of ``dataset``'s test[:num] against its train[:num] (train features cached)."""
    samples = image_sets.load_reference_split(image_sets.ReferenceSplit(dataset, "test", num))
    reference_split = image_sets.ReferenceSplit(dataset, "train", num)
    reference = image_sets.load_reference_split(reference_split)
    return set_metrics.evaluate_sets(samples, reference, make_extractor, kid_protocol, reference_split)


def main(argv):
    del argv
    out_dir = os.path.join(_OUT.value, _FEATURES.value)
    os.makedirs(out_dir, exist_ok=True)
    command = " ".join(["python experiments/scripts/set_floors.py", *sys.argv[1:]])
    for dataset in _DATASETS.value:
        start = time.perf_counter()
        make_extractor = feature_extractors.extractor_factory(_FEATURES.value, dataset=dataset)
        kid_protocol = set_metrics.KidProtocol(subset_size=_KID_SUBSET_SIZE.value)
        report = floor(dataset, _NUM.value, make_extractor, kid_protocol)
        report["protocol"]["reference_cache"] = None  # a local path: not part of the record
        record = report | {"command": command, "seconds": round(time.perf_counter() - start, 1)}
        path = os.path.join(out_dir, f"{dataset}_n{_NUM.value}.json")
        with open(path, "w") as f:
            json.dump(record, f, indent=2)
        print(set_metrics.format_report(report))
        print(f"wrote {path} ({record['seconds']} s)")


if __name__ == "__main__":
    app.run(main)
