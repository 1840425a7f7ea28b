"""Mode metrics for 2-D mixture benchmarks (the VEEGAN / PacGAN protocol, on 2,500 generated samples).

Each sample is assigned its nearest mode centre c_k in the scaled distance
    r(x, c) = sqrt(Σ_d (x_d − c_d)² / σ_d²)
(Euclidean / σ for the usual isotropic σ). A sample is *high quality* when r(x, c_nearest) < 3.

- ``modes_covered``: the number of modes that are the nearest mode of at least one high-quality sample.
- ``high_quality``: 100 × the fraction of high-quality samples.
- ``reverse_kl``: KL(q ‖ p) = Σ_k q_k log(q_k / p_k), q the histogram of nearest modes over the
  high-quality samples, p = 1/K uniform. Empty bins contribute 0 (0 log 0 = 0); with no high-quality
  sample q is undefined and the value is NaN. It is 0 for a perfectly balanced cover and log(K/m) for
  an even cover of m modes.
"""

import numpy as np


def nearest_modes(samples, centres, std) -> tuple[np.ndarray, np.ndarray]:
    """(index [n] of each sample's nearest centre, its scaled distance r [n]); std scalar or per-dim [D]."""
    samples = np.asarray(samples, np.float64)
    centres = np.asarray(centres, np.float64)
    if samples.ndim != 2 or centres.ndim != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(f"need samples [n, D] and centres [K, D]; got {samples.shape}, {centres.shape}")
    scale = 1.0 / np.asarray(std, np.float64)
    diff = (samples[:, None, :] - centres[None, :, :]) * scale  # [n, K, D]
    r2 = np.einsum("nkd,nkd->nk", diff, diff)
    index = np.argmin(r2, axis=1)
    return index, np.sqrt(r2[np.arange(len(index)), index])


def mode_metrics(samples, centres, std, threshold: float = 3.0) -> dict:
    """dict(modes_covered, num_modes, high_quality, reverse_kl) for samples [n, D] and centres [K, D]."""
    num_modes = len(centres)
    index, r = nearest_modes(samples, centres, std)
    if len(index) == 0:
        raise ValueError("need at least one sample")
    good = r < threshold
    counts = np.bincount(index[good], minlength=num_modes)
    if good.any():
        q = counts[counts > 0] / good.sum()
        reverse_kl = float(np.sum(q * np.log(q * num_modes)))
    else:
        reverse_kl = float("nan")
    return dict(
        modes_covered=int(np.count_nonzero(counts)),
        num_modes=num_modes,
        high_quality=100.0 * float(good.mean()),
        reverse_kl=reverse_kl,
    )
