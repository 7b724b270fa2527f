r"""Minibatch CKA: debiased linear CKA accumulated over batches that fit in memory.

Nguyen, Raghu & Kornblith (2021, section 3.1) average the unbiased HSIC estimator over
``k`` minibatches :math:`(X_i, Y_i)` of ``m`` examples each and take the ratio at the end:

.. math::

    \mathrm{CKA}_{mb} = \frac{\frac1k \sum_i \mathrm{HSIC}_u(K_i, L_i)}
    {\sqrt{\frac1k \sum_i \mathrm{HSIC}_u(K_i, K_i) \cdot \frac1k \sum_i \mathrm{HSIC}_u(L_i, L_i)}}.

What the mathematics promises, and what the tests check:

* one batch holding every example gives exactly :func:`~harness.similarity.cka.linear_cka`
  with ``debiased=True`` (the same three numbers; equal to rounding);
* each average is unbiased for the full-set estimate: ``HSIC_u`` is a U-statistic (a mean
  over all 4-tuples of distinct examples), so its mean over every subset of ``m``
  examples is the full set's ``HSIC_u`` exactly;
* the CKA itself, a ratio, is only consistent: with several batches it differs from the
  full-set value by an amount that shrinks as the batches grow.

Only the unbiased estimator averages this way: the biased one's bias depends on the
batch size (about ``d / (m + d)`` for independent inputs), so it is not offered here.
"""

import numpy as np

from ._validation import MIN_SAMPLES, SimilarityInputError, check_pair
from .cka import cka_from_terms, hsic_terms

__all__ = ["MinibatchCKA", "minibatch_cka"]


class MinibatchCKA:
    """Accumulator of debiased linear CKA over batches (constant memory in ``n``).

    Call :meth:`update` with each batch of paired rows, then :meth:`value`. The batches
    may have different sizes (each at least 4); each contributes its three unbiased
    HSIC estimates with weight 1, as in Nguyen et al. Memory is that of one batch plus
    ``O(d1 d2 + d1^2 + d2^2)`` for the products.

    Attributes
    ----------
    n_batches_ : int
    n_samples_ : int
        Examples seen so far.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5)); Y = X @ rng.normal(size=(5, 4))
    >>> acc = MinibatchCKA()
    >>> for rows in np.array_split(np.arange(200), 4):
    ...     _ = acc.update(X[rows], Y[rows])
    >>> acc.n_batches_
    4
    """

    def __init__(self):
        self.n_batches_ = 0
        self.n_samples_ = 0
        self._sums = np.zeros(3)
        self._dims = None
        self._exponents = {}

    def update(self, X, Y):
        """Add one batch: ``X`` (m, d1) and ``Y`` (m, d2), the same ``m >= 4`` examples."""
        X, Y = check_pair(X, Y, caller="MinibatchCKA.update", min_samples=MIN_SAMPLES)
        dims = (X.shape[1], Y.shape[1])
        if self._dims is not None and dims != self._dims:
            raise SimilarityInputError(
                f"MinibatchCKA.update: batch {self.n_batches_ + 1} has {dims[0]} and {dims[1]} "
                f"features; earlier batches had {self._dims[0]} and {self._dims[1]}.")
        self._dims = dims
        X, Y = self._scaled(X, "X"), self._scaled(Y, "Y")
        # Centring each batch changes no unbiased estimate (it is translation-invariant)
        # and keeps the Gram-free sums from cancelling large means.
        X = X - X.mean(axis=0)
        Y = Y - Y.mean(axis=0)
        self._sums += hsic_terms(X, Y, debiased=True, method="features")
        self.n_batches_ += 1
        self.n_samples_ += X.shape[0]
        return self

    def _scaled(self, A, name):
        """``A`` times the power of two fixed by the first batch (sums over batches must
        share one scale), so that squares stay in range; a batch whose magnitude is far
        from the first one's (past 2**+-100 after scaling) is refused."""
        m = float(np.max(np.abs(A)))
        if name not in self._exponents:
            self._exponents[name] = int(np.frexp(m)[1]) if m else 0
        A = np.ldexp(A, -self._exponents[name])
        if m and not 2.0 ** -100 <= float(np.max(np.abs(A))) <= 2.0 ** 100:
            raise SimilarityInputError(
                f"MinibatchCKA.update: batch {self.n_batches_ + 1} of {name} has magnitude "
                f"{m:.3g}, too far from the first batch's for sums over batches in float64.")
        return A

    def value(self):
        """The minibatch CKA of the batches seen (the mean's ``1/k`` cancels)."""
        if self.n_batches_ == 0:
            raise SimilarityInputError("MinibatchCKA.value: no batch was given.")
        return cka_from_terms(*self._sums, debiased=True, caller="MinibatchCKA")


def minibatch_cka(X, Y, *, batch_size, rng=None):
    """Debiased minibatch CKA of two in-memory (or memory-mapped) arrays.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
    Y : array-like of shape (n_samples, n_features_y)
    batch_size : int
        Examples per batch (at least 4). ``n`` is split into ``ceil(n / batch_size)``
        batches of nearly equal size (``numpy.array_split``), so that none is too small.
    rng : numpy.random.Generator, int or None, default=None
        Shuffles the examples before splitting (the estimator assumes random batches;
        a stored order such as sentence order is not random). ``None``: keep the order.

    Returns
    -------
    float
        In [-1, 1]. With ``batch_size >= n`` it equals ``linear_cka(X, Y, debiased=True)``.

    Raises
    ------
    SimilarityInputError
        As :func:`~harness.similarity.cka.linear_cka`, or a batch size below 4.
    """
    if int(batch_size) < MIN_SAMPLES:
        raise SimilarityInputError(f"The 'batch_size' parameter of minibatch_cka must be at "
                                   f"least {MIN_SAMPLES}; got {batch_size}.")
    n = len(X)
    if n != len(Y):
        raise SimilarityInputError(f"minibatch_cka compares two representations of the same "
                                   f"examples: X has {n} rows and Y has {len(Y)}.")
    order = np.arange(n) if rng is None else np.random.default_rng(rng).permutation(n)
    n_batches = max(1, -(-n // int(batch_size)))
    acc = MinibatchCKA()
    for rows in np.array_split(order, n_batches):
        rows = np.sort(rows)  # sorted reads are sequential on a memory-mapped array
        acc.update(np.asarray(X[rows]), np.asarray(Y[rows]))
    return acc.value()
