r"""Hull distances and separability verdicts for every pair of groups, batched.

For groups :math:`X_1, \dots, X_k` of one point matrix,

.. math::

    D_{gh} = \operatorname{dist}(\operatorname{conv} X_g, \operatorname{conv} X_h),
    \qquad S_{gh} = [\operatorname{conv} X_g \cap \operatorname{conv} X_h = \emptyset].

Each pair runs the active set of :mod:`._active_set` (the Wolfe fallback of
:mod:`._wolfe` where it stalls) on data centred and scaled once for all groups
(:func:`~harness.geometry.certificates.center_and_scale`). What is batched is the full
pricing, the linear-minimisation oracle: in each round every group is multiplied once
with the matrix of the current directions of all its unfinished pairs
(:func:`_batched_projections`), instead of one product per pair. A pair is separable
when its distance exceeds the separability tolerance times the radius of all the data;
pairs the bounds cannot settle are settled by a copy of their solver
(:func:`~harness.geometry.hull_distance._lp_answer`, the LP oracle of
:mod:`.separability` only where it cannot), and each finished pair is certified
and built into a :class:`~harness.geometry.hull_distance.HullDistance` exactly as
:func:`~harness.geometry.hull_distance.hull_distance` does.

:func:`pairwise_separable` needs only verdicts: a centroid-direction plane with a
certified gap settles most well separated pairs before any solver runs, and each
solver stops at the first certified lower bound above the tolerance.
"""

from dataclasses import dataclass

import numpy as np

from harness.exceptions import SolverError

from ._active_set import ActiveSet
from ._blas import with_one_blas_thread
from ._validation import check_groups
from ._wolfe import wolfe_fallback
from .certificates import batched_certified_gaps, center_and_scale, certified_gap
from .hull_distance import _finish, _hull_distance, _lp_answer, _probe_budget
from .separability import SEPARABILITY_TOL
from .svc_compat import svc_compat_distance

__all__ = ["PairwiseHullInfo", "pairwise_hull_distances", "pairwise_separable"]

_PAIR_BLOCK = 40  # pairs solved together: bounds memory (supports and factors of one block)


@dataclass(frozen=True)
class PairwiseHullInfo:
    """Certificates of :func:`pairwise_hull_distances` (row/column ``i`` is ``labels[i]``).

    Attributes
    ----------
    labels : ndarray of shape (k,)
        Sorted distinct group ids.
    lower_bound, upper_bound : ndarray of shape (k, k)
        Certified bounds per pair (``nan`` on the diagonal and for ``svc-compat``).
    separable : ndarray of bool, shape (k, k)
        Verdict per pair (False on the diagonal).
    n_iter : ndarray of int, shape (k, k)
        Points added to each pair's support (see ``HullDistance.n_iter``).
    n_lp : int
        Number of pairs the LP oracle had to settle.
    method : str
    """

    labels: np.ndarray
    lower_bound: np.ndarray
    upper_bound: np.ndarray
    separable: np.ndarray
    n_iter: np.ndarray
    n_lp: int
    method: str



def _split_groups(X, codes, k):
    """Original rows and globally centred/scaled rows of each group (one copy each)."""
    (Xs,), mu, R = center_and_scale(X)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(k + 1))
    orig = [X[order[bounds[g]:bounds[g + 1]]] for g in range(k)]
    scaled = [Xs[order[bounds[g]:bounds[g + 1]]] for g in range(k)]
    return orig, scaled, mu, (R if R > 0 else 1.0)



def _batched_projections(scaled, pairs, dirs):
    r"""For each pair ``(g, h)`` with direction ``x``: ``(X_g @ x, X_h @ x)``.

    One matrix product per group with the matrix of the directions of every pair the
    group takes part in (the batched LMO: :math:`X_g [x_{p_1}, \dots, x_{p_m}]`).
    """
    cols = {}
    for p, (g, h) in enumerate(pairs):
        cols.setdefault(g, []).append(p)
        cols.setdefault(h, []).append(p)
    out_a = [None] * len(pairs)
    out_b = [None] * len(pairs)
    for g, ps in cols.items():
        D = np.stack([dirs[p] for p in ps], axis=1)
        Y = scaled[g] @ D
        for c, p in enumerate(ps):
            if pairs[p][0] == g:
                out_a[p] = Y[:, c]
            else:
                out_b[p] = Y[:, c]
    return out_a, out_b



@with_one_blas_thread
def _pairwise_core(X, groups, *, rtol, atol, max_iter, tol_lp, verdict_only, caller,
                   fast_tol=1e-6):
    """Shared driver of pairwise_hull_distances (exact) and pairwise_separable."""
    X, codes, labels = check_groups(X, groups, caller=caller)
    k = labels.shape[0]
    d = X.shape[1]
    orig, scaled, mu, R = _split_groups(X, codes, k)
    pairs = [(g, h) for g in range(k) for h in range(g + 1, k)]
    budget = _probe_budget(d)
    cents = [s.mean(axis=0) for s in scaled]
    pa0, pb0 = _batched_projections(scaled, pairs, [cents[g] - cents[h] for g, h in pairs])
    solvers = [None] * len(pairs)  # created per block of pairs, freed after it
    results = [None] * len(pairs)
    verdict = [None] * len(pairs)  # True/False once decided
    lp_plane = [False] * len(pairs)
    n_lp = 0
    if verdict_only and pairs:
        # A cheap candidate plane first, verified in a batch: the centroid direction.
        # A certified gap above fast_tol settles the pair without Wolfe or an LP.
        # (The Fisher direction with pooled covariance was tried; on isotropic
        # clusters it equals the centroid direction and settled nothing more.)
        todo = [p for p in range(len(pairs))
                if np.any(cents[pairs[p][0]] != cents[pairs[p][1]])]
        gaps = batched_certified_gaps(scaled, [pairs[p] for p in todo],
                                       [cents[pairs[p][0]] - cents[pairs[p][1]] for p in todo])
        for p, gp in zip(todo, gaps):
            if gp > max(fast_tol, tol_lp):
                verdict[p] = True
    undecided = [p for p in range(len(pairs)) if verdict[p] is None or not verdict_only]
    for start in range(0, len(undecided), _PAIR_BLOCK):
        # Pairs run in blocks so that memory (supports, factors) stays bounded.
        block = undecided[start:start + _PAIR_BLOCK]
        for p in block:
            g, h = pairs[p]
            solvers[p] = ActiveSet(scaled[g], scaled[h], pa0[p], pb0[p], atol=atol)
        n_lp += _run_block(block, pairs, solvers, verdict, lp_plane, scaled, orig, R=R,
                           verdict_only=verdict_only, rtol=rtol, atol=atol,
                           max_iter=max_iter, tol_lp=tol_lp, budget=budget,
                           fast_tol=fast_tol)
        for p in block:
            if not verdict_only:
                g, h = pairs[p]
                try:
                    results[p] = _finish(orig[g], orig[h], solvers[p], mu, R, tol_lp=tol_lp,
                                         rtol=rtol, atol=atol, max_iter=max_iter,
                                         lp_plane=lp_plane[p] if verdict[p] is not None
                                         else False)
                except SolverError:
                    # The shared centring and radius of all groups can leave a nearly
                    # touching pair below what the batched iterate certifies (seen on
                    # POS at an embedding layer: stalled at max_iter, while the pair on
                    # its own certifies in ~600 iterations). Re-solve the pair alone.
                    results[p] = _retry_alone(orig[g], orig[h], labels[g], labels[h],
                                              rtol=rtol, atol=atol, max_iter=max_iter,
                                              tol_lp=tol_lp, radius=R)
            solvers[p] = None
    S = np.zeros((k, k), bool)
    for p, (g, h) in enumerate(pairs):
        S[g, h] = S[h, g] = bool(verdict[p]) if verdict[p] is not None else False
    if verdict_only:
        return S, labels, n_lp
    D = np.zeros((k, k))
    lo = np.full((k, k), np.nan)
    hi = np.full((k, k), np.nan)
    it = np.zeros((k, k), int)
    for p, (g, h) in enumerate(pairs):
        res = results[p]
        D[g, h] = D[h, g] = res.distance
        lo[g, h] = lo[h, g] = res.lower_bound
        hi[g, h] = hi[h, g] = res.upper_bound
        S[g, h] = S[h, g] = res.separable
        it[g, h] = it[h, g] = res.n_iter
    info = PairwiseHullInfo(labels=labels, lower_bound=lo, upper_bound=hi, separable=S,
                            n_iter=it, n_lp=n_lp, method="exact")
    return D, info



def _retry_alone(A, B, label_a, label_b, **tolerances):
    """:func:`hull_distance` of one pair, centred and scaled on its own points (the
    tolerance keeps the whole data's ``radius``)."""
    try:
        return _hull_distance(A, B, **tolerances)
    except SolverError as error:
        raise SolverError(f"groups {label_a!s} and {label_b!s}: {error}") from error



def _run_block(block, pairs, solvers, verdict, lp_plane, scaled, orig, *, R, verdict_only,
               rtol, atol, max_iter, tol_lp, budget, fast_tol):
    """Rounds of (one major cycle per pair, one batched full LMO) for a block of pairs.

    Updates ``verdict`` and ``lp_plane`` in place; returns the number of LPs solved.
    """
    n_lp = 0
    active = [p for p in block if verdict[p] is None or not verdict_only]
    chunk = 8
    while active:
        for p in active:
            sv = solvers[p]
            # Verdicts need only a positive lower bound: check often, in growing chunks.
            if verdict_only:
                limit = chunk
            elif verdict[p] is None:
                limit = min(max_iter, 5 * budget) - sv.n_iter
            else:
                limit = max_iter - sv.n_iter
            sv.inner(max(1, limit))
        chunk *= 2
        proj_a, proj_b = _batched_projections(
            scaled, [pairs[p] for p in active], [solvers[p].x for p in active]
        )
        still = []
        for c, p in enumerate(active):
            sv = solvers[p]
            pa, pb = proj_a[c], proj_b[c]
            x = sv.x
            nx = float(np.sqrt(x @ x))

            def settle_by_gap():
                # The certified gap is below the plain one: check it only when that can pass.
                bar = max(fast_tol, tol_lp)  # the data are scaled by R: tol_lp * R is tol_lp
                if verdict[p] is None and nx > 0 and (pa.min() - pb.max()) / nx > bar:
                    g, h = pairs[p]
                    if certified_gap(scaled[g], scaled[h], x / nx)[0] > bar:
                        verdict[p] = True

            if verdict_only:
                settle_by_gap()
                if verdict[p] is not None:
                    continue
            sv.absorb(pa, pb, rtol=rtol, atol=atol)  # keeps x: pa, pb stay valid
            if sv.stalled and isinstance(sv, ActiveSet):
                solvers[p] = wolfe_fallback(sv, atol=atol)
                still.append(p)
                continue
            lp_due = verdict[p] is None and (
                sv.n_iter >= 5 * budget or (sv.n_iter >= budget and x @ x <= 1e-8)
                or (verdict_only and sv.n_iter >= budget)
            )
            if not verdict_only and lp_due:
                # Distances need a verdict only where an LP would otherwise settle it
                # now; a certified pair gets its verdict from _finish's bounds.
                settle_by_gap()
                lp_due = verdict[p] is None
            if not sv.done and lp_due:
                sv.done = True  # settle by LP below, then maybe continue
            if sv.done and verdict[p] is None and (verdict_only or lp_due):
                g, h = pairs[p]
                n_lp += 1
                lp_plane[p] = _lp_answer(sv, orig[g], orig[h], R=R, tol_lp=tol_lp,
                                         direction=x if nx > 0 else None)
                verdict[p] = lp_plane[p] is not None
                if verdict[p] and not verdict_only and sv.n_iter < max_iter:
                    # Separable but not yet certified: keep iterating.
                    sv.done = sv.absorb(pa, pb, rtol=rtol, atol=atol)
            if verdict_only and verdict[p] is not None:
                continue
            if verdict[p] is False:
                continue
            if not sv.done and sv.n_iter < max_iter:
                still.append(p)
        active = still
    return n_lp



def pairwise_hull_distances(X, groups, *, method="exact", rtol=1e-6, atol=1e-9,
                            max_iter=100_000, tol_lp=SEPARABILITY_TOL):
    r"""Distances between the convex hulls of every pair of groups of points.

    .. math::

        D_{gh} = \operatorname{dist}(\operatorname{conv} X_g, \operatorname{conv} X_h),
        \qquad X_g = \{x_i : \mathrm{groups}_i = \mathrm{labels}_g\}.

    With ``method="exact"`` each pair is solved as in :func:`hull_distance` (active
    set with block pricing, Wolfe fallback), and the full linear-minimisation oracle of all
    unfinished pairs is batched: for every group one matrix product of its points with
    the matrix of the current directions of the pairs it belongs to. The data are
    centred and scaled once for all pairs. With ``method="svc-compat"`` each pair gets
    :func:`svc_compat_distance` (the authors' formula; no certificates).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    groups : array-like of int, shape (n_samples,)
        Group id of each row; ``k`` distinct ids.
    method : {"exact", "svc-compat"}, default="exact"
    rtol, atol, max_iter, tol_lp
        As in :func:`hull_distance`, with ``atol`` and the separability tolerance
        ``tol_lp`` relative to the radius ``R`` of all of X: a pair closer than
        ``tol_lp * R`` gets distance 0 and verdict False, whatever the other groups.

    Returns
    -------
    D : ndarray of shape (k, k)
        Symmetric, 0 on the diagonal; row/column ``i`` is ``info.labels[i]``
        (``np.unique(groups)``). 0 off the diagonal only for hulls within the
        separability tolerance (exact) or a failed SVC fit (svc-compat).
    info : PairwiseHullInfo
        Bounds, verdicts, iteration counts, number of LPs.

    Raises
    ------
    ValueError
        On invalid input or an unknown `method`.
    SolverError
        As in :func:`hull_distance`.

    Notes
    -----
    Cost: per pair as in :func:`hull_distance`; the full checks cost one
    :math:`O(n d m_g)` product per group per round, with ``m_g`` the number of that
    group's unfinished pairs. Runs with BLAS limited to one thread, as
    :func:`hull_distance`. Memory: two copies of X plus the supports (and their
    triangular factors) of one block of 40 pairs (pairs are solved block by block;
    results do not depend on it).

    See Also
    --------
    hull_distance, pairwise_separable, svc_compat_distance

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [2.0, 0.0], [2.0, 1.0], [5.0, 0.0]])
    >>> D, info = pairwise_hull_distances(X, [0, 0, 1, 1, 2])
    >>> np.round(D, 9).tolist()
    [[0.0, 2.0, 5.0], [2.0, 0.0, 3.0], [5.0, 3.0, 0.0]]
    """
    methods = {"exact": None, "svc-compat": None}
    if method not in methods:
        raise ValueError(
            "The 'method' parameter of pairwise_hull_distances must be one of "
            f"{sorted(methods)}. Got {method!r} instead."
        )
    if method == "exact":
        return _pairwise_core(X, groups, rtol=rtol, atol=atol, max_iter=max_iter,
                              tol_lp=tol_lp, verdict_only=False,
                              caller="pairwise_hull_distances")
    X, codes, labels = check_groups(X, groups, caller="pairwise_hull_distances")
    k = labels.shape[0]
    D = np.zeros((k, k))
    S = np.zeros((k, k), bool)
    for g in range(k):
        for h in range(g + 1, k):
            D[g, h] = D[h, g] = svc_compat_distance(X[codes == g], X[codes == h])
            S[g, h] = S[h, g] = D[g, h] > 0
    nan = np.full((k, k), np.nan)
    info = PairwiseHullInfo(labels=labels, lower_bound=nan, upper_bound=nan.copy(),
                            separable=S, n_iter=np.zeros((k, k), int), n_lp=0,
                            method="svc-compat")
    return D, info



def pairwise_separable(X, groups, *, tol=SEPARABILITY_TOL, fast_tol=1e-6):
    r"""Linear separability of every pair of groups at tolerance ``tol``: a (k, k) boolean matrix.

    ``S[g, h]`` is True when :math:`\operatorname{dist}(\operatorname{conv} X_g,
    \operatorname{conv} X_h) > \mathrm{tol} \cdot R`, ``R`` the radius of all of X
    about its mean (:data:`~harness.geometry.separability.SEPARABILITY_TOL`). A pair is
    declared separable at once when a centroid direction, or a few batched iterations
    of the nearest-point solver, give a direction whose certified gap (rigorous rounding
    bound, on the globally centred data scaled to radius 1) exceeds ``max(fast_tol,
    tol)``. Every other pair is settled by the solver's own bounds (a pair of points of
    the two hulls at most ``tol * R`` apart proves the answer False), and the LP of
    :func:`~harness.geometry.separability.separating_hyperplane` decides only what
    they cannot (a distance within rounding of ``tol * R``).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    groups : array-like of int, shape (n_samples,)
    tol : float, default=SEPARABILITY_TOL (1e-6)
        The separability tolerance, relative to the radius of X.
    fast_tol : float, default=1e-6
        Relative certified gap that settles a pair at once (never below ``tol``).

    Returns
    -------
    S : ndarray of bool, shape (k, k)
        Symmetric, False on the diagonal; order of ``np.unique(groups)``.

    See Also
    --------
    harness.geometry.separability.are_separable : one pair.
    pairwise_hull_distances : the distances, with the same verdicts in ``info``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 0.0], [1.0, 1.0], [9.0, 9.0]])
    >>> pairwise_separable(X, [0, 0, 1, 1, 2]).astype(int).tolist()
    [[0, 0, 1], [0, 0, 1], [1, 1, 0]]
    """
    S, _, _ = _pairwise_core(X, groups, rtol=1e-6, atol=1e-9, max_iter=100_000,
                             tol_lp=tol, verdict_only=True, caller="pairwise_separable",
                             fast_tol=fast_tol)
    return S

