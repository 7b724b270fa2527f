r"""Linear centred kernel alignment (CKA), biased and debiased, in Gram and Gram-free form.

For two representations of the same ``n`` examples, ``X`` (n x d1) and ``Y`` (n x d2),
with linear kernels :math:`K = X X^\top` and :math:`L = Y Y^\top`,

.. math::

    \mathrm{CKA}(X, Y) = \frac{\mathrm{HSIC}(K, L)}
                              {\sqrt{\mathrm{HSIC}(K, K)\,\mathrm{HSIC}(L, L)}}

(Kornblith et al. 2019). Two estimators of HSIC are offered:

* **biased** (Gretton et al. 2005): :math:`\mathrm{tr}(K H L H) / (n-1)^2` with the
  centring matrix :math:`H`. On centred data it needs no Gram matrix:
  :math:`\mathrm{CKA} = \|Y^\top X\|_F^2 / (\|X^\top X\|_F \|Y^\top Y\|_F)`. It is biased
  upwards: for independent Gaussian inputs its expectation is about
  :math:`d / (n + d)`, far from 0 when ``n`` is small (``tests/test_similarity_measures``
  measures this).
* **debiased**: the unbiased estimator of Song et al. (2012), used for CKA by Nguyen,
  Raghu & Kornblith (2021). With :math:`\tilde K, \tilde L` the kernels with their
  diagonals set to zero,

  .. math::

      \mathrm{HSIC}_u(K, L) = \frac{1}{n(n-3)} \Big[ \mathrm{tr}(\tilde K \tilde L)
      + \frac{\mathbf 1^\top \tilde K \mathbf 1 \; \mathbf 1^\top \tilde L \mathbf 1}{(n-1)(n-2)}
      - \frac{2}{n-2} \mathbf 1^\top \tilde K \tilde L \mathbf 1 \Big].

  It is an inner product of "U-centred" kernels (Székely & Rizzo 2014), so the
  debiased CKA lies in [-1, 1], and it is exactly invariant to translating either input.
  Gram-free, every term is linear in ``n``: with row norms :math:`r_i = \|x_i\|^2`,
  column sums :math:`s = X^\top \mathbf 1`, :math:`\mathrm{tr}(\tilde K \tilde L) =
  \|X^\top Y\|_F^2 - r_x \cdot r_y`, :math:`\mathbf 1^\top \tilde K \mathbf 1 = \|s_x\|^2 -
  \sum_i r_{x,i}` and :math:`\tilde K \mathbf 1 = X s_x - r_x`.

Both estimators are computed on column-centred data in float64, so each CKA is invariant
to translation, isotropic scaling and orthogonal transforms of either input, and
symmetric in ``X`` and ``Y``.
"""

import numpy as np

from ._validation import SimilarityInputError, centred, check_pair, unit_scale

__all__ = ["linear_cka", "hsic_terms"]

METHODS = ("auto", "features", "gram")


def linear_cka(X, Y, *, debiased=False, method="auto"):
    r"""Linear CKA of two representations of the same examples.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
    Y : array-like of shape (n_samples, n_features_y)
        Row ``i`` of both is example ``i``; the feature counts may differ.
    debiased : bool, default=False
        Use the unbiased HSIC estimator (see the module docstring).
    method : {"auto", "features", "gram"}, default="auto"
        ``"features"``: Gram-free, time :math:`O(n\, d_1 d_2 + n d_1^2 + n d_2^2)`, memory
        :math:`O(d_1 d_2 + d_1^2 + d_2^2)`; ``"gram"``: through the ``n x n`` kernels, time
        :math:`O(n^2 (d_1 + d_2))`, memory :math:`O(n^2)`. ``"auto"`` takes the Gram form
        only when an input has more features than examples. Both give the same value to
        rounding (``tests/test_similarity_measures.py``).

    Returns
    -------
    float
        Biased: in [0, 1]. Debiased: in [-1, 1], near 0 for independent inputs. 1 for
        inputs that differ by a translation, an isotropic scaling and an orthogonal map.

    Raises
    ------
    SimilarityInputError
        Mismatched rows, fewer than 4 examples, non-finite values, a constant input, or
        (debiased) an input whose unbiased self-HSIC is not positive.

    References
    ----------
    Kornblith, Norouzi, Lee & Hinton, "Similarity of Neural Network Representations
    Revisited", ICML 2019. Song, Smola, Gretton, Bedo & Borgwardt, "Feature Selection via
    Dependence Maximization", JMLR 2012. Nguyen, Raghu & Kornblith, "Do Wide and Deep
    Networks Learn the Same Things?", ICLR 2021.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3))
    >>> round(linear_cka(X, 2 * X + 1), 12)
    1.0
    """
    caller = "linear_cka"
    if method not in METHODS:
        raise SimilarityInputError(f"The 'method' parameter of {caller} must be one of "
                                   f"{', '.join(METHODS)}; got {method!r}.")
    X, Y = check_pair(X, Y, caller=caller)
    X, Y = unit_scale(X), unit_scale(Y)  # CKA ignores scale; squares must not overflow
    Xc = centred(X, name="X", caller=caller)
    Yc = centred(Y, name="Y", caller=caller)
    if method == "auto":
        method = "gram" if max(X.shape[1], Y.shape[1]) > X.shape[0] else "features"
    xy, xx, yy = hsic_terms(Xc, Yc, debiased=debiased, method=method)
    return cka_from_terms(xy, xx, yy, debiased=debiased, caller=caller)


def cka_from_terms(xy, xx, yy, *, debiased, caller):
    """CKA from the three HSIC values (or sums of them), with the degenerate cases named."""
    for name, value in (("X", xx), ("Y", yy)):
        if not value > 0.0:
            what = "unbiased HSIC estimate" if debiased else "HSIC"
            raise SimilarityInputError(
                f"{caller}: the {what} of {name} with itself is {value:.3g}, not positive "
                "(too few distinct examples for the estimator); the CKA is undefined.")
    value = xy / np.sqrt(xx) / np.sqrt(yy)
    # Cauchy-Schwarz bounds both estimators; clip rounding only.
    return float(np.clip(value, -1.0 if debiased else 0.0, 1.0))


def hsic_terms(X, Y, *, debiased, method="features"):
    """``(HSIC(K, L), HSIC(K, K), HSIC(L, L))`` up to one common positive factor.

    ``X`` and ``Y`` are float64 arrays with the same rows (any centring: the biased form
    centres the kernels, the unbiased one is translation-invariant). The common factor
    (``1/(n-1)^2`` biased, ``1/(n(n-3))`` unbiased) cancels in CKA and is left out of
    the biased form only; the unbiased values are the estimator itself, so that
    per-batch values can be averaged (:mod:`harness.similarity.minibatch`).
    """
    if method == "gram":
        K, L = X @ X.T, Y @ Y.T
        if debiased:
            return _hsic_u_gram(K, L), _hsic_u_gram(K, K), _hsic_u_gram(L, L)
        Kc, Lc = _centre_gram(K), _centre_gram(L)
        return float(np.vdot(Kc, Lc)), float(np.vdot(Kc, Kc)), float(np.vdot(Lc, Lc))
    if debiased:
        fx, fy = _u_factors(X), _u_factors(Y)
        n = X.shape[0]
        return (_hsic_u_features(X.T @ Y, fx, fy, n), _hsic_u_features(X.T @ X, fx, fx, n),
                _hsic_u_features(Y.T @ Y, fy, fy, n))
    Xc = X - X.mean(axis=0)
    Yc = Y - Y.mean(axis=0)
    return (float(np.sum((Xc.T @ Yc) ** 2)), float(np.sum((Xc.T @ Xc) ** 2)),
            float(np.sum((Yc.T @ Yc) ** 2)))


def _centre_gram(K):
    """``H K H``: the Gram matrix of the column-centred data."""
    K = K - K.mean(axis=0, keepdims=True)
    return K - K.mean(axis=1, keepdims=True)


def _hsic_u_gram(K, L):
    """Song et al.'s unbiased HSIC from two ``n x n`` kernels (``n >= 4``)."""
    n = K.shape[0]
    K, L = K.copy(), L.copy()
    np.fill_diagonal(K, 0.0)
    np.fill_diagonal(L, 0.0)
    k1, l1 = K.sum(axis=1), L.sum(axis=1)
    value = (np.vdot(K, L) + k1.sum() * l1.sum() / ((n - 1) * (n - 2))
             - 2.0 / (n - 2) * np.dot(k1, l1))
    return float(value / (n * (n - 3)))


def _u_factors(X):
    """Per-input pieces of the Gram-free unbiased HSIC: ``(r, 1'K~1, K~1)``.

    ``r`` holds the row norms (the kernel's diagonal), ``K~1`` the row sums of the
    kernel without its diagonal, ``X (X' 1) - r``: all in ``O(n d)``.
    """
    r = np.einsum("ij,ij->i", X, X)
    s = X.sum(axis=0)
    return r, float(s @ s - r.sum()), X @ s - r


def _hsic_u_features(cross, fx, fy, n):
    """Unbiased HSIC from ``X'Y`` and the per-input factors: ``O(n + d1 d2)``."""
    rx, kx, k1x = fx
    ry, ky, k1y = fy
    trace = float(np.sum(cross ** 2)) - float(rx @ ry)
    value = trace + kx * ky / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * float(k1x @ k1y)
    return value / (n * (n - 3))
