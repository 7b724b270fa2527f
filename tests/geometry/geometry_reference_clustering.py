"""Slow, obviously correct twin of :func:`harness.geometry.clustering.cluster_labels`.

Recomputes everything at every step: all same-label centroid distances from the
members, and an independent plain feasibility LP (``scipy.optimize.linprog``, no
filters, no caches) of the merged cluster against every other-label cluster. Use it
on small inputs only (cost roughly :math:`O(n^3 d)` plus :math:`O(n^2)` LPs).
"""

import numpy as np

from geometry_reference import are_separable_reference

__all__ = ["cluster_labels_naive", "separable_lp"]


def separable_lp(A, B):
    """Plain LP: exists (w, b) with ``A w + b >= 1`` and ``B w + b <= -1``?

    The data are centred and scaled first (the problem is invariant, the LP better
    conditioned), then :func:`geometry_reference.are_separable_reference` (a
    bare ``linprog``, no filters) decides. True when HiGHS finds a solution, False when
    it proves infeasibility; any other status raises :class:`SolverError`.
    """
    A = np.asarray(A, float)
    B = np.asarray(B, float)
    P = np.vstack((A, B))
    mu = P.mean(axis=0)
    R = np.abs(P - mu).max()
    if R == 0:
        return False
    return are_separable_reference((A - mu) / R, (B - mu) / R)


def cluster_labels_naive(X, y, separable=None):
    """Greedy DirectProbe by brute force; returns the partition as sorted tuples.

    Same tie rule as the fast code: order candidate pairs by squared centroid
    distance, then by ``(min node id, max node id)``, where point ``i`` is node ``i``
    and the ``k``-th accepted merge creates node ``n + k``. ``separable(A, B)`` decides
    a merge against each other-label cluster (default :func:`separable_lp`, strict
    separability).

    Returns
    -------
    clusters : list of tuple of int
        Sorted member indices of each cluster, the list sorted.
    """
    X = np.asarray(X, float)
    y = np.asarray(y)
    n = len(X)
    separable = separable_lp if separable is None else separable
    clusters = {i: [i] for i in range(n)}  # node id -> members
    rejected = set()
    next_id = n
    while True:
        best = None
        ids = sorted(clusters)
        for ii, a in enumerate(ids):
            for b in ids[ii + 1:]:
                if y[clusters[a][0]] != y[clusters[b][0]] or (a, b) in rejected:
                    continue
                ca = X[clusters[a]].mean(axis=0)
                cb = X[clusters[b]].mean(axis=0)
                key = (float(((ca - cb) ** 2).sum()), a, b)
                if best is None or key < best:
                    best = key
        if best is None:
            break
        _, a, b = best
        merged = clusters[a] + clusters[b]
        lab = y[merged[0]]
        ok = all(separable(X[merged], X[m]) for q, m in clusters.items()
                 if y[m[0]] != lab)
        if ok:
            del clusters[a], clusters[b]
            clusters[next_id] = merged
            next_id += 1
        else:
            rejected.add((a, b))
    return sorted(tuple(sorted(m)) for m in clusters.values())
