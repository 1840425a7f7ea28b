"""Sample-quality metrics for generative models, as pure functions of arrays (float32 in, host floats out).

- Parzen-window log-likelihood with a cross-validated bandwidth: the 2014 paper's Table 1 protocol
  (Sec. 5, after Breuleux et al. 2011), batched over test points so no [N, M, d] tensor exists.
- Fréchet distance between Gaussian fits of two feature sets (Heusel et al. 2017).
- Classifier score exp(E_x KL(p(y|x) || p(y))), the Inception-score analogue (Salimans et al. 2016),
  and the KL of the predicted-class histogram to uniform (mode coverage).
- Improved precision/recall from k-NN balls (Kynkäänniemi et al. 2019).

Squared distances use ||a||^2 - 2 a.b + ||b||^2 as one matmul at ``Precision.HIGHEST`` (no TF32 or
bf16 passes on accelerators), after centring both sets on one set's mean to shrink the cancellation.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import xlogy

PAPER_SIGMAS = np.logspace(-1.0, 0.0, 10)  # the 2014 code's grid: 10 log-spaced bandwidths in [0.1, 1]


def _matrix(name: str, x) -> np.ndarray:
    x = np.asarray(x, np.float32)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty [num_points, dim] array, got shape {x.shape}")
    return x


def _same_dim(a: np.ndarray, b: np.ndarray, names: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{names} have different feature sizes: {a.shape[1]} vs {b.shape[1]}")


def _centre(x: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, jax.Array, jax.Array]:
    """(x - mean(ref), ref - mean(ref), ||ref - mean(ref)||^2 per row), shifted in float64; distances
    are unchanged. The last two are put on the device once."""
    shift = ref.mean(axis=0, dtype=np.float64)
    ref = ref - shift
    ref_sq = np.einsum("ij,ij->i", ref, ref)
    return (
        (x - shift).astype(np.float32),
        jnp.asarray(ref.astype(np.float32)),
        jnp.asarray(ref_sq.astype(np.float32)),
    )


def _sq_dists(x: jax.Array, centres: jax.Array, centres_sq: jax.Array) -> jax.Array:
    """[B, M] matrix of ||x_i - c_j||^2 = ||x_i||^2 - 2 x_i.c_j + ||c_j||^2, clipped at 0."""
    cross = jnp.dot(x, centres.T, precision=jax.lax.Precision.HIGHEST)
    return jnp.maximum(jnp.sum(x * x, axis=1)[:, None] - 2.0 * cross + centres_sq[None, :], 0.0)


def _map_chunks(fn, x: np.ndarray, batch_size: int, *args) -> np.ndarray:
    """Concatenates fn(chunk, *args) over row chunks of the host array x along the output's last axis.
    The last chunk is zero-padded to the chunk size so ``fn`` (jitted) compiles once per shape; chunks
    are dispatched asynchronously and fetched at the end."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = x.shape[0]
    size = min(batch_size, n)
    outs = []
    for start in range(0, n, size):
        chunk = x[start : start + size]
        rows = chunk.shape[0]
        if rows < size:
            chunk = np.pad(chunk, ((0, size - rows), (0, 0)))
        outs.append((fn(chunk, *args), rows))
    return np.concatenate([np.asarray(out)[..., :rows] for out, rows in outs], axis=-1)


# ----------------------------------------------------------------------------------------------------
# Parzen windows (Goodfellow et al. 2014, Sec. 5; Breuleux, Bengio & Vincent 2011)


@jax.jit
def _parzen_chunk(x: jax.Array, samples: jax.Array, samples_sq: jax.Array, sigmas: jax.Array) -> jax.Array:
    """[S, B] log-likelihoods of the rows of x under the Gaussian Parzen window of each sigma."""
    sq = _sq_dists(x, samples, samples_sq)
    num, dim = samples.shape
    lse = jax.lax.map(lambda s: jax.nn.logsumexp(sq * (-0.5 / (s * s)), axis=1), sigmas)
    return lse - math.log(num) - dim * jnp.log(sigmas * math.sqrt(2.0 * math.pi))[:, None]


def _parzen_grid(x, samples, sigmas, batch_size: int, min_samples: int) -> np.ndarray:
    """[S, N] Parzen log-likelihoods of x for every sigma of the grid (one distance pass per chunk)."""
    x, samples = _matrix("x", x), _matrix("samples", samples)
    _same_dim(x, samples, "x and samples")
    if samples.shape[0] < min_samples:
        raise ValueError(f"Parzen estimate needs at least {min_samples} samples, got {samples.shape[0]}")
    sigmas = np.asarray(sigmas, np.float64).reshape(-1)
    if sigmas.size == 0:
        raise ValueError("the sigma grid is empty: pass at least one bandwidth")
    if not np.all(np.isfinite(sigmas) & (sigmas > 0)):
        raise ValueError(f"Parzen bandwidths must be finite and > 0, got {sigmas.tolist()}")
    x, samples, samples_sq = _centre(x, samples)
    return _map_chunks(
        _parzen_chunk, x, batch_size, samples, samples_sq, jnp.asarray(sigmas.astype(np.float32))
    )


def parzen_log_likelihood(
    x, samples, sigma: float, *, batch_size: int = 1000, min_samples: int = 1
) -> np.ndarray:
    """Per-example log-likelihood of x [N, d] under a Gaussian Parzen window on samples mu [M, d]:

        log p(x) = logmeanexp_j(-||x - mu_j||^2 / (2 sigma^2)) - d log(sigma sqrt(2 pi)),

    the estimator of the 2014 paper's Table 1 (Sec. 5, after Breuleux et al. 2011). Computed
    ``batch_size`` test points at a time from a [batch_size, M] distance matrix with a max-subtracted
    log-sum-exp. Raises ValueError if there are fewer than ``min_samples`` samples. Returns [N] float32
    (numpy).
    """
    return _parzen_grid(x, samples, [sigma], batch_size, min_samples)[0]


def select_sigma(
    valid_x, samples, sigmas, *, batch_size: int = 1000, min_samples: int = 1
) -> tuple[float, np.ndarray]:
    """Cross-validated Parzen bandwidth: argmax over the grid of the mean validation log-likelihood
    (first on ties). Returns (best sigma, [S] float64 mean log-likelihood per sigma)."""
    lls = np.asarray(_parzen_grid(valid_x, samples, sigmas, batch_size, min_samples), np.float64)
    mean_ll = lls.mean(axis=1)
    return float(np.asarray(sigmas, np.float64).reshape(-1)[np.argmax(mean_ll)]), mean_ll


def parzen_evaluate(
    test_x, valid_x, samples, sigmas=PAPER_SIGMAS, *, batch_size: int = 1000, min_samples: int = 1
) -> dict[str, float]:
    """The paper's protocol: sigma chosen on the validation set, then the test log-likelihood's mean and
    standard error std / sqrt(N) (population std, as the 2014 code). For Table 1 pass M = 10,000
    generated samples and ``min_samples=10_000``, the sigma grid ``PAPER_SIGMAS`` (logspace(-1, 0, 10)).
    Returns dict(parzen_ll, parzen_se, parzen_sigma)."""
    sigma, _ = select_sigma(valid_x, samples, sigmas, batch_size=batch_size, min_samples=min_samples)
    ll = np.asarray(parzen_log_likelihood(test_x, samples, sigma, batch_size=batch_size), np.float64)
    return {
        "parzen_ll": float(ll.mean()),
        "parzen_se": float(ll.std() / math.sqrt(ll.size)),
        "parzen_sigma": sigma,
    }


# ----------------------------------------------------------------------------------------------------
# Fréchet distance (Heusel et al. 2017)


def _psd_sqrt(cov: np.ndarray) -> np.ndarray:
    evals, evecs = np.linalg.eigh(cov)
    return (evecs * np.sqrt(np.clip(evals, 0.0, None))) @ evecs.T


def gaussian_frechet_distance(mu_a, cov_a, mu_b, cov_b) -> float:
    """Squared 2-Wasserstein distance between N(mu_a, cov_a) and N(mu_b, cov_b), in float64:

        ||mu_a - mu_b||^2 + Tr(cov_a + cov_b - 2 (cov_a cov_b)^{1/2}),

    with Tr (cov_a cov_b)^{1/2} = Tr (A cov_b A)^{1/2}, A = cov_a^{1/2} (similar matrices; the right
    side is symmetric PSD, so it comes from eigenvalues, real and without sqrtm's complex round-off)."""
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    cov_a, cov_b = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
    root_a = _psd_sqrt(cov_a)
    inner = root_a @ cov_b @ root_a
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2.0), 0.0, None)).sum()
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * tr_sqrt)


def frechet_distance(feats_a, feats_b) -> float:
    """Fréchet distance (FID-style, Heusel et al. 2017) between the Gaussian fits (mean, unbiased
    covariance) of two feature sets [N_a, d] and [N_b, d]; see ``gaussian_frechet_distance``."""
    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    for name, f in (("feats_a", a), ("feats_b", b)):
        if f.ndim != 2 or f.shape[0] < 2:
            raise ValueError(f"{name} must be a [num_points >= 2, dim] array, got shape {f.shape}")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feats_a and feats_b have different feature sizes: {a.shape[1]} vs {b.shape[1]}")
    cov = functools.partial(np.cov, rowvar=False)
    return gaussian_frechet_distance(a.mean(0), np.atleast_2d(cov(a)), b.mean(0), np.atleast_2d(cov(b)))


# ----------------------------------------------------------------------------------------------------
# Classifier-based scores (Salimans et al. 2016)


@jax.jit
def _classifier_score(probs: jax.Array) -> jax.Array:
    marginal = jnp.mean(probs, axis=0, keepdims=True)
    kl = jnp.sum(xlogy(probs, probs) - xlogy(probs, marginal), axis=1)
    return jnp.exp(jnp.mean(kl))


def classifier_score(probs) -> float:
    """exp(E_x KL(p(y|x) || p(y))), p(y) = E_x p(y|x), over all rows of probs [N, K] at once (no
    splits): the Inception score of Salimans et al. 2016 with a domain classifier. In [1, K]: K for
    confident predictions spread evenly over K classes, 1 when every row is the same distribution."""
    return float(_classifier_score(_matrix("probs", probs)))


def class_kl_to_uniform(labels, num_classes: int = 10) -> tuple[np.ndarray, float]:
    """Counts of the predicted labels [N] over the K classes, and KL(q || uniform) = sum_k q_k log(K q_k)
    = log K - H(q) of their frequencies q (float64): 0 for balanced classes, log K when all fall in one."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a non-empty 1-D integer array, got {labels.dtype} {labels.shape}")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must lie in [0, {num_classes}), got [{labels.min()}, {labels.max()}]")
    hist = np.bincount(labels, minlength=num_classes)
    q = hist / labels.size
    nz = q > 0
    return hist, float(np.sum(q[nz] * np.log(num_classes * q[nz])))


# ----------------------------------------------------------------------------------------------------
# Improved precision and recall (Kynkäänniemi et al. 2019)


@functools.partial(jax.jit, static_argnames="k")
def _kth_neighbour_sq(x: jax.Array, feats: jax.Array, feats_sq: jax.Array, k: int) -> jax.Array:
    """Squared distance from each row of x to its k-th nearest row of feats, counting x itself (at 0):
    k passes that each mask one row minimum, then a min (lax.top_k sorts the rows: slower on the CPU)."""
    cols = jnp.arange(feats.shape[0])

    def drop_nearest(_, sq):
        return jnp.where(cols[None, :] == jnp.argmin(sq, axis=1)[:, None], jnp.inf, sq)

    return jnp.min(jax.lax.fori_loop(0, k, drop_nearest, _sq_dists(x, feats, feats_sq)), axis=1)


@jax.jit
def _in_balls(x: jax.Array, centres: jax.Array, centres_sq: jax.Array, radii_sq: jax.Array) -> jax.Array:
    return jnp.any(_sq_dists(x, centres, centres_sq) <= radii_sq[None, :], axis=1)


def _radii_sq(ref_dev: jax.Array, ref_sq: jax.Array, k: int, batch_size: int) -> jax.Array:
    """[N] squared k-NN radius of each (centred) row of ref within ref, itself excluded."""
    kth = functools.partial(_kth_neighbour_sq, k=k)
    return jnp.asarray(_map_chunks(kth, np.asarray(ref_dev), batch_size, ref_dev, ref_sq))


def _coverage(ref: np.ndarray, query: np.ndarray, k: int, batch_size: int) -> float:
    """Fraction of query rows inside the union of the k-NN balls of the rows of ref."""
    query, ref_dev, ref_sq = _centre(query, ref)
    radii_sq = _radii_sq(ref_dev, ref_sq, k, batch_size)
    return float(np.mean(_map_chunks(_in_balls, query, batch_size, ref_dev, ref_sq, radii_sq)))


def precision_recall(real_feats, fake_feats, k: int = 3, *, batch_size: int = 1000) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019). Each point's ball has the radius of
    its k-th nearest neighbour within its own set (itself excluded);

        precision = mean over fakes of 1[the fake lies in some real ball],
        recall = mean over reals of 1[the real lies in some fake ball].

    Distances in [batch_size, N] chunks. Returns (precision, recall)."""
    real, fake = _matrix("real_feats", real_feats), _matrix("fake_feats", fake_feats)
    _same_dim(real, fake, "real_feats and fake_feats")
    if k < 1 or k >= min(real.shape[0], fake.shape[0]):
        raise ValueError(
            f"k must be in [1, number of points per set), got k={k} for {real.shape[0]} real, "
            f"{fake.shape[0]} fake"
        )
    return _coverage(real, fake, k, batch_size), _coverage(fake, real, k, batch_size)


# ----------------------------------------------------------------------------------------------------
# Density and coverage (Naeem et al. 2020)


@jax.jit
def _balls_holding(x: jax.Array, centres: jax.Array, centres_sq: jax.Array, radii_sq: jax.Array) -> jax.Array:
    """For each row of x, the number of balls (centres, radii) that hold it strictly inside."""
    return jnp.sum(_sq_dists(x, centres, centres_sq) < radii_sq[None, :], axis=1)


@jax.jit
def _nearest_sq(x: jax.Array, centres: jax.Array, centres_sq: jax.Array) -> jax.Array:
    return jnp.min(_sq_dists(x, centres, centres_sq), axis=1)


def density_coverage(real_feats, fake_feats, k: int = 5, *, batch_size: int = 1000) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020, ``prdc.compute_prdc``). r_i is real i's distance to its
    k-th nearest real neighbour (itself excluded);

        density = 1/(k M) sum_j sum_i 1[||y_j - x_i|| < r_i]   (M fakes y_j; about 1 when p_g = p_data,
                                                                 above 1 where fakes crowd the reals),
        coverage = 1/N sum_i 1[min_j ||y_j - x_i|| < r_i]      (N reals x_i; the share of real balls hit).

    Strict inequalities, as prdc compares. Returns (density, coverage)."""
    real, fake = _matrix("real_feats", real_feats), _matrix("fake_feats", fake_feats)
    _same_dim(real, fake, "real_feats and fake_feats")
    if k < 1 or k >= real.shape[0]:
        raise ValueError(f"k must be in [1, number of real points), got k={k} for {real.shape[0]} real")
    fake_c, real_dev, real_sq = _centre(fake, real)
    real_c = np.asarray(real_dev)
    radii_sq = _radii_sq(real_dev, real_sq, k, batch_size)
    held = _map_chunks(_balls_holding, fake_c, batch_size, real_dev, real_sq, radii_sq)
    fake_dev = jnp.asarray(fake_c)
    nearest = _map_chunks(_nearest_sq, real_c, batch_size, fake_dev, jnp.sum(fake_dev * fake_dev, axis=1))
    return float(held.sum() / (k * fake.shape[0])), float(np.mean(nearest < np.asarray(radii_sq)))
