r"""DirectProbe clustering: label-pure clusters whose convex hulls do not overlap.

The greedy procedure (Zhou & Srikumar, NAACL 2021):

1. start with every point as its own cluster;
2. the next candidate is the pair of **same-label** clusters whose centroids are
   closest (Euclidean), over all labels at once;
3. the candidate is merged when the merged cluster's convex hull is strictly separable
   from every cluster of every other label; otherwise the pair is discarded for good
   (its two clusters stay, and may later merge with others);
4. stop when no candidate is left.

Two modes compute this partition:

``mode="exact"``
    Runs the procedure above, checking every merge from the start; except that it
    first merges to the end and checks that end state, because when it has no overlap
    (the linear case) every merge would pass its check (see below), so linear data cost
    what the reference mode costs.
``mode="reference"``
    The authors' strategy: merge everything to one cluster per label without checks
    (centroid-linkage agglomeration within each label, interleaved across labels in
    order of merge distance), stop if that end state has no overlap (the *linear*
    case), else locate the first overlapping state in the recorded merge sequence
    (coarse backward scan when there are 1000 merges or more, then binary search),
    restore the last good state and continue greedily with a check before every merge.

Because clusters only grow along the merge sequence, overlap is monotone in it (an
overlapping pair stays overlapping in every later state), so the binary search finds
exactly the first merge that the exact mode would reject, and both modes continue from
the same state with the same rule. With this module's exact overlap verdicts and one
tie rule, the two modes therefore return **the same partition** (the tests assert it);
they differ in cost only. The authors' implementation can differ slightly between the
two strategies because of its caches and solver tolerance, not because of the strategy.

Where the parts live: the merge engine (centroid linkage, Lance-Williams updates) in
:mod:`._agglomeration`; the exact overlap oracle and its caches in :mod:`._oracle`;
the reference mode's search for the first overlapping state in :mod:`._phase_search`;
the checked greedy phase in :mod:`._phase_greedy`. This module holds the functional core
:func:`cluster_labels`, which picks the strategy, and the estimator :class:`DirectProbe`.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator

from harness.exceptions import BudgetExceeded, DuplicatePointsError, HarnessWarning

from ._agglomeration import Agglomerator, partition_from_merges
from ._oracle import Oracle, OutOfTime
from ._phase_greedy import greedy
from ._phase_search import check_state
from ._scaling import to_user_units, to_working_scale, working_exponent
from ._validation import check_points
from .separability import SEPARABILITY_TOL

__all__ = ["DirectProbe", "ClusteringResult", "cluster_labels", "find_cross_label_duplicates",
           "partition_from_merges"]

logger = logging.getLogger(__name__)

_MODES = ("reference", "exact")
_ON_DUPLICATES = ("raise", "drop")


# --------------------------------------------------------------------------------------
# Result container
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClusteringResult:
    """Outcome of :func:`cluster_labels`.

    Attributes
    ----------
    assignment : ndarray of int64, shape (n_samples,)
        Cluster index of each point, in ``0 .. n_clusters - 1``; ``-1`` for points
        removed by ``on_duplicates="drop"``. Clusters are numbered in canonical order:
        by label (in the order of `labels`), then by smallest member index.
    cluster_labels : ndarray, shape (n_clusters,)
        The label of each cluster (values taken from `labels`).
    labels : ndarray, shape (n_labels,)
        Sorted distinct labels (``np.unique(y)``).
    n_clusters : int
    linear : bool
        ``n_clusters == n_labels``: one cluster per label.
    mode : str
    rate : float
    merges : ndarray of int64, shape (n_merges, 2)
        Accepted merges in order, like the first two columns of
        :func:`scipy.cluster.hierarchy.linkage`'s ``Z``: row ``i`` merges nodes
        ``merges[i, 0] < merges[i, 1]`` into node ``n_samples + i`` (leaves are point
        indices). For ``mode="reference"`` in the linear case these are the
        merge-to-end merges.
    merge_distances : ndarray of float64, shape (n_merges,)
        Centroid distance of each accepted merge.
    dropped : ndarray of int64
        Indices of points dropped because of cross-label duplicates (empty unless
        ``on_duplicates="drop"``).
    n_oracle_calls : int
        Calls of the exact separability oracle
        (:meth:`~harness.geometry._oracle.Oracle.decide`: the nearest-point solver of
        :func:`~harness.geometry.hull_distance.hull_distance`, stopped as soon as its
        certified lower bound is positive, else the HiGHS LP of
        :func:`~harness.geometry.separability.separating_hyperplane`). Pairs settled by
        the cheap filters are not counted (see ``stats``).
    stats : dict
        Counters (``ball``, ``plane_reuse``, ``centroid_plane``, ``witness``,
        ``oracle_calls``, ``oracle_overlaps``, ``cached_pair``, ``rejected``,
        ``state_checks``, ``first_bad_state``) and timings in seconds.
    """

    assignment: np.ndarray
    cluster_labels: np.ndarray
    labels: np.ndarray
    n_clusters: int
    linear: bool
    mode: str
    rate: float
    merges: np.ndarray
    merge_distances: np.ndarray
    dropped: np.ndarray
    n_oracle_calls: int
    stats: dict = field(default_factory=dict)



# --------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------
def find_cross_label_duplicates(X, y):
    """Groups of identical rows of `X` that do not all carry one label.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)

    Returns
    -------
    groups : list of list of int
        Each group lists the indices (ascending) of rows that are bit-for-bit equal
        (``-0.0 == 0.0``) and hold at least two distinct labels; groups are sorted by
        their first index. Identical rows with one label are fine and not reported.

    Notes
    -----
    Cost :math:`O(n d \\log n)` (a row sort), memory :math:`O(n d)`.
    """
    X = np.asarray(X, dtype=np.float64) + 0.0  # -0.0 -> 0.0 so equal values compare equal
    _, codes = np.unique(np.asarray(y), return_inverse=True)
    codes = codes.ravel()
    _, inv, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    multi = np.flatnonzero(counts > 1)
    if multi.size == 0:
        return []
    sel = np.flatnonzero(np.isin(inv, multi))
    order = sel[np.lexsort((sel, inv[sel]))]
    groups = []
    bounds = np.flatnonzero(np.diff(inv[order])) + 1
    for grp in np.split(order, bounds):
        if np.unique(codes[grp]).size > 1:
            groups.append(sorted(int(i) for i in grp))
    groups.sort(key=lambda g: g[0])
    return groups



# --------------------------------------------------------------------------------------
# The two strategies
# --------------------------------------------------------------------------------------
def _merge_to_end(X, codes, n_labels, oracle, stats, timings):
    """Merge every label to one cluster without checks; check that end state.

    Returns ``(eng, merges, linear)``. When the end state has no overlap (the linear
    case) every earlier state of the sequence has none either (its clusters are
    subsets), so checking each merge would accept all of them: both modes return
    this end state.
    """
    t0 = time.perf_counter()
    eng = Agglomerator(X, codes, n_labels)
    eng.run()
    merges = eng.merges[:eng.n_merges].copy()
    timings["merge_to_end"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    linear = check_state(X, codes, merges, merges.shape[0], oracle, stats)
    oracle.certified["linear"] = linear
    if linear:
        oracle.certified["n_clusters_at_most"] = n_labels
    timings["search"] = time.perf_counter() - t0
    return eng, merges, linear


def _run_exact(X, codes, n_labels, oracle, stats, timings):
    """Exact mode: the linear case from the end state, else every merge checked."""
    eng, merges, linear = _merge_to_end(X, codes, n_labels, oracle, stats, timings)
    if linear:
        stats["first_bad_state"] = None
        return eng
    # Node ids >= N are reused by the checked run: drop the planes cached for them.
    oracle.planes.purge_from(X.shape[0])
    t0 = time.perf_counter()
    eng = Agglomerator(X, codes, n_labels)
    greedy(X, eng, oracle, stats)
    timings["greedy"] = time.perf_counter() - t0
    return eng


def _run_reference(X, codes, n_labels, rate, oracle, stats, timings):
    eng, merges, linear = _merge_to_end(X, codes, n_labels, oracle, stats, timings)
    n = merges.shape[0]
    if linear:
        stats["first_bad_state"] = None
        return eng
    t0 = time.perf_counter()
    # Find the first bad state hi (state 0, all singletons, is good by construction).
    hi, lo = n, 0
    if n >= 1000:
        step = max(1, int(rate * n))
        k = n - step
        while k > 0 and not check_state(X, codes, merges, k, oracle, stats):
            hi = k
            k -= step
        lo = max(k, 0)
    # A good state lo: the greedy phase goes on from lo or later, and only merges.
    oracle.certified["n_clusters_at_most"] = X.shape[0] - lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if check_state(X, codes, merges, mid, oracle, stats):
            lo = mid
            oracle.certified["n_clusters_at_most"] = X.shape[0] - lo
        else:
            hi = mid
    stats["first_bad_state"] = hi
    timings["search"] += time.perf_counter() - t0
    logger.debug("first overlapping state %d of %d merges (%d state checks, %.1f s)",
                 hi, n, stats["state_checks"], timings["search"])
    # Hand the search's knowledge to the greedy phase. Witnesses are point sets and stay
    # valid; cached planes name nodes, and node ids >= N + lo are reused by the greedy
    # phase for other clusters.
    oracle.planes.purge_from(X.shape[0] + lo)
    # Replay the first lo merges (bit-identical to the exact mode's state), then go greedy.
    t0 = time.perf_counter()
    eng = Agglomerator(X, codes, n_labels)
    eng.run(lo)
    greedy(X, eng, oracle, stats)
    timings["greedy"] = time.perf_counter() - t0
    return eng


def _check_params(mode, rate, tol, on_duplicates, caller, time_limit=None):
    if mode not in _MODES:
        raise ValueError(f"The 'mode' parameter of {caller} must be one of {list(_MODES)}. "
                         f"Got {mode!r} instead.")
    if not (isinstance(rate, (int, float)) and 0 < rate <= 1):
        raise ValueError(f"The 'rate' parameter of {caller} must be a float in (0, 1]. "
                         f"Got {rate!r} instead.")
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError(f"The 'tol' parameter of {caller} must be a float >= 0. "
                         f"Got {tol!r} instead.")
    if on_duplicates not in _ON_DUPLICATES:
        raise ValueError(f"The 'on_duplicates' parameter of {caller} must be one of "
                         f"{list(_ON_DUPLICATES)}. Got {on_duplicates!r} instead.")
    if time_limit is not None and not (isinstance(time_limit, (int, float))
                                       and not isinstance(time_limit, bool) and time_limit >= 0):
        raise ValueError(f"The 'time_limit' parameter of {caller} must be None or a number of "
                         f"seconds >= 0. Got {time_limit!r} instead.")


def cluster_labels(X, y, *, mode="reference", rate=0.01, tol=SEPARABILITY_TOL,
                   on_duplicates="raise", time_limit=None):
    r"""DirectProbe: label-pure clusters with pairwise disjoint cross-label convex hulls.

    Greedy centroid agglomeration within labels: repeatedly take the pair of
    same-label clusters with the closest centroids (over all labels), merge it when the
    merged cluster's hull is disjoint from the hull of every other-label cluster
    (strict linear separability, decided by
    :func:`~harness.geometry.hull_distance.hull_distance` certificates and the LP of
    :func:`~harness.geometry.separability.separating_hyperplane`), else
    discard that pair for good; stop when no pair is left. See the module docstring.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        One label per point (any sortable type).
    mode : {"reference", "exact"}, default="reference"
        ``"exact"`` checks every merge from the start (once the end state of
        merging everything has been found to overlap: a linear end state is the
        answer of both modes); ``"reference"`` merges to one cluster per label first
        and searches the merge sequence for the first overlapping state (the
        authors' strategy). Both return the same partition (see Notes);
        ``"reference"`` is much faster when the data is nearly linear.
    rate : float in (0, 1], default=0.01
        Step of the coarse backward scan, as a fraction of the number of merges
        (used only by ``"reference"`` with 1000 merges or more). It changes only the
        number of states checked, never the result.
    tol : float, default=SEPARABILITY_TOL (1e-6)
        The separability tolerance: two clusters whose hulls are closer than ``tol * R``
        (``R`` the radius of all of ``X`` about its mean, duplicates dropped) count as
        overlapping (:data:`~harness.geometry.separability.SEPARABILITY_TOL`).
    on_duplicates : {"raise", "drop"}, default="raise"
        Identical points with different labels can never be separated. ``"raise"``
        raises :class:`DuplicatePointsError` listing the index groups; ``"drop"``
        removes every point of those groups (recorded in ``dropped``; their
        ``assignment`` is ``-1``) and warns.
    time_limit : float or None, default=None
        CPU seconds of this process the search may take (checked before every candidate
        check and exact oracle call, so one call may overrun it). Past it the run stops
        with :class:`~harness.exceptions.BudgetExceeded`, whose ``certified`` holds what
        was proven: ``linear`` (True, False, or None when the end state's check did not
        finish), ``n_clusters_at_least`` (``n_labels + 1`` once the end state is known to
        overlap) and ``n_clusters_at_most`` (the clusters of the last state known good:
        later merges only lower it). None: no limit.

    Returns
    -------
    ClusteringResult

    Raises
    ------
    DuplicatePointsError
        Cross-label duplicates with ``on_duplicates="raise"``, or with ``"drop"`` when
        every point is one (nothing would be left); ``.groups`` lists them.
    ValueError
        On invalid input or parameters.
    SolverError
        When the LP solver ends in a status other than optimal.
    BudgetExceeded
        Past ``time_limit``; never a partial partition.

    Notes
    -----
    **Tie rule.** Candidate pairs are ordered by their computed squared centroid
    distance, then by ``(min node id, max node id)``: a point is node ``i`` (its index),
    and the ``k``-th accepted merge creates node ``n_samples + k``. Exact ties (e.g.
    duplicate points) therefore depend on input order; nothing else does.

    **Distances.** Per label, squared centroid distances are kept in a dense matrix
    (exact ``pdist`` at the start, Lance-Williams updates
    :math:`d^2(A{\cup}B, Q) = \frac{n_A d^2(A,Q) + n_B d^2(B,Q)}{n} - \frac{n_A n_B d^2(A,B)}{n^2}`
    afterwards) when all such matrices fit in 512 MiB, smallest labels first; larger
    labels recompute distances from centroids.

    **Equality of the modes.** Overlap is monotone along the merge-to-end sequence
    (clusters only grow), so the first overlapping state found by the search is the
    first merge the exact mode rejects; before it, both modes make the same merges,
    and from it both run the same checked greedy procedure (the reference mode replays
    the good prefix so its state is bit-identical). State 0 (singletons) is taken as
    good; cross-label duplicates are caught up front.

    **Checks.** A candidate is checked against all other-label clusters at once: a
    vectorised bounding-ball filter, then reuse of planes cached for the merged parts,
    then batched centroid-direction planes, then the LP oracle (closest pairs first).
    Known-overlapping point sets (witnesses) reject candidates without an LP. All
    filters are verdict-preserving up to the oracle's ``tol`` band.

    **Cost.** Merge-to-end: :math:`O(\sum_\ell n_\ell^2)` time with dense matrices
    (plus :math:`O(n_\ell d)` per recomputed neighbour), memory
    :math:`O(n d + \sum_\ell n_\ell^2)` capped as above. The merge record is
    :math:`O(n)`; any state is rebuilt from it in :math:`O(n)`
    (:func:`partition_from_merges`), never stored per merge. A state check costs
    :math:`O(m^2 d)` for the ball filter over its ``m`` clusters plus the LPs. Cached
    planes are capped at 256 MiB.

    See Also
    --------
    DirectProbe : the estimator wrapper.

    The slow twin it is tested against, ``cluster_labels_naive`` (recomputes every
    distance and runs a plain LP for every check), is in
    ``tests/geometry/geometry_reference_clustering.py``.

    References
    ----------
    Zhou & Srikumar, "DirectProbe: Studying Representations without Classifiers",
    NAACL 2021, Sec. 3. Müllner, "Modern hierarchical, agglomerative clustering
    algorithms", arXiv:1109.2378 (2011).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 0.0], [5.0, 1.0]])
    >>> res = cluster_labels(X, ["a", "a", "b", "b"])
    >>> res.n_clusters, res.linear, res.assignment.tolist()
    (2, True, [0, 0, 1, 1])
    """
    _check_params(mode, rate, tol, on_duplicates, "cluster_labels", time_limit)
    X = check_points(X, name="X", caller="cluster_labels")
    scale = working_exponent(X)  # extreme magnitudes: computed at a safe scale (_scaling)
    X = to_working_scale(X, scale)
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"The 'y' parameter of cluster_labels must be a 1-D array with one label per row "
            f"of X ({X.shape[0]}). Got shape {y.shape}.")
    labels, codes = np.unique(y, return_inverse=True)
    codes = codes.ravel().astype(np.int64)
    n_all = X.shape[0]
    groups = find_cross_label_duplicates(X, codes)
    keep = np.arange(n_all)
    dropped = np.empty(0, dtype=np.int64)
    if groups:
        shown = "; ".join(str(g) for g in groups[:5]) + (" ..." if len(groups) > 5 else "")
        if on_duplicates == "raise":
            raise DuplicatePointsError(
                f"{sum(len(g) for g in groups)} points in {len(groups)} group(s) are identical "
                f"but carry different labels, so no clustering can separate them: {shown}. "
                "Pass on_duplicates='drop' to remove them.", groups)
        dropped = np.array(sorted(i for g in groups for i in g), dtype=np.int64)
        if dropped.size == n_all:  # both modes refuse here, before they differ
            raise DuplicatePointsError(
                f"All {n_all} points are identical to a point of another label, so dropping "
                "them leaves nothing to cluster.", groups)
        warnings.warn(f"Dropped {dropped.size} points with cross-label duplicates: {shown}.",
                      HarnessWarning, stacklevel=2)
        keep = np.setdiff1d(keep, dropped)
    Xk = np.ascontiguousarray(X[keep])
    ck = codes[keep]
    present, ck = np.unique(ck, return_inverse=True)  # labels left after dropping
    ck = ck.ravel().astype(np.int64)
    n_labels = present.size
    stats = dict(rejected=0, state_checks=0, first_bad_state=None)
    timings = {}
    oracle = Oracle(Xk, ck, tol)
    if time_limit is not None:
        oracle.deadline = oracle.clock() + time_limit
    t_start = time.perf_counter()
    try:
        if mode == "exact":
            eng = _run_exact(Xk, ck, n_labels, oracle, stats, timings)
        else:
            eng = _run_reference(Xk, ck, n_labels, rate, oracle, stats, timings)
    except OutOfTime as stop:
        raise _budget_exceeded(oracle, n_labels, dropped.size, time_limit, stop.args[0]) from None
    timings["total"] = time.perf_counter() - t_start
    stats.update(oracle.stats)
    stats["timings"] = timings
    # Canonical cluster numbering: by label, then smallest member index.
    node = eng.cur
    nodes, first = np.unique(node, return_index=True)
    inv = np.searchsorted(nodes, node)
    lab_of = ck[first]
    order = np.lexsort((first, lab_of))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    assignment = np.full(n_all, -1, dtype=np.int64)
    assignment[keep] = rank[inv]
    c_labels = labels[present[lab_of[order]]]
    n_clusters = int(nodes.size)
    merges = eng.merges[:eng.n_merges].copy()
    # Report node ids in the original indexing when points were dropped.
    if dropped.size:
        remap = np.concatenate((keep, n_all + np.arange(merges.shape[0])))
        merges = remap[merges]
    return ClusteringResult(
        assignment=assignment,
        cluster_labels=c_labels,
        labels=labels,
        n_clusters=n_clusters,
        linear=n_clusters == n_labels,  # labels left after any dropping
        mode=mode,
        rate=float(rate),
        merges=merges,
        merge_distances=to_user_units(eng.dists[:eng.n_merges].copy(), scale),
        dropped=dropped,
        n_oracle_calls=int(oracle.stats["oracle_calls"]),
        stats=stats,
    )


def _budget_exceeded(oracle, n_labels, n_dropped, time_limit, progress):
    linear = oracle.certified["linear"]
    certified = {"linear": linear, "n_labels": int(n_labels),
                 "n_clusters_at_least": n_labels + (linear is False),
                 "n_clusters_at_most": int(oracle.certified["n_clusters_at_most"]),
                 "n_dropped_duplicates": int(n_dropped),
                 "n_oracle_calls": int(oracle.stats["oracle_calls"]),
                 "phase": progress.get("phase", "end-state check")}
    said = {None: "linearity undecided", False: "not linear"}[linear]
    return BudgetExceeded(
        f"DirectProbe stopped at its time limit of {time_limit:g} CPU s "
        f"({oracle.X.shape[0]} points x {oracle.d} features, {n_labels} labels, in the "
        f"{certified['phase']}): {said}, between {certified['n_clusters_at_least']} and "
        f"{certified['n_clusters_at_most']} clusters", certified)


class DirectProbe(BaseEstimator):
    """DirectProbe clustering as a scikit-learn-style estimator.

    Parameters
    ----------
    mode : {"reference", "exact"}, default="reference"
        See :func:`cluster_labels`.
    rate : float, default=0.01
        Coarse-scan step of the reference mode, as a fraction of the merges (the
        fine-tuning paper used 0.05). Never changes the result.
    tol : float, default=SEPARABILITY_TOL (1e-6)
        The separability tolerance, relative to the radius of the data.
    on_duplicates : {"raise", "drop"}, default="raise"
        What to do with identical points that carry different labels.
    time_limit : float or None, default=None
        CPU seconds the search may take; past it ``fit`` raises
        :class:`~harness.exceptions.BudgetExceeded` with what it had proven.
    random_state : None
        Accepted for API symmetry; the procedure is deterministic and ignores it.

    Attributes
    ----------
    assignment_ : ndarray of int64, shape (n_samples,)
        Cluster index per point (``-1`` for dropped points).
    cluster_labels_ : ndarray, shape (n_clusters_,)
        Label of each cluster.
    labels_ : ndarray, shape (n_labels,)
        Sorted distinct labels, ``np.unique(y)``.
    n_clusters_ : int
    linear_ : bool
        ``n_clusters_ == len(labels_)``.
    n_oracle_calls_ : int
        Calls of the exact separability oracle.
    stats_ : dict
        Filter counters and timings (see :class:`ClusteringResult`).
    result_ : ClusteringResult

    See Also
    --------
    cluster_labels : the functional core, with the full description.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> DirectProbe(mode="exact").fit(X, [0, 1, 0, 1]).n_clusters_
    4
    """

    def __init__(self, *, mode="reference", rate=0.01, tol=SEPARABILITY_TOL, on_duplicates="raise",
                 time_limit=None, random_state=None):
        self.mode = mode
        self.rate = rate
        self.tol = tol
        self.on_duplicates = on_duplicates
        self.time_limit = time_limit
        self.random_state = random_state

    def fit(self, X, y):
        """Cluster `X` under labels `y`; returns self."""
        res = cluster_labels(X, y, mode=self.mode, rate=self.rate, tol=self.tol,
                             on_duplicates=self.on_duplicates, time_limit=self.time_limit)
        self.result_ = res
        self.assignment_ = res.assignment
        self.cluster_labels_ = res.cluster_labels
        self.labels_ = res.labels
        self.n_clusters_ = res.n_clusters
        self.linear_ = res.linear
        self.n_oracle_calls_ = res.n_oracle_calls
        self.stats_ = res.stats
        return self

    def fit_predict(self, X, y):
        """Fit and return ``assignment_``."""
        return self.fit(X, y).assignment_

