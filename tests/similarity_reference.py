"""Slow, obviously correct twins of the similarity measures (tests only).

* ``hsic_u_brute``: Song et al.'s unbiased HSIC as the U-statistic it is, the mean of
  ``h`` over every ordered 4-tuple of distinct examples (JMLR 2012, Theorem 2's proof):
  ``h(i, j, q, r) = (1/24) sum over the 24 orders of (k_ij l_ij + k_ij l_qr - 2 k_ij l_iq)``.
  Time O(n^4): n <= 8.
* ``cka_gram_reference``: Kornblith et al.'s Gram-matrix recipe written out with the
  centring matrix ``H``.
"""

import itertools

import numpy as np


def hsic_u_brute(X, Y):
    K, L = X @ X.T, Y @ Y.T
    n = K.shape[0]
    total, count = 0.0, 0
    for t in itertools.permutations(range(n), 4):
        i, j, q, r = t
        total += K[i, j] * L[i, j] + K[i, j] * L[q, r] - 2 * K[i, j] * L[i, q]
        count += 1
    # Averaging over every ordered tuple already averages over the 24 orders of each set.
    return total / count


def cka_gram_reference(X, Y):
    n = X.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    K, L = H @ X @ X.T @ H, H @ Y @ Y.T @ H
    return np.trace(K @ L) / np.sqrt(np.trace(K @ K) * np.trace(L @ L))


def procrustes_angle_reference(X, Y):
    """arccos of the nuclear norm, with explicit zero padding (Williams et al. eq. 4)."""
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    d = max(X.shape[1], Y.shape[1])
    X = np.hstack([X, np.zeros((X.shape[0], d - X.shape[1]))]) / np.linalg.norm(X)
    Y = np.hstack([Y, np.zeros((Y.shape[0], d - Y.shape[1]))]) / np.linalg.norm(Y)
    return float(np.arccos(np.clip(np.linalg.svd(X.T @ Y, compute_uv=False).sum(), -1, 1)))
