"""Low-dimensional benchmark data: 2-D Gaussian mixtures (ring, grid) and 1-D densities.

All samplers are plain numpy, deterministic given ``seed`` (``np.random.default_rng(seed)``), and return
float64 arrays (cast for the model). The 2-D mixtures weight their K modes equally and share one
isotropic ``std``; ``mode_centres`` gives the centres so that ``mode_metrics`` uses the same definition.
"""

import numpy as np


def ring_centres(num_modes: int = 8, radius: float = 1.0) -> np.ndarray:
    """[K, 2]: (r cos 2πi/K, r sin 2πi/K) for i = 0..K-1 (K distinct angles; 2π itself is excluded)."""
    angles = 2.0 * np.pi * np.arange(num_modes) / num_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=-1)


def grid_centres(side: int = 5, spacing: float = 2.0) -> np.ndarray:
    """[side², 2]: a side × side lattice centred on 0; the default is (−4 + 2i, −4 + 2j), i, j = 0..4."""
    axis = spacing * (np.arange(side) - (side - 1) / 2.0)
    xs, ys = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=-1)


_CENTRES = {"ring": ring_centres, "grid": grid_centres}


def mode_centres(name: str, **kw) -> np.ndarray:
    """The centres of the ``name`` mixture ('ring' or 'grid') for the sampler's keyword arguments.

    ``std`` is accepted and ignored, so ``mode_centres(name, **sampler_kwargs)`` works; any other
    unknown keyword is a TypeError.
    """
    if name not in _CENTRES:
        raise ValueError(f"unknown toy {name!r}; choose one of: {', '.join(_CENTRES)}")
    kw.pop("std", None)
    return _CENTRES[name](**kw)


def _mixture_2d(n: int, seed: int, centres: np.ndarray, std: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    modes = rng.integers(len(centres), size=n)
    return centres[modes] + std * rng.standard_normal((n, centres.shape[1]))


def ring(n: int, seed: int, num_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> np.ndarray:
    """[n, 2] samples of (1/K) Σ_i N(c_i, std² I) with c_i on a circle (``ring_centres``).

    The defaults are the PacGAN/VEEGAN ring (8 modes, radius 1, std 0.01); Unrolled GAN used radius 2,
    std 0.02.
    """
    return _mixture_2d(n, seed, ring_centres(num_modes, radius), std)


def grid(n: int, seed: int, side: int = 5, spacing: float = 2.0, std: float = 0.05) -> np.ndarray:
    """[n, 2] samples of the side² equally weighted Gaussians N(c_ij, std² I) at ``grid_centres``."""
    return _mixture_2d(n, seed, grid_centres(side, spacing), std)


def _mixture_params(means, stds, weights):
    means = np.atleast_1d(np.asarray(means, np.float64))
    stds = np.broadcast_to(np.asarray(stds, np.float64), means.shape)
    if weights is None:
        weights = np.full(means.shape, 1.0 / means.size)
    weights = np.broadcast_to(np.asarray(weights, np.float64), means.shape)
    if np.any(stds <= 0) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError("need stds > 0, weights >= 0 and a positive total weight")
    return means, stds, weights / weights.sum()


def gaussian_1d(n: int, seed: int, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """[n] samples of N(mean, std²)."""
    return mean + std * np.random.default_rng(seed).standard_normal(n)


def mixture_1d(n: int, seed: int, means, stds, weights=None) -> np.ndarray:
    """[n] samples of Σ_k w_k N(μ_k, σ_k²); ``weights`` (default uniform) are normalised to sum to 1."""
    means, stds, weights = _mixture_params(means, stds, weights)
    rng = np.random.default_rng(seed)
    comp = rng.choice(means.size, size=n, p=weights)
    return means[comp] + stds[comp] * rng.standard_normal(n)


def gaussian_1d_pdf(x, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """N(x; mean, std²) = exp(−(x − mean)²/2std²) / (std √(2π)), elementwise, float64."""
    z = (np.asarray(x, np.float64) - mean) / std
    return np.exp(-0.5 * z * z) / (std * np.sqrt(2.0 * np.pi))


def mixture_1d_pdf(x, means, stds, weights=None) -> np.ndarray:
    """Σ_k w_k N(x; μ_k, σ_k²), elementwise over x, float64 (weights normalised as in ``mixture_1d``)."""
    means, stds, weights = _mixture_params(means, stds, weights)
    x = np.asarray(x, np.float64)
    return sum(w * gaussian_1d_pdf(x, m, s) for m, s, w in zip(means, stds, weights, strict=True))
