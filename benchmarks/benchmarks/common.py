"""Seeded synthetic inputs shared by the benchmarks.

# !!! Must not be changed -- only appended !!!  (asv results are compared across
# commits; changing a generator silently changes what an old number measured.)
"""

import os

import numpy as np

__all__ = ["is_full", "separable_clusters", "overlapping_clusters", "GEOMETRY_CASES",
           "make_case", "warm_up_kernels"]


def is_full():
    """True when HARNESS_BENCH_FULL=1 asks for the full (slow) sweep."""
    return os.environ.get("HARNESS_BENCH_FULL", "0") not in ("", "0")


def _balanced_labels(n, k, rng):
    labels = np.arange(n) % k
    rng.shuffle(labels)
    return labels


def separable_clusters(n, d, k, *, separation=4.5, rng=None):
    """Gaussian clusters (unit covariance) whose means are ~`separation` apart.

    Means are ``m_g = s z_g`` with ``z_g ~ N(0, I_d)`` and ``s = separation /
    sqrt(2 d)``, so that ``||m_g - m_h|| ~ separation``. With unit noise, 384
    dimensions and ~1000 points per label this gives pairwise hull distances of about
    1-2: every pair separable, with hundreds of support vectors per pair (not
    trivially far). Returns ``X`` (n, d) float64 and ``labels`` (n,) int.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    means = rng.standard_normal((k, d)) * (separation / np.sqrt(2 * d))
    labels = _balanced_labels(n, k, rng)
    X = means[labels] + rng.standard_normal((n, d))
    return X, labels


def overlapping_clusters(n, d, k, *, latent_dim=None, separation=1.0, rng=None):
    """Gaussian clusters with overlapping hulls.

    Points are drawn in ``latent_dim`` dimensions (means ~`separation` apart, unit
    noise) and mapped into ``d`` dimensions by a random linear map, so that labels
    overlap even when ``n / k < 2 d`` (full-rank Gaussians in high dimension would
    be separable by counting alone). ``latent_dim=None`` means ``d``.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    q = d if latent_dim is None else latent_dim
    means = rng.standard_normal((k, q)) * (separation / np.sqrt(2 * q))
    labels = _balanced_labels(n, k, rng)
    Z = means[labels] + rng.standard_normal((n, q))
    if q == d:
        return Z, labels
    M = rng.standard_normal((q, d)) / np.sqrt(q)
    return Z @ M, labels


# name -> (generator, kwargs); sizes of the paper's tasks.
GEOMETRY_CASES = {
    # (a) POS on English PUD: 17 labels, ~17k words, MiniLM-sized states.
    "a-pos-17000x384x17-sep": (separable_clusters, dict(n=17000, d=384, k=17)),
    # (b) TREC-50: 5452 questions, 50 labels, overlapping.
    "b-trec-5452x384x50-ovl": (overlapping_clusters,
                               dict(n=5452, d=384, k=50, latent_dim=12, separation=2.0)),
    # (c) spec timing case: 3000 points, 128 dims, 10 labels, separable.
    "c-3000x128x10-sep": (separable_clusters, dict(n=3000, d=128, k=10)),
    # (d) spec timing case: 1000 overlapping points, 16 dims, 3 labels.
    "d-1000x16x3-ovl": (overlapping_clusters, dict(n=1000, d=16, k=3, separation=1.0)),
}


def make_case(name):
    """Build one named case with ``np.random.default_rng(0)``: returns (X, labels)."""
    gen, kw = GEOMETRY_CASES[name]
    return gen(rng=np.random.default_rng(0), **kw)


def warm_up_kernels():
    """Load the compiled (numba) geometry kernels once, so that timings exclude it.

    Returns ``(seconds, MiB)``: the time and the growth of peak RSS of that one-time
    step (compiling, or loading from numba's on-disk cache; once per process).
    """
    import resource
    import time

    from harness.geometry import cluster_labels, pairwise_hull_distances

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    X, labels = separable_clusters(60, 4, 3, rng=np.random.default_rng(0))
    pairwise_hull_distances(X, labels)
    # A small non-linear DirectProbe run reaches every compiled kernel of the clustering.
    X, labels = overlapping_clusters(200, 3, 3, rng=np.random.default_rng(0))
    cluster_labels(X, labels)
    dt = time.perf_counter() - t0
    return dt, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024.0


def representation_pair(n, d, *, seed=0):
    """Two related representations of ``n`` examples in ``d`` dimensions (similarity
    benchmarks): ``X`` with anisotropic Gaussian features and ``Y = X R + noise`` with a
    random orthogonal ``R``, both float64. Appended for ``benchmarks/similarity.py``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.linspace(0.2, 3.0, d)
    R, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return X, X @ R + rng.standard_normal((n, d))
