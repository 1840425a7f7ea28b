"""Proposition 1 and Theorem 1 of the paper as numerical tools on 1-D densities (float64, numpy/scipy).

    D*_G(x) = p_data(x) / (p_data(x) + p_g(x))                                     (Eq. 2, Prop. 1)
    V(G, D) = ∫ p_data(x) log D(x) dx + ∫ p_g(x) log(1 − D(x)) dx                  (Eq. 3)
    C(G)    = max_D V(G, D) = V(G, D*_G)                                            (Eq. 4)
            = −log 4 + KL(p_data ‖ m) + KL(p_g ‖ m),  m = (p_data + p_g)/2          (Eq. 5)
            = −log 4 + 2 JSD(p_data ‖ p_g)                                          (Eq. 6, Thm. 1)

Densities and D are callables of x; integrals run over [lo, hi], which must hold all but a negligible
mass of both densities. ``value_function`` (hence ``c_of_g``) uses adaptive Gauss–Kronrod quadrature
(scipy.integrate.quad, scalar calls) and ``jsd`` uses composite Simpson on a fine grid (vectorised
calls), so that checking Eq. 6 compares two independent computations. Integrands are 0 wherever the
weighting density is 0 (0 log 0 = 0).
"""

import numpy as np
from scipy import integrate


def optimal_discriminator(p_data, p_g) -> np.ndarray:
    """D*_G = p_data / (p_data + p_g) elementwise (Eq. 2); 1/2 where both densities are 0 (V ignores it)."""
    p_data = np.asarray(p_data, np.float64)
    p_g = np.asarray(p_g, np.float64)
    total = p_data + p_g
    return np.where(total > 0, p_data / np.where(total > 0, total, 1.0), 0.5)


def _weighted_log(p, d):
    """p log d with 0 log(anything) = 0 (p = 0 contributes nothing, even where d = 0)."""
    return np.where(p > 0, p * np.log(np.where(p > 0, d, 1.0)), 0.0)


def _quad(f, lo: float, hi: float, pieces: int) -> float:
    """∫_lo^hi f by QUADPACK on ``pieces`` equal sub-intervals (so narrow peaks are not stepped over)."""
    edges = np.linspace(lo, hi, pieces + 1)
    return float(
        sum(
            integrate.quad(f, a, b, epsabs=1e-14, epsrel=1e-12, limit=200)[0]
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        )
    )


def value_function(p_data_pdf, p_g_pdf, D, lo: float, hi: float, pieces: int = 64, one_minus_D=None) -> float:
    """V(G, D) = ∫ p_data log D + ∫ p_g log(1 − D) over [lo, hi] (Eq. 3), by adaptive quadrature.

    ``one_minus_D`` (default x ↦ 1 − D(x)) may supply 1 − D directly where D rounds to 1 but p_g > 0
    (the tails of D*_G), which would otherwise give p_g log 0 = −inf.
    """

    def integrand(x):
        d = D(x)
        d_fake = 1.0 - d if one_minus_D is None else one_minus_D(x)
        return _weighted_log(p_data_pdf(x), d) + _weighted_log(p_g_pdf(x), d_fake)

    return _quad(integrand, lo, hi, pieces)


def c_of_g(p_data_pdf, p_g_pdf, lo: float, hi: float, pieces: int = 64) -> float:
    """C(G) = V(G, D*_G) (Eq. 4); equals −log 4 + 2 JSD(p_data ‖ p_g) by Theorem 1."""

    def d_star(x):
        return optimal_discriminator(p_data_pdf(x), p_g_pdf(x))

    def one_minus_d_star(x):  # p_g / (p_data + p_g), computed directly rather than as 1 − D*
        return optimal_discriminator(p_g_pdf(x), p_data_pdf(x))

    return value_function(p_data_pdf, p_g_pdf, d_star, lo, hi, pieces, one_minus_D=one_minus_d_star)


def jsd(p_pdf, q_pdf, lo: float, hi: float, num: int = 2**17 + 1) -> float:
    """JSD(p ‖ q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2, in nats (in [0, log 2]).

    Each KL is its own composite-Simpson integral on ``num`` equally spaced points of [lo, hi]; the
    spacing (hi − lo)/(num − 1) must be well below the densities' smallest length scale.
    """
    x = np.linspace(lo, hi, num)
    p = np.asarray(p_pdf(x), np.float64)
    q = np.asarray(q_pdf(x), np.float64)
    m = 0.5 * (p + q)
    kl_pm = integrate.simpson(_weighted_log(p, p / np.where(m > 0, m, 1.0)), x=x)
    kl_qm = integrate.simpson(_weighted_log(q, q / np.where(m > 0, m, 1.0)), x=x)
    return float(0.5 * kl_pm + 0.5 * kl_qm)
