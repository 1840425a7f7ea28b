r"""The kernel inception distance (Bińkowski et al. 2018, "Demystifying MMD GANs", Sec. 4): the unbiased
MMD^2 between two feature sets under the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, d the
feature size, averaged over random subsets of both sets:

    MMD^2_u = [sum_{i!=j} k(x_i, x_j) + sum_{i!=j} k(y_i, y_j)] / (m (m - 1)) - 2 sum_{i,j} k(x_i, y_j) / m^2

per pair of subsets of m rows each, drawn without replacement. The subsets are torch-fidelity's: a
``np.random.RandomState(seed)`` draws the first set's rows then the second's, subset after subset (its
defaults: 100 subsets of 1,000 rows, seed 2020). Unbiased, so unlike FID it does not grow as the sample
shrinks, and a single subset may be negative. Computed in float64.
"""

import numpy as np

SUBSETS, SUBSET_SIZE, SEED = 100, 1000, 2020


def polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased MMD^2 of two [m, d] sets under (x.y / d + 1)^3."""
    m, d = x.shape

    def k(a, b):
        return (a @ b.T / d + 1.0) ** 3

    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2.0 * kxy.sum() / (m * m))


def kid(feats_a, feats_b, num_subsets: int = SUBSETS, subset_size: int = SUBSET_SIZE, seed: int = SEED):
    """(mean, std) of ``polynomial_mmd2`` over ``num_subsets`` pairs of ``subset_size``-row subsets of
    feats_a [N_a, d] and feats_b [N_b, d]. ValueError when a set has fewer rows than a subset needs."""
    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need feature sets [N, d] of one d; got {a.shape} and {b.shape}")
    if subset_size < 2 or min(len(a), len(b)) < subset_size:
        raise ValueError(
            f"KID's subsets of {subset_size} rows need at least that many in each set (and 2 or more); "
            f"got {len(a)} and {len(b)}"
        )
    rng = np.random.RandomState(seed)
    values = []
    for _ in range(num_subsets):
        x = a[rng.choice(len(a), subset_size, replace=False)]
        y = b[rng.choice(len(b), subset_size, replace=False)]
        values.append(polynomial_mmd2(x, y))
    return float(np.mean(values)), float(np.std(values))
