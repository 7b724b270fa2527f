r"""Compiled projections of clusters' points without copying them (numba, ``nogil``).

DirectProbe's cheap certificates need, for each of ``k`` clusters :math:`Q_j` (index
arrays into one point matrix ``X``) and a direction :math:`w_j` each,

.. math::

    \max_{y \in Q_j} \; (y \cdot w_j - s_y),

with an optional per-point shift :math:`s`. In NumPy this is a gather of every
cluster's rows (``X[idx]``, a copy), a second copy of the directions per point, and a
row-wise product: three passes over memory. :func:`segment_max_dot` reads each row
once, in place.

Dot products run in index order with no ``fastmath``: results are reproducible bit for
bit, and their rounding obeys the usual bound :math:`\gamma_d \|y\| \|w\|` that the
callers subtract.
"""

import numpy as np
from numba import njit

__all__ = ["segment_max_dot"]


@njit(cache=True, nogil=True)
def segment_max_dot(X, idx, starts, W, shift):
    """``out[j] = max(X[i] @ W[j] - shift[i] for i in idx[starts[j]:starts[j + 1]])``.

    Parameters
    ----------
    X : ndarray of float64, shape (n, d)
    idx : ndarray of int64, shape (t,)
        The points of all segments, one segment after the other.
    starts : ndarray of int64, shape (k + 1,)
        Segment bounds in ``idx`` (``starts[0] = 0``, ``starts[k] = t``).
    W : ndarray of float64, shape (k, d)
        One direction per segment.
    shift : ndarray of float64, shape (n,)
        Subtracted per point (zeros for a plain maximum).

    Returns
    -------
    ndarray of float64, shape (k,)
        ``-inf`` for an empty segment.
    """
    k = starts.shape[0] - 1
    d = X.shape[1]
    out = np.empty(k)
    for j in range(k):
        best = -np.inf
        for t in range(starts[j], starts[j + 1]):
            i = idx[t]
            acc = 0.0
            for c in range(d):
                acc += X[i, c] * W[j, c]
            acc -= shift[i]
            if acc > best:
                best = acc
        out[j] = best
    return out
