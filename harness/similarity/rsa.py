r"""Representational similarity analysis (RSA): correlate two representational
dissimilarity matrices (RDMs) of the same examples.

Kriegeskorte, Mur & Bandettini (2008). Each representation gives an RDM, the
dissimilarity of every pair of examples; two representations are similar when their RDMs
are. Names and conventions follow rsatoolbox (``rsatoolbox.rdm.calc_rdm`` and
``rsatoolbox.rdm.compare``), which the tests check against to 1e-10:

RDM metrics (``calc_rdm(..., method=)``), for rows :math:`x_i` of an ``n x d`` input:

=================  ==========================================================================
``"euclidean"``    :math:`\|x_i - x_j\|^2 / d`: rsatoolbox's "euclidean" is the *squared*
                   distance per feature
``"correlation"``  :math:`1 - \mathrm{corr}(x_i, x_j)`, Pearson over the features
=================  ==========================================================================

Comparison methods (``compare(..., method=)``), over the condensed RDMs :math:`a, b`
(pairs :math:`i < j` in ``scipy.spatial.distance.pdist`` order):

=================  ==========================================================================
``"cosine"``       :math:`a \cdot b / (\|a\| \|b\|)`
``"corr"``         Pearson correlation (also ``"pearson"``); the Zhou & Srikumar spatial
                   similarity is this method on label-distance vectors
``"spearman"``     Pearson correlation of the ranks (average ranks for ties)
``"rho-a"``        :math:`12\, \tilde r_a \cdot \tilde r_b / (m^3 - m)` on centred ranks,
                   Spearman's rho without tie correction
``"kendall"``      Kendall's tau-b (``scipy.stats.kendalltau``)
``"tau-a"``        Kendall's tau-a: (concordant - discordant) / all pairs; ties count as
                   neither, so it is below 1 for RDMs with ties (Nili et al. 2014)
=================  ==========================================================================

Cost: an RDM has :math:`m = n(n-1)/2` entries, so time and memory are quadratic in
``n`` (``n = 17,000``: 1.4e8 pairs, 1.2 GB per condensed float64 RDM, plus the ranks of
rank methods, :math:`O(m \log m)`). Benchmarks time it on a subsample
(``benchmarks/benchmarks/similarity.py``); use CKA for all examples of a large set.
"""

import numpy as np
import scipy.stats
from scipy.spatial.distance import pdist

from ..registry import unknown_name_message
from ._validation import SimilarityInputError, centred, check_pair, check_value, unit_scale

__all__ = ["rdm", "compare_rdms", "rsa", "RDM_METRICS", "COMPARE_METHODS"]


def _euclidean(X):
    return pdist(X, "sqeuclidean") / X.shape[1]


def _correlation(X):
    norms = np.linalg.norm(X - X.mean(axis=1, keepdims=True), axis=1)
    flat = np.flatnonzero(norms <= 1e-13 * np.linalg.norm(X, axis=1))
    if flat.size:
        raise SimilarityInputError(
            f"rdm: example {int(flat[0])} has the same value in every feature ({flat.size} "
            "such example(s)); its correlation distance is undefined.")
    return pdist(X, "correlation")


RDM_METRICS = {"euclidean": _euclidean, "correlation": _correlation}


def _pearson(a, b):
    return _cosine(a - a.mean(), b - b.mean())


def _cosine(a, b):
    return float(np.dot(a / np.linalg.norm(a), b / np.linalg.norm(b)))


def _spearman(a, b):
    return _pearson(scipy.stats.rankdata(a), scipy.stats.rankdata(b))


def _rho_a(a, b):
    ra, rb = scipy.stats.rankdata(a), scipy.stats.rankdata(b)
    m = a.size
    return float(12.0 * np.dot(ra - ra.mean(), rb - rb.mean()) / (m ** 3 - m))


def _kendall_b(a, b):
    return float(scipy.stats.kendalltau(a, b).statistic)


def _tau_a(a, b):
    # tau-b divides (concordant - discordant) by sqrt((m0 - ties_a)(m0 - ties_b));
    # tau-a by all m0 pairs. scipy gives tau-b in O(m log m); the ties are counted here.
    m0 = a.size * (a.size - 1) // 2
    ties = [_tied_pairs(v) for v in (a, b)]
    tau_b = scipy.stats.kendalltau(a, b).statistic
    return float(tau_b * np.sqrt(float(m0 - ties[0])) * np.sqrt(float(m0 - ties[1])) / m0)


def _tied_pairs(v):
    _, counts = np.unique(v, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


COMPARE_METHODS = {"cosine": _cosine, "corr": _pearson, "pearson": _pearson,
                   "spearman": _spearman, "rho-a": _rho_a, "kendall": _kendall_b,
                   "tau-a": _tau_a}


def _lookup(table, name, what, caller):
    if name not in table:
        raise SimilarityInputError(f"{caller}: {unknown_name_message(what, name, table)}")
    return table[name]


def rdm(X, metric="euclidean"):
    """Condensed RDM of the rows of ``X``: entry for pair ``i < j`` at
    ``n * i + j - ((i + 2) * (i + 1)) // 2`` (``scipy.spatial.distance.pdist`` layout).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float64
    metric : {"euclidean", "correlation"}
        See the module docstring (rsatoolbox's conventions).

    Returns
    -------
    ndarray of shape (n_samples * (n_samples - 1) // 2,)
    """
    return _lookup(RDM_METRICS, metric, "RDM metric", "rdm")(np.asarray(X, dtype=np.float64))


def compare_rdms(a, b, method="corr"):
    """Similarity of two condensed RDMs of the same pairs (see the module docstring).

    Raises
    ------
    SimilarityInputError
        Different lengths, fewer than 2 pairs, or a constant RDM (every method but
        ``"cosine"`` correlates, and a constant RDM has no order to correlate; a zero RDM
        has no direction for ``"cosine"``).
    """
    compare = _lookup(COMPARE_METHODS, method, "RDM comparison method", "compare_rdms")
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape or a.size < 2:
        raise SimilarityInputError(f"compare_rdms needs two RDMs of the same pairs (at least "
                                   f"2); got {a.size} and {b.size} entries.")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise SimilarityInputError("compare_rdms: an RDM holds NaN or infinity.")
    a, b = unit_scale(a), unit_scale(b)  # every comparison ignores an RDM's scale
    for name, v in (("first", a), ("second", b)):
        spread = np.ptp(v) if method != "cosine" else np.max(np.abs(v))
        if spread == 0.0 or spread <= 1e-13 * np.max(np.abs(v)):
            raise SimilarityInputError(f"compare_rdms: the {name} RDM is constant; its "
                                       f"{method} similarity is undefined.")
    return check_value(np.clip(compare(a, b), -1.0, 1.0), caller="compare_rdms")


def rsa(X, Y, *, metric="euclidean", method="corr"):
    """RSA of two representations of the same examples: ``compare_rdms(rdm(X), rdm(Y))``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
    Y : array-like of shape (n_samples, n_features_y)
    metric : {"euclidean", "correlation"}, default="euclidean"
        RDM metric, applied to both.
    method : {"corr", "pearson", "cosine", "spearman", "rho-a", "kendall", "tau-a"}, default="corr"
        Comparison of the two RDMs.

    Returns
    -------
    float
        In [-1, 1]; 1 for identical inputs (below 1 for ``"tau-a"`` when the RDM has ties).
        Symmetric in ``X`` and ``Y``. The euclidean RDM makes it invariant to
        translation, orthogonal maps and (for every method, which ignores the RDM's
        scale) isotropic scaling; the correlation RDM to an affine map of each example's
        values ``a_i x_i + b_i`` (``a_i > 0``) and to a permutation of the features.

    Raises
    ------
    SimilarityInputError
        Mismatched rows, fewer than 4 examples, non-finite values, a constant input, an
        example with one value in every feature (correlation RDM), or a constant RDM.

    Notes
    -----
    Time and memory :math:`O(n^2 (d_1 + d_2))` and :math:`O(n^2)`; the rank methods add
    :math:`O(n^2 \\log n)`. See the module docstring for the cost at ``n = 17,000``.

    References
    ----------
    Kriegeskorte, Mur & Bandettini, "Representational similarity analysis - connecting
    the branches of systems neuroscience", Front. Syst. Neurosci. 2008. Nili et al., "A
    toolbox for representational similarity analysis", PLoS Comput. Biol. 2014.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 3))
    >>> round(rsa(X, 2 * X + 5, method="spearman"), 12)
    1.0
    """
    caller = "rsa"
    _lookup(RDM_METRICS, metric, "RDM metric", caller)
    _lookup(COMPARE_METHODS, method, "RDM comparison method", caller)
    X, Y = check_pair(X, Y, caller=caller)
    X, Y = unit_scale(X), unit_scale(Y)  # RSA ignores scale; squares must not overflow
    centred(X, name="X", caller=caller)  # raises on a constant input
    centred(Y, name="Y", caller=caller)
    return compare_rdms(rdm(X, metric), rdm(Y, metric), method)
