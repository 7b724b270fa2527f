r"""Compiled inner loops of the hull-distance active set (numba, ``nogil``).

The active set of :mod:`harness.geometry._active_set` spends most of its time in
*minor cycles*: move the weights towards the affine minimiser of the support, drop the
points whose weight reaches 0, repeat. Each cycle is O(s^2) arithmetic on the support's
Cholesky factor (s ~ 300 on 384-d data), done ~100 times per pair; in Python the
interpreter overhead and the array copies per cycle cost more than the arithmetic.
These kernels run the whole loop in compiled code on preallocated buffers.

Notation (all on the first ``s`` rows/columns of the buffers):

* ``R`` (upper triangular, Fortran order): :math:`R^T R = U_S U_S^T`, the Gram matrix
  of the lifted support rows (see :mod:`harness.geometry._active_set`).
* ``Z`` (``s x 2``): :math:`R^T Z = E`, with ``E`` the side indicators of the support
  (column 0: the points of P, column 1: the points of Q). Keeping ``Z`` up to date (by
  the same rotations as ``R``) turns the affine minimiser into *one* back substitution:
  :math:`\alpha = M^{-1} E c = R^{-1} (Z c)` with :math:`(Z^T Z) c = 1`.

Nothing here uses ``fastmath``: results are reproducible bit for bit and follow IEEE
rounding in the written order.
"""

import math

import numpy as np
from numba import njit

__all__ = ["delete_column", "delete_point", "minor_cycles"]


@njit(cache=True, nogil=True)
def delete_column(R, Z, s, k):
    r"""Delete column ``k`` of the ``s x s`` factor ``R`` in place (Givens rotations).

    After the call ``R[:s-1, :s-1]`` is upper triangular with :math:`R'^T R' = R_k^T R_k`,
    ``R_k`` being ``R`` without column ``k`` (the Gram matrix of the support without
    point ``k``), and ``Z[:s-1]`` satisfies :math:`R'^T Z' = E_k` (``E`` without row
    ``k``): the rotations that re-triangularise ``R`` are applied to ``Z``'s rows too,
    since :math:`R_k^T Z = E_k` and :math:`R' = G R_k` give
    :math:`R'^T (G Z) = R_k^T Z = E_k`, and the last row of ``G R_k`` is zero.
    Row and column ``s - 1`` are zeroed. O((s - k)^2) flops. Each rotation is applied
    to its two rows across all remaining columns at once: those updates are independent
    and pipeline, whereas going column by column chains every update on the previous
    one (same arithmetic, bit for bit; 3-4x slower at s = 280).
    """
    # Shift the columns after k to the left: columns k..s-2 become upper Hessenberg.
    for j in range(k, s - 1):
        for i in range(j + 2):
            R[i, j] = R[i, j + 1]
    for t in range(k, s - 1):
        a, b = R[t, t], R[t + 1, t]
        r = math.hypot(a, b)
        if r == 0.0:
            cos, sin = 1.0, 0.0
        else:
            cos, sin = a / r, b / r
        R[t, t] = r
        R[t + 1, t] = 0.0
        for j in range(t + 1, s - 1):
            a, b = R[t, j], R[t + 1, j]
            R[t, j] = cos * a + sin * b
            R[t + 1, j] = cos * b - sin * a
        for m in range(Z.shape[1]):
            a, b = Z[t, m], Z[t + 1, m]
            Z[t, m] = cos * a + sin * b
            Z[t + 1, m] = cos * b - sin * a
    for i in range(s):
        R[i, s - 1] = 0.0
        R[s - 1, i] = 0.0
    for m in range(Z.shape[1]):
        Z[s - 1, m] = 0.0


@njit(cache=True, nogil=True)
def _shift_left(arr, k, s):
    for i in range(k, s - 1):
        arr[i] = arr[i + 1]


@njit(cache=True, nogil=True)
def delete_point(R, Z, on_p, lam, idx, slot, s, k):
    """Drop support point ``k``: :func:`delete_column` plus the per-point arrays."""
    delete_column(R, Z, s, k)
    _shift_left(on_p, k, s)
    _shift_left(lam, k, s)
    _shift_left(idx, k, s)
    _shift_left(slot, k, s)


@njit(cache=True, nogil=True)
def minor_cycles(R, Z, s, on_p, lam, idx, slot, z_positive):
    r"""Wolfe's minor cycles on the factorised support; returns ``(s, ok)``.

    Repeats: affine minimiser ``alpha`` of the support (weights summing to 1 on each
    side, possibly negative); if every ``alpha > z_positive``, the weights become
    ``alpha`` and the loop ends. Otherwise the ratio step moves ``lam`` to
    ``(1 - theta) lam + theta alpha`` with the largest ``theta`` in [0, 1] keeping all
    weights non-negative (a weight whose ``alpha <= z_positive`` blocks; one already at
    0 blocks at once, also for 0/0), the blocking points (new weight
    ``<= z_positive``; if rounding leaves none, the most negative one) are deleted
    from ``R``, ``Z`` and the per-point arrays ``on_p``, ``lam``, ``idx``, ``slot``
    (all in support order), and each side's weights are renormalised to sum 1.

    Every cycle that does not end the loop removes at least one point, so the loop
    ends after at most ``s`` cycles. Each cycle costs one back substitution (s^2
    flops) plus the deletions. ``s`` is the new support size; ``ok`` is False (the
    state is that of the last completed cycle) when the 2 x 2 system :math:`Z^T Z` is
    not positive definite in floating point, which only happens when the factor has
    lost all accuracy.
    """
    alpha = np.empty(s)
    w = np.empty(s)
    new = np.empty(s)
    while True:
        m11 = 0.0
        m12 = 0.0
        m22 = 0.0
        for i in range(s):
            m11 += Z[i, 0] * Z[i, 0]
            m12 += Z[i, 0] * Z[i, 1]
            m22 += Z[i, 1] * Z[i, 1]
        det = m11 * m22 - m12 * m12
        if not det > 0.0:
            return s, False
        cp = (m22 - m12) / det
        cq = (m11 - m12) / det
        for i in range(s):
            w[i] = cp * Z[i, 0] + cq * Z[i, 1]
        # Back substitution R alpha = w, column-oriented (R is Fortran-ordered).
        for j in range(s - 1, -1, -1):
            a = w[j] / R[j, j]
            alpha[j] = a
            for i in range(j):
                w[i] -= R[i, j] * a
        amin = np.inf
        for i in range(s):
            amin = min(amin, alpha[i])
        if amin > z_positive:
            for i in range(s):
                lam[i] = alpha[i]
            return s, True
        # Ratio step.
        theta = 1.0
        for i in range(s):
            if alpha[i] <= z_positive:
                denom = lam[i] - alpha[i]
                ratio = lam[i] / denom if denom > 0.0 else 0.0
                theta = min(theta, ratio)
        theta = max(theta, 0.0)
        n_drop = 0
        worst = -1
        for i in range(s):
            new[i] = (1.0 - theta) * lam[i] + theta * alpha[i]
            if alpha[i] <= z_positive:
                if new[i] <= z_positive:
                    n_drop += 1
                if worst < 0 or new[i] < new[worst]:
                    worst = i
        for i in range(s):
            lam[i] = new[i]
        # Delete from the back: the positions still to test (below k) stay valid.
        for k in range(s - 1, -1, -1):
            blocking = alpha[k] <= z_positive and new[k] <= z_positive
            if blocking or (n_drop == 0 and k == worst):
                delete_point(R, Z, on_p, lam, idx, slot, s, k)
                s -= 1
        sum_p = 0.0
        sum_q = 0.0
        for i in range(s):
            if on_p[i]:
                sum_p += lam[i]
            else:
                sum_q += lam[i]
        for i in range(s):
            lam[i] = lam[i] / sum_p if on_p[i] else lam[i] / sum_q
