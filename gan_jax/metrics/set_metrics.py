"""Metrics between any two image sets on a feature network's features, with the protocol beside them
(``launch.py --mode=evaluate --samples=A.npy --reference=B.npy``; the sets come from ``image_sets``).

Between the samples' features Y [M, d] and the reference set's X [N, d]:

- FID (Heusel et al. 2017): ||mu_X - mu_Y||^2 + Tr(S_X + S_Y - 2 (S_X S_Y)^{1/2}), float64 means and
  unbiased covariances (``sample_metrics.frechet_distance``). With N or M <= d a covariance is rank
  deficient; FID is computed anyway, as pytorch-fid and clean-fid do, and the protocol says so.
- KID (Bińkowski et al. 2018): the mean and std of the unbiased MMD^2 under (x.y / d + 1)^3 over
  torch-fidelity's subsets (``kid.kid``: samples drawn first, then the reference, ``RandomState(seed)``).
- Precision/recall (Kynkäänniemi et al. 2019, k = 3, ``<=`` as torch-fidelity compares) and density/
  coverage (Naeem et al. 2020, k = 5, ``<`` as prdc compares), the reference set as the real one.

The features come from a ``feature_extractors.FeatureExtractor``, which carries its name and weights
digest into the protocol. A dataset's reference features are cached on disk keyed by the protocol
(``reference_cache``).
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from gan_jax.errors import EvalError
from gan_jax.metrics import image_sets, kid, reference_cache, sample_metrics
from gan_jax.metrics.feature_extractors import FeatureExtractor, extract

PR_K, DC_K = 3, 5  # torch-fidelity's prc_NN_k; prdc's README example


class KidProtocol(NamedTuple):
    """KID's subsets: torch-fidelity's defaults (100 subsets of 1,000 rows, seed 2020)."""

    subsets: int = kid.SUBSETS
    subset_size: int = kid.SUBSET_SIZE
    seed: int = kid.SEED


TORCH_FIDELITY_KID = KidProtocol()


def check_sizes(n_samples: int, n_reference: int, kid_protocol: KidProtocol) -> None:
    """EvalError when a set is too small for a metric: KID's subset size (and at least 2 rows each), the
    k of precision/recall (k + 1 rows in each set) and of density/coverage (k + 1 reference rows)."""
    size = kid_protocol.subset_size
    if size < 2 or kid_protocol.subsets < 1:
        raise EvalError(f"KID needs subsets of 2 or more rows and 1 or more subsets; got {kid_protocol}")
    for name, n in (("samples", n_samples), ("reference", n_reference)):
        if n < size:
            raise EvalError(
                f"{name}: {n} images, fewer than KID's subset size {size}; pass --kid_subset_size={n} or "
                "fewer (and state it: KID's protocol is its subset size)"
            )
        least = max(PR_K, DC_K) + 1 if name == "reference" else PR_K + 1
        if n < least:
            raise EvalError(
                f"{name}: {n} images; precision/recall (k={PR_K}) and density/coverage (k={DC_K}) need "
                f"at least {least}"
            )


def rank_note(n_samples: int, n_reference: int, dim: int) -> str | None:
    """A note when a covariance of d = ``dim`` features from n rows is rank deficient (n <= d: its rank
    is at most n - 1), else None."""
    sizes = (("samples", n_samples), ("reference", n_reference))
    short = [f"{name} {n} rows" for name, n in sizes if n <= dim]
    if not short:
        return None
    return (
        f"{', '.join(short)} <= {dim} features: covariance rank below {dim}; FID computed anyway, as "
        "pytorch-fid and clean-fid do, and biased upward at this size"
    )


def compare_features(sample_feats, reference_feats, kid_protocol: KidProtocol = TORCH_FIDELITY_KID) -> dict:
    """FID, KID (mean, std), precision, recall, density and coverage of the samples' features against
    the reference's (see the module docstring), as host floats keyed without a prefix."""
    kid_mean, kid_std = kid.kid(sample_feats, reference_feats, *kid_protocol)
    precision, recall = sample_metrics.precision_recall(reference_feats, sample_feats, k=PR_K)
    density, coverage = sample_metrics.density_coverage(reference_feats, sample_feats, k=DC_K)
    return {
        "fid": sample_metrics.frechet_distance(sample_feats, reference_feats),
        "kid_mean": kid_mean,
        "kid_std": kid_std,
        "precision": precision,
        "recall": recall,
        "density": density,
        "coverage": coverage,
    }


def reference_features(extractor, reference, split, cache_dir) -> tuple[np.ndarray, str | None]:
    """(the reference set's features, where they were cached): a dataset ``split``'s from the cache
    (``reference_cache``, keyed by the protocol), a file's computed afresh (None)."""
    compute = lambda: extract(extractor, reference.images, "reference")  # noqa: E731
    if split is None:
        return compute(), None
    protocol = {
        "features": extractor.name,
        "features_sha256": extractor.sha256,
        "resize": extractor.resize,
        "dataset": split.dataset,
        "split": split.split,
        "count": len(reference.images),
        "reference": reference.source,
    }
    feats, hit = reference_cache.cached_features(protocol, compute, cache_dir)
    where = reference_cache.path(protocol, cache_dir)
    return feats, f"{'read from' if hit else 'written to'} {where}"


def evaluate_sets(
    samples: image_sets.ImageSet,
    reference: image_sets.ImageSet,
    make_extractor: Callable[[], FeatureExtractor],
    kid_protocol: KidProtocol = TORCH_FIDELITY_KID,
    split: image_sets.ReferenceSplit | None = None,
    cache_dir: str | None = None,
) -> dict:
    """The metrics of two checked sets (``compare_features`` on ``make_extractor()``'s features) and the
    protocol they were measured under. The sizes are checked before the extractor is made (its weights
    loaded), the image sizes against it before any feature is computed. ``split``: the dataset split
    ``reference`` holds, whose features are cached under ``cache_dir``."""
    m, n = len(samples.images), len(reference.images)
    check_sizes(m, n, kid_protocol)
    extractor = make_extractor()
    for name, image_set in (("samples", samples), ("reference", reference)):
        image_sets.check_network_size(image_set, name, extractor.side, extractor.channels)
    sample_feats = extract(extractor, samples.images, "samples")
    reference_feats, cached = reference_features(extractor, reference, split, cache_dir)
    if sample_feats.shape[1] != reference_feats.shape[1]:
        raise ValueError(f"feature sizes differ: {sample_feats.shape} vs {reference_feats.shape}")
    metrics = compare_features(sample_feats, reference_feats, kid_protocol)
    dim = sample_feats.shape[1]
    protocol = {
        "features": extractor.name,
        "features_sha256": extractor.sha256,
        "feature_dim": dim,
        "resize": extractor.resize,
        "samples": samples.source,
        "samples_shape": list(samples.images.shape[1:]),
        "samples_pixels": samples.pixels,
        "n_samples": m,
        "reference": reference.source,
        "reference_shape": list(reference.images.shape[1:]),
        "reference_pixels": reference.pixels,
        "n_reference": n,
        "reference_cache": cached,
        "kid_subsets": kid_protocol.subsets,
        "kid_subset_size": kid_protocol.subset_size,
        "kid_seed": kid_protocol.seed,
        "precision_recall_k": PR_K,
        "density_coverage_k": DC_K,
        "rank_deficient": rank_note(m, n, dim),
    }
    key = extractor.key
    report = {f"{key}_{name}": metrics[name] for name in ("fid", "kid_mean", "kid_std")}
    report |= {name: metrics[name] for name in ("precision", "recall", "density", "coverage")}
    return report | {"protocol": protocol, "protocol_line": protocol_line(protocol)}


def protocol_line(p: dict) -> str:
    """The protocol in one line, to print beside the numbers (compare only numbers with equal lines)."""
    shape = "x".join(str(s) for s in p["samples_shape"])
    line = (
        f"features {p['features']} sha256 {p['features_sha256'][:12]}, resize {p['resize']}; "
        f"samples {p['n_samples']} ({shape}, {p['samples_pixels']}); reference {p['reference']}, "
        f"{p['n_reference']} images; KID {p['kid_subsets']} subsets x {p['kid_subset_size']}, seed "
        f"{p['kid_seed']}; P/R k={p['precision_recall_k']}, density/coverage k={p['density_coverage_k']}"
    )
    return line + ("; rank-deficient covariance" if p["rank_deficient"] else "")


def format_report(report: dict) -> str:
    """The metrics of ``evaluate_sets`` as a two-column table, then its protocol line."""
    rows = [f"{'metric':<22}{'value':>14}"]
    rows += [f"{k:<22}{v:>14.6g}" for k, v in report.items() if isinstance(v, float)]
    return "\n".join([*rows, f"protocol: {report['protocol_line']}"])
