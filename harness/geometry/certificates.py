r"""Certificates: rigorous float64 bounds that prove a plane separates two point sets.

Every verdict and every distance of the geometry kernels rests on one inequality. For
a unit normal :math:`w` and point sets :math:`A, B`,

.. math::

    g(w) = \min_{a \in A} w \cdot a - \max_{b \in B} w \cdot b
    \;\le\; \operatorname{dist}(\operatorname{conv} A, \operatorname{conv} B),

so :math:`g(w) > 0` proves that the hulls are disjoint and gives a lower bound of their
distance. :func:`certified_gap` evaluates :math:`g(w)` in float64 and subtracts a
rigorous bound on the rounding error, so that its value is a lower bound of the exact
:math:`g(w)`; :func:`batched_certified_gaps` does the same for many (pair, direction)
combinations with one matrix product per group.

All kernels run on data *centred and scaled* by :func:`center_and_scale`
(:math:`x \mapsto (x - \mu) / R`, :math:`\mu` the mean of all points, :math:`R` the
largest centred norm): distances are translation invariant and scale linearly, the
centred numbers round less, and tolerances become relative to the data's size.
"""

import numpy as np

__all__ = ["center_and_scale", "certified_gap", "batched_certified_gaps", "gamma",
           "UNIT_ROUNDOFF"]

UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2
#: The smallest positive (subnormal) float64: below the normal range a product is rounded
#: to a multiple of it, an absolute error of up to half of it that no relative bound covers.
SMALLEST_SUBNORMAL = float(np.nextafter(0.0, 1.0))


def gamma(n):
    r"""Higham's :math:`\gamma_n = n u / (1 - n u)`, :math:`u` the unit roundoff.

    A dot product of length ``n`` computed in float64, in any order, is within
    :math:`\gamma_n |x| \cdot |w|` of the exact one (Higham, *Accuracy and Stability of
    Numerical Algorithms*, 2nd ed., Sec. 3.1).
    """
    return n * UNIT_ROUNDOFF / (1.0 - n * UNIT_ROUNDOFF)


def center_and_scale(*sets):
    r"""Centre point sets on the mean of all their points and scale to radius 1.

    .. math::

        \mu = \frac{1}{n} \sum_{x \in S_1 \cup \dots \cup S_m} x, \qquad
        R = \max_{x} \|x - \mu\|_2, \qquad x \mapsto (x - \mu) / R .

    Parameters
    ----------
    *sets : ndarray of shape (n_k, d)
        One or more float64 point sets of the same dimension.

    Returns
    -------
    scaled : list of ndarray of shape (n_k, d)
        New arrays ``(S_k - mu) / R``; only centred (not scaled) when ``R == 0``.
    mu : ndarray of shape (d,)
        Mean of all points: the column sums of the sets, added in the order given,
        divided by the number of points (``X.mean(axis=0)`` for a single set).
    R : float
        Largest distance of a point to ``mu``; 0.0 when all points coincide (the
        callers decide what that means).

    Notes
    -----
    This is the one centring step of the hull-distance solvers, the pairwise drivers
    and the separability LP. The scaling divides (``x / R``), it does not multiply by
    ``1 / R``, so results are reproducible bit for bit across callers.
    Cost :math:`O(n d)`, memory one copy of the sets.
    """
    total = sets[0].sum(axis=0)
    for S in sets[1:]:
        total = total + S.sum(axis=0)
    mu = total / sum(S.shape[0] for S in sets)
    centred = [S - mu for S in sets]
    R = float(np.sqrt(max(np.einsum("ij,ij->i", C, C).max() for C in centred)))
    if R > 0:
        for C in centred:
            C /= R
    return centred, mu, R


def certified_gap(A, B, w):
    r"""Rigorous lower bound on :math:`\min_{a \in A} w \cdot a - \max_{b \in B} w \cdot b`.

    The projections are computed in float64 and the worst-case rounding error of each
    dot product, :math:`\gamma_d\, |x| \cdot |w|` with :math:`\gamma_d = d u / (1 - d u)`
    (Higham, *Accuracy and Stability of Numerical Algorithms*, Thm. 3.5), is subtracted
    on both sides, plus a relative :math:`4u` for the final subtraction and an absolute
    :math:`2 (d + 3) \eta` (:math:`\eta` the smallest subnormal) for products that
    underflow, which no relative bound covers. The bound
    uses :math:`\gamma_{d+3}` so that it also covers up to two elementwise roundings
    of the inputs (centring and scaling of the data before the call). A positive
    value therefore proves, in exact arithmetic, that the hyperplane with normal `w`
    strictly separates the two sets.

    Parameters
    ----------
    A, B : ndarray of shape (n_a, d), (n_b, d)
    w : ndarray of shape (d,)

    Returns
    -------
    gap : float
        Certified lower bound of the exact gap (may be negative).
    pa_min, pb_max : float
        The computed :math:`\min_a w \cdot a` and :math:`\max_b w \cdot b`.

    Notes
    -----
    Cost :math:`O((n_a + n_b) d)`.

    See Also
    --------
    batched_certified_gaps : many pairs and directions at once.
    """
    g = gamma(w.shape[0] + 3)
    aw = np.abs(w)
    pa = A @ w
    pb = B @ w
    pa_min = float(pa.min())
    pb_max = float(pb.max())
    err = g * (float((np.abs(A) @ aw).max()) + float((np.abs(B) @ aw).max()))
    err += _underflow_error(w.shape[0])
    gap = pa_min - pb_max
    return gap - err - 4 * UNIT_ROUNDOFF * (abs(pa_min) + abs(pb_max)), pa_min, pb_max


def batched_certified_gaps(groups, pairs, dirs):
    r""":func:`certified_gap` of many (pair, direction) combinations, batched per group.

    For pair ``p = (g, h)`` with direction ``dirs[p]`` (normalised here), the certified
    lower bound of :math:`\min_{a \in X_g} w_p \cdot a - \max_{b \in X_h} w_p \cdot b`.
    Each group is multiplied once with the matrix of the directions of every pair it
    takes part in (and once more in absolute values, for the rounding bound).

    Parameters
    ----------
    groups : list of ndarray of shape (n_g, d)
        The point sets (centred and scaled, as by :func:`center_and_scale`).
    pairs : list of (int, int)
        Group indices ``(g, h)``; ``g`` is the side that should project higher.
    dirs : list of ndarray of shape (d,)
        One non-zero direction per pair.

    Returns
    -------
    ndarray of shape (len(pairs),)
        The same bound as :func:`certified_gap` (up to the order of the float64 sums
        inside the products).

    Notes
    -----
    Cost :math:`O(\sum_g n_g d m_g)`, with ``m_g`` the number of pairs of group ``g``.
    """
    dirs = [w / np.linalg.norm(w) for w in dirs]
    cols = {}
    for p, (g, h) in enumerate(pairs):
        cols.setdefault(g, []).append(p)
        cols.setdefault(h, []).append(p)
    amin = np.empty(len(pairs))
    bmax = np.empty(len(pairs))
    err = np.zeros(len(pairs))
    for g, ps in cols.items():
        D = np.stack([dirs[p] for p in ps], axis=1)
        Y = groups[g] @ D
        E = np.abs(groups[g]) @ np.abs(D)
        ymin, ymax, emax = Y.min(axis=0), Y.max(axis=0), E.max(axis=0)
        for c, p in enumerate(ps):
            if pairs[p][0] == g:
                amin[p] = ymin[c]
            else:
                bmax[p] = ymax[c]
            err[p] += emax[c]
    d = groups[0].shape[1]
    return (amin - bmax - gamma(d + 3) * err - _underflow_error(d)
            - 4 * UNIT_ROUNDOFF * (np.abs(amin) + np.abs(bmax)))


def _underflow_error(d):
    """Absolute rounding error of two length-``d`` dot products in the subnormal range
    (at most half the smallest subnormal per product), with room for the roundings of the
    inputs that gamma(d + 3) covers; about 1e-320, so it matters only for products that
    underflow."""
    return 2 * (d + 3) * SMALLEST_SUBNORMAL
