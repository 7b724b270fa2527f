r"""DirectProbe clustering: label-pure clusters whose convex hulls do not overlap.

The greedy procedure (Zhou & Srikumar, NAACL 2021; ``/work/shared/spec/directprobe.md``):

1. start with every point as its own cluster;
2. the next candidate is the pair of **same-label** clusters whose centroids are
   closest (Euclidean), over all labels at once;
3. the candidate is merged when the merged cluster's convex hull is strictly separable
   from every cluster of every other label; otherwise the pair is discarded for good
   (its two clusters stay, and may later merge with others);
4. stop when no candidate is left.

Two modes compute this partition:

``mode="exact"``
    Runs the procedure above, checking every merge from the start.
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
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.distance import cdist, pdist, squareform
from sklearn.base import BaseEstimator

from harness.exceptions import DuplicatePointsError, HarnessWarning, SolverError

from ._validation import check_points
from .hull_distance import hull_distance
from .separability import separating_hyperplane

__all__ = ["DirectProbe", "ClusteringResult", "cluster_labels", "find_cross_label_duplicates",
           "partition_from_merges"]

logger = logging.getLogger(__name__)

_MODES = ("reference", "exact")
_ON_DUPLICATES = ("raise", "drop")
# Memory budget of the dense per-label centroid-distance matrices (bytes); labels that
# do not fit are handled without a matrix (distances recomputed from centroids).
_DENSE_BUDGET = 512 * 2**20
# Memory budget of cached separating hyperplanes (bytes).
_PLANE_BUDGET = 256 * 2**20
# Relative safety margin of the cheap (non-LP) certificates against rounding error.
_CERT_RTOL = 1e-10


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
    n_lp_solved : int
        Calls of the exact separability oracle: :func:`hull_distance` stopped as soon
        as its certified lower bound is positive (separable), else the HiGHS LP of
        :func:`separating_hyperplane` (which decides every overlap). Pairs settled by
        the cheap filters are not counted (see ``stats``).
    stats : dict
        Counters (``ball``, ``plane_reuse``, ``centroid_plane``, ``witness``, ``lp``,
        ``rejected``, ``state_checks``, ``first_bad_state``) and timings in seconds.
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
    n_lp_solved: int
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
# Merge-sequence utilities
# --------------------------------------------------------------------------------------
def partition_from_merges(merges, n_samples, k=None):
    """Node id of each point after the first `k` merges of a merge record, in O(n + k).

    Parameters
    ----------
    merges : ndarray of int, shape (n_merges, 2)
        Row ``i`` merges two nodes into node ``n_samples + i`` (see
        :class:`ClusteringResult`).
    n_samples : int
    k : int, optional
        Number of merges to apply (default all).

    Returns
    -------
    node : ndarray of int64, shape (n_samples,)
        The node (cluster id) holding each point in state `k`.

    Notes
    -----
    This is how the reference mode restores any state of the merge-to-end sequence
    without storing one assignment copy per merge (the reference implementation's
    quadratic-memory flaw): memory :math:`O(n)`.
    """
    merges = np.asarray(merges)
    k = merges.shape[0] if k is None else int(k)
    root = np.arange(n_samples + k, dtype=np.int64)
    m = merges[:k]
    # Walk backwards: a node's final root is known before its children are visited.
    for i in range(k - 1, -1, -1):
        r = root[n_samples + i]
        root[m[i, 0]] = r
        root[m[i, 1]] = r
    return root[:n_samples].copy()


# --------------------------------------------------------------------------------------
# Centroid-linkage agglomeration with a pair blacklist
# --------------------------------------------------------------------------------------
class _Block:
    """Active clusters of one label, stored by slot (slot ``s`` starts as point ``pts[s]``)."""

    __slots__ = ("pts", "ids", "C", "cnt", "D", "nn", "nd", "stale", "black", "members", "best")

    def __init__(self, X, pts, dense):
        n = pts.size
        self.pts = pts
        self.ids = pts.astype(np.int64).copy()  # node id per slot, -1 when dead
        self.C = X[pts].copy()
        self.cnt = np.ones(n, dtype=np.int64)
        if dense and n > 1:
            # Exact squared distances (zero for duplicates); later rows follow the
            # Lance-Williams identity for squared centroid distances.
            self.D = squareform(pdist(self.C, "sqeuclidean"))
            np.fill_diagonal(self.D, np.inf)
        else:
            self.D = None
        self.nn = np.full(n, -1, dtype=np.int64)
        self.nd = np.full(n, np.inf)
        # stale[s]: nd[s] is only a lower bound of s's nearest-partner distance (its
        # partner merged away or was rejected); recomputed lazily when it reaches the front.
        self.stale = np.zeros(n, dtype=bool)
        self.black = {}
        self.members = [np.array([p], dtype=np.int64) for p in pts]
        self.best = None


class _Agglomerator:
    r"""Greedy centroid agglomeration within labels, globally ordered, with rejections.

    Maintains, for every active cluster, its nearest same-label partner that is not
    blacklisted (Müllner's generic algorithm with nearest-neighbour lists), so each step
    costs :math:`O(n_\ell)` with a dense distance matrix (:math:`O(n_\ell d)` without)
    plus the partners whose nearest neighbour was one of the merged clusters.

    Tie rule: among candidate pairs with equal computed squared distance, the pair with
    the smallest ``(min node id, max node id)`` wins; leaves have the point index as id
    and the ``i``-th accepted merge creates node ``n_samples + i``.
    """

    def __init__(self, X, codes, n_labels, *, dense_budget=None):
        self.X = X
        self.N = X.shape[0]
        self.codes = codes
        self.next_id = self.N
        self.cur = np.arange(self.N, dtype=np.int64)  # node of each point
        self.merges = np.empty((max(self.N - 1, 0), 2), dtype=np.int64)
        self.dists = np.empty(max(self.N - 1, 0))
        self.n_merges = 0
        sizes = np.bincount(codes, minlength=n_labels)
        budget = _DENSE_BUDGET if dense_budget is None else dense_budget
        dense = np.zeros(n_labels, bool)
        for lab in np.argsort(sizes, kind="stable"):  # smallest labels first
            cost = 8 * int(sizes[lab]) ** 2
            if cost <= budget:
                dense[lab] = True
                budget -= cost
        self.blocks = [_Block(X, np.flatnonzero(codes == lab), dense[lab]) for lab in range(n_labels)]
        # node id -> (label, slot) of active nodes
        self.where = {}
        for lab, blk in enumerate(self.blocks):
            for s, p in enumerate(blk.pts):
                self.where[int(p)] = (lab, s)
            self._init_nn(blk)
            self._update_best(blk)

    @staticmethod
    def _init_nn(blk):
        # Slots start in ascending node-id order, so argmin's first-occurrence rule
        # is the smallest-id tie rule.
        n = blk.pts.size
        if n < 2:
            return
        step = max(1, 2_000_000 // n)
        for i0 in range(0, n, step):
            i1 = min(n, i0 + step)
            if blk.D is not None:
                r = blk.D[i0:i1]
            else:
                r = cdist(blk.C[i0:i1], blk.C, "sqeuclidean")
                r[np.arange(i1 - i0), np.arange(i0, i1)] = np.inf
            j = np.argmin(r, axis=1)
            blk.nn[i0:i1] = j
            blk.nd[i0:i1] = r[np.arange(i1 - i0), j]

    # -- distances ---------------------------------------------------------------------
    def _row(self, blk, s):
        """Squared centroid distances from slot `s` to every slot (inf: dead or self)."""
        if blk.D is not None:
            return blk.D[s].copy()
        r = cdist(blk.C[s:s + 1], blk.C, "sqeuclidean")[0]
        r[blk.ids < 0] = np.inf
        r[s] = np.inf
        return r

    def _recompute_nn(self, blk, s, row=None):
        r = self._row(blk, s) if row is None else row
        bl = blk.black.get(s)
        if bl:
            r[list(bl)] = np.inf
        m = r.min() if r.size else np.inf
        if not np.isfinite(m):
            blk.nn[s] = -1
            blk.nd[s] = np.inf
            blk.stale[s] = False
            return
        cand = np.flatnonzero(r == m)
        blk.nn[s] = cand[np.argmin(blk.ids[cand])] if cand.size > 1 else cand[0]
        blk.nd[s] = m
        blk.stale[s] = False

    def _recompute_many(self, blk, slots):
        """Vectorised :meth:`_recompute_nn` over many slots (same tie rule)."""
        big = np.iinfo(np.int64).max
        step = max(1, 4_000_000 // max(blk.pts.size, 1))
        for i0 in range(0, slots.size, step):
            sl = slots[i0:i0 + step]
            if blk.D is not None:
                R = blk.D[sl]  # fancy indexing copies
            else:
                R = cdist(blk.C[sl], blk.C, "sqeuclidean")
                R[:, blk.ids < 0] = np.inf
                R[np.arange(sl.size), sl] = np.inf
            for k, s in enumerate(sl):
                bl = blk.black.get(int(s))
                if bl:
                    R[k, list(bl)] = np.inf
            m = R.min(axis=1)
            ids = np.where(R == m[:, None], blk.ids[None, :], big)
            j = np.argmin(ids, axis=1)
            fin = np.isfinite(m)
            blk.nn[sl] = np.where(fin, j, -1)
            blk.nd[sl] = m
            blk.stale[sl] = False

    def _update_best(self, blk):
        nd = blk.nd
        while True:
            m = nd.min() if nd.size else np.inf
            if not np.isfinite(m):
                blk.best = None
                return
            cand = np.flatnonzero(nd == m)
            st = cand[blk.stale[cand]]
            if st.size == 0:
                break
            # A lower bound reached the front: make it exact and look again.
            if st.size == 1:
                self._recompute_nn(blk, int(st[0]))
            else:
                self._recompute_many(blk, st)
        i1 = blk.ids[cand]
        i2 = blk.ids[blk.nn[cand]]
        lo = np.minimum(i1, i2)
        hi = np.maximum(i1, i2)
        j = np.lexsort((hi, lo))[0]
        s, t = int(cand[j]), int(blk.nn[cand[j]])
        blk.best = (float(m), int(lo[j]), int(hi[j]), s, t)

    def best(self):
        """Next candidate ``(d2, lo_id, hi_id, label, slot_a, slot_b)`` or ``None``."""
        out = None
        for lab, blk in enumerate(self.blocks):
            b = blk.best
            if b is not None and (out is None or b[:3] < out[:3]):
                out = b[:3] + (lab,) + b[3:]
        return out

    # -- operations ----------------------------------------------------------------------
    def merge(self, lab, sa, sb, d2):
        """Merge slots `sa`, `sb` of label `lab`; return the new node id."""
        blk = self.blocks[lab]
        s, t = (sa, sb) if sa < sb else (sb, sa)
        na, nb = blk.cnt[sa], blk.cnt[sb]
        n = na + nb
        ida, idb = int(blk.ids[sa]), int(blk.ids[sb])
        nid = self.next_id
        self.next_id += 1
        self.merges[self.n_merges] = (min(ida, idb), max(ida, idb))
        self.dists[self.n_merges] = np.sqrt(d2)
        self.n_merges += 1
        blk.C[s] = (na * blk.C[sa] + nb * blk.C[sb]) / n
        if blk.D is not None:
            # Lance-Williams for squared centroid distances (exact in exact arithmetic).
            row = (na * blk.D[sa] + nb * blk.D[sb]) / n - (na * nb * blk.D[sa, sb]) / (n * n)
            np.maximum(row, 0.0, out=row)
            row[t] = np.inf
            row[s] = np.inf
            blk.D[s, :] = row
            blk.D[:, s] = row
            blk.D[t, :] = np.inf
            blk.D[:, t] = np.inf
        blk.ids[s] = nid
        blk.ids[t] = -1
        blk.cnt[s] = n
        blk.cnt[t] = 0
        mem = np.concatenate((blk.members[sa], blk.members[sb]))
        blk.members[s] = mem
        blk.members[t] = None
        self.cur[mem] = nid
        del self.where[ida], self.where[idb]
        self.where[nid] = (lab, s)
        # A merged cluster is a new cluster: the old pairs' rejections no longer apply.
        for slot in (sa, sb):
            for x in blk.black.pop(slot, ()):
                other = blk.black.get(x)
                if other is not None:
                    other.discard(slot)
        # Nearest-neighbour maintenance.
        row = self._row(blk, s)
        alive = blk.ids >= 0
        affected = alive & ((blk.nn == sa) | (blk.nn == sb)) & ~blk.stale
        affected[s] = False
        # Clusters that get closer to the new cluster than to their old nearest partner
        # (a lower bound of the rest, when stale): the new cluster is their exact nearest.
        better = alive & (row < blk.nd)
        better[s] = False
        blk.nn[better] = s
        blk.nd[better] = row[better]
        blk.stale[better] = False
        # The others lost their nearest partner: the old distance is a lower bound.
        blk.stale[affected & ~better] = True
        blk.nn[t] = -1
        blk.nd[t] = np.inf
        blk.stale[t] = False
        self._recompute_nn(blk, s, row)
        self._update_best(blk)
        return nid

    def reject(self, lab, sa, sb):
        """Discard the pair (`sa`, `sb`) of label `lab` for good."""
        blk = self.blocks[lab]
        blk.black.setdefault(sa, set()).add(sb)
        blk.black.setdefault(sb, set()).add(sa)
        blk.stale[sa] = True  # nd stays a valid lower bound
        blk.stale[sb] = True
        self._update_best(blk)


# --------------------------------------------------------------------------------------
# Overlap oracle with exact, verdict-preserving filters
# --------------------------------------------------------------------------------------
class _Oracle:
    """Separability verdicts between clusters, with caches.

    Filters, all of which only ever *prove* separability or *prove* overlap:

    * bounding balls (centroid, largest member distance) that do not meet;
    * hyperplane reuse: a plane verified for (A, Q) settles (A + B, Q) when B lies on
      A's side of it with the required margin;
    * centroid-direction plane, checked on every point;
    * overlap witnesses: sets of points known to overlap; any clusters containing them
      overlap (supersets of overlapping sets overlap);
    * otherwise the exact oracle: the nearest-point solver of :func:`hull_distance`
      (stopped at a certified positive lower bound), whose
      undecided cases go to the HiGHS LP of :func:`separating_hyperplane`.

    The cheap certificates require a gap larger than ``tol * R_ub`` (``R_ub`` an upper
    bound of the pair's radius about its mean) plus a rounding margin, so they accept
    only pairs the LP oracle also accepts (up to its own tolerance band).
    """

    def __init__(self, X, codes, tol):
        self.X = X
        self.codes = codes
        self.tol = float(tol)
        self.d = X.shape[1]
        self.planes = {}  # (lo node, hi node) -> (w, b, min over lo side, max over hi side)
        self.partners = {}  # node -> set of nodes with a stored plane
        self.max_planes = max(1000, _PLANE_BUDGET // (8 * (self.d + 8)))
        self._wit_sides = []  # overlap witnesses: (points of side 1, points of side 2)
        self._wit_flat = None
        self.stats = dict(ball=0, plane_reuse=0, centroid_plane=0, witness=0, lp=0,
                          lp_overlap=0, cached_pair=0)

    # -- plane store ---------------------------------------------------------------------
    def _store(self, x, y, w, b, xmin, ymax):
        """Store a plane with ``w.p + b > 0`` on node x (min `xmin`) and < 0 on y."""
        if len(self.planes) >= self.max_planes:
            return
        if x > y:
            x, y, w, b, xmin, ymax = y, x, -w, -b, -ymax, -xmin
        self.planes[(x, y)] = (w, b, xmin, ymax)
        self.partners.setdefault(x, set()).add(y)
        self.partners.setdefault(y, set()).add(x)

    def _get(self, x, y):
        """Plane oriented positive on x: (w, b, xmin, ymax) or None."""
        if x < y:
            return self.planes.get((x, y))
        p = self.planes.get((y, x))
        if p is None:
            return None
        w, b, ymin, xmax = p
        return -w, -b, -xmax, -ymin

    def forget(self, node):
        for y in self.partners.pop(node, ()):
            self.planes.pop((min(node, y), max(node, y)), None)
            ps = self.partners.get(y)
            if ps is not None:
                ps.discard(node)

    def purge_from(self, first_new):
        """Drop caches mentioning nodes >= `first_new` (ids reused by another sequence)."""
        for key in [k for k in self.planes if k[1] >= first_new]:
            del self.planes[key]
        for node in list(self.partners):
            if node >= first_new:
                del self.partners[node]
            else:
                self.partners[node] = {y for y in self.partners[node] if y < first_new}

    # -- witnesses -----------------------------------------------------------------------
    def add_witness(self, P1, P2):
        """Record point sets (global indices) whose convex hulls are proven to intersect.

        Any two clusters that contain `P1` and `P2` respectively then overlap
        (supersets of intersecting sets intersect), in any state of any phase.
        """
        if P1.size + P2.size > 4096:  # not worth the memory; the LP will be rerun
            return
        self._wit_sides.append((np.asarray(P1, np.int64), np.asarray(P2, np.int64)))
        self._wit_flat = None

    def _flat(self):
        if self._wit_flat is None:
            out = []
            for k in (0, 1):
                parts = [w[k] for w in self._wit_sides]
                lens = np.array([p.size for p in parts])
                starts = np.concatenate(([0], np.cumsum(lens)[:-1]))
                out.append((np.concatenate(parts), starts, lens))
            self._wit_flat = out
        return self._wit_flat

    def _sides(self, cur):
        """Per witness and side: (all points in one cluster, that cluster)."""
        res = []
        for flat, starts, lens in self._flat():
            c = cur[flat]
            first = c[starts]
            same = np.logical_and.reduceat(c == np.repeat(first, lens), starts)
            res.append((same, first))
        return res

    def witness_hit(self, cur, a, b):
        """Whether a witness proves that merging nodes a and b overlaps another cluster."""
        if not self._wit_sides:
            return False
        sides = self._sides(cur)
        for k in (0, 1):  # side k inside a + b, the other side within one other cluster
            flat, starts, lens = self._flat()[k]
            c = cur[flat]
            inside = np.logical_and.reduceat((c == a) | (c == b), starts)
            same, first = sides[1 - k]
            if np.any(inside & same & (first != a) & (first != b)):
                return True
        return False

    def state_hit(self, node):
        """Whether a witness proves that the partition `node` (per point) overlaps."""
        if not self._wit_sides:
            return False
        (s1, f1), (s2, f2) = self._sides(node)
        return bool(np.any(s1 & s2 & (f1 != f2)))

    # -- certificates ----------------------------------------------------------------------
    def _margin(self, dist, rmax):
        # Required gap: the oracle's tol times a radius bound, plus rounding slack.
        R = dist + rmax
        return self.tol * R + _CERT_RTOL * (R + 1.0)

    def lp(self, P, Q):
        """Run the exact oracle: ``(w, b, pmin, qmax)`` when separable, else a witness
        ``(idx_P, idx_Q)`` of row indices whose hulls are proven to intersect.

        The oracle is :func:`hull_distance` stopped early (``rtol=0.5``): a certified
        positive lower bound proves separability (usually far faster than the LP on
        large pairs), and anything else is decided by the LP of
        :func:`separating_hyperplane` with this oracle's ``tol``, which also decides
        alone where the distance cannot be certified even to 50 % (hulls ~1e-9 R apart,
        below what the nearest-point solvers resolve; seen on POS at MiniLM's embedding
        layer).
        """
        self.stats["lp"] += 1
        try:
            h = hull_distance(P, Q, rtol=0.5, tol_lp=self.tol)
        except SolverError:
            return self._lp_plane(P, Q)
        if not h.separable:
            self.stats["lp_overlap"] += 1
            # A small witness: the supports of the near-common points, proven to
            # intersect by the LP on those few points (else the full sets are the witness).
            sp = np.flatnonzero(h.a_weights > 0)
            sq = np.flatnonzero(h.b_weights > 0)
            if 0 < sp.size < P.shape[0] or 0 < sq.size < Q.shape[0]:
                if sp.size and sq.size and separating_hyperplane(P[sp], Q[sq], tol=self.tol) is None:
                    return sp, sq
            return np.arange(P.shape[0]), np.arange(Q.shape[0])
        w, b = h.normal, h.offset
        pmin, qmax = float((P @ w).min() + b), float((Q @ w).max() + b)
        if not (pmin > 0 > qmax):  # the certificate came from the LP, not the bounds
            return self._lp_plane(P, Q)
        return w, b, pmin, qmax

    def _lp_plane(self, P, Q):
        """The LP's verdict alone: ``(w, b, pmin, qmax)``, or the full sets as witness."""
        plane = separating_hyperplane(P, Q, tol=self.tol)
        if plane is None:
            self.stats["lp_overlap"] += 1
            return np.arange(P.shape[0]), np.arange(Q.shape[0])
        w, b = plane
        return w, b, float((P @ w).min() + b), float((Q @ w).max() + b)

    def centroid_planes(self, XM, cM, Cq, q_members, dist, rmax):
        """Try the centroid-direction plane of M against each Q; boolean ok + planes."""
        return self.direction_planes(XM, cM[None, :] - Cq, q_members, dist, rmax)

    def direction_planes(self, XM, W, q_members, dist, rmax):
        r"""Try the plane normal to ``W[k]`` between M and ``Q_k``, offset-free.

        Returns ``ok`` (certified gap), the unit normals, ``min(XM @ w)`` and
        ``max(X_Q @ w)`` per candidate. Cost :math:`O((|M| k + \sum |Q_k|) d)`.
        """
        W = np.array(W, dtype=np.float64)
        nrm = np.linalg.norm(W, axis=1)
        good = nrm > 0
        W[good] /= nrm[good, None]
        sm = (XM @ W.T).min(axis=0)
        lens = np.array([m.size for m in q_members])
        idx = np.concatenate(q_members)
        seg = np.repeat(np.arange(len(q_members)), lens)
        proj = np.einsum("ij,ij->i", self.X[idx], W[seg])
        starts = np.concatenate(([0], np.cumsum(lens)[:-1]))
        sq = np.maximum.reduceat(proj, starts)
        ok = good & (sm - sq > self._margin(dist, rmax))
        return ok, W, sm, sq


# --------------------------------------------------------------------------------------
# The cluster table used by the greedy phase
# --------------------------------------------------------------------------------------
class _Table:
    """Compact arrays of the active clusters of every label (swap-remove on merge)."""

    def __init__(self, X, eng):
        self.X = X
        nodes, C, r, lab, mem = [], [], [], [], []
        for li, blk in enumerate(eng.blocks):
            for s in np.flatnonzero(blk.ids >= 0):
                m = blk.members[s]
                c = blk.C[s]
                nodes.append(int(blk.ids[s]))
                C.append(c)
                r.append(_radius(X, m, c))
                lab.append(li)
                mem.append(m)
        self.m = len(nodes)
        self.C = np.array(C, dtype=np.float64).reshape(self.m, X.shape[1])
        self.n2 = np.einsum("ij,ij->i", self.C, self.C)
        self.r = np.array(r, dtype=np.float64)
        self.lab = np.array(lab, dtype=np.int64)
        self.node = np.array(nodes, dtype=np.int64)
        self.members = mem
        self.row = {n: i for i, n in enumerate(nodes)}

    def replace(self, a, b, nid, c, rad, mem):
        ia, ib = self.row.pop(a), self.row.pop(b)
        self.C[ia] = c
        self.n2[ia] = c @ c
        self.r[ia] = rad
        self.node[ia] = nid
        self.members[ia] = mem
        self.row[nid] = ia
        last = self.m - 1
        if ib != last:  # move the last row into b's place
            self.C[ib] = self.C[last]
            self.n2[ib] = self.n2[last]
            self.r[ib] = self.r[last]
            self.lab[ib] = self.lab[last]
            self.node[ib] = self.node[last]
            self.members[ib] = self.members[last]
            self.row[int(self.node[ib])] = ib
        self.members.pop()
        self.m = last


def _radius(X, mem, c):
    diff = X[mem] - c
    return float(np.sqrt(np.einsum("ij,ij->i", diff, diff).max()))


# --------------------------------------------------------------------------------------
# The two phases
# --------------------------------------------------------------------------------------
def _merge_ok(X, eng, table, oracle, lab, sa, sb):
    """Check whether merging slots sa, sb of label `lab` keeps every hull disjoint.

    Returns ``(ok, new_planes, cM, rM, mem)``.
    """
    blk = eng.blocks[lab]
    a, b = int(blk.ids[sa]), int(blk.ids[sb])
    if oracle.witness_hit(eng.cur, a, b):
        oracle.stats["witness"] += 1
        return False, None, None, None, None
    ma, mb = blk.members[sa], blk.members[sb]
    mem = np.concatenate((ma, mb))
    na, nb = ma.size, mb.size
    cM = (na * blk.C[sa] + nb * blk.C[sb]) / (na + nb)
    XM = X[mem]
    diff = XM - cM
    rM = float(np.sqrt(np.einsum("ij,ij->i", diff, diff).max()))
    m = table.m
    # 1. Bounding balls, against every active cluster of another label at once.
    d2 = table.n2[:m] + cM @ cM - 2.0 * (table.C[:m] @ cM)
    dist = np.sqrt(np.maximum(d2, 0.0))
    rsum = rM + table.r[:m]
    rmax = np.maximum(rM, table.r[:m])
    # The norm-trick distance can be off by ~eps * |c|^2 / dist; widen the test for it.
    err = 1e-12 * (table.n2[:m] + cM @ cM) / np.maximum(dist, 1e-300)
    meet = (table.lab[:m] != lab) & ~(dist - err > rsum + oracle._margin(dist, rmax))
    rows = np.flatnonzero(meet)
    oracle.stats["ball"] += int(np.count_nonzero(table.lab[:m] != lab)) - rows.size
    new_planes = []
    if rows.size == 0:
        return True, new_planes, cM, rM, mem
    qnodes = table.node[rows]
    pending = np.ones(rows.size, bool)
    # 2. Reuse planes verified for (a, Q) or (b, Q): the other part must lie on the same side.
    for src, other in ((a, mb), (b, ma)):
        idx, planes = [], []
        for i in np.flatnonzero(pending):
            p = oracle._get(src, int(qnodes[i]))
            if p is not None:
                idx.append(i)
                planes.append(p)
        if not idx:
            continue
        W = np.array([p[0] for p in planes])
        bb = np.array([p[1] for p in planes])
        smin = np.minimum(np.array([p[2] for p in planes]), (X[other] @ W.T).min(axis=0) + bb)
        qmax = np.array([p[3] for p in planes])
        idx = np.array(idx)
        # The gap test does not depend on the offset; re-centre it in the margin.
        ok = smin - qmax > oracle._margin(dist[rows[idx]], rmax[rows[idx]])
        for j in np.flatnonzero(ok):
            i = idx[j]
            pending[i] = False
            delta = -0.5 * (smin[j] + qmax[j])
            new_planes.append((int(qnodes[i]), W[j], bb[j] + delta, smin[j] + delta,
                               qmax[j] + delta))
        oracle.stats["plane_reuse"] += int(ok.sum())
    # 2b. Both parts had a plane against Q: try the sum of the two normals.
    both, Ws = [], []
    for i in np.flatnonzero(pending):
        pa = oracle._get(a, int(qnodes[i]))
        pb = oracle._get(b, int(qnodes[i]))
        if pa is not None and pb is not None:
            both.append(i)
            Ws.append(pa[0] + pb[0])
    if both:
        both = np.array(both)
        ok, W, sm, sq = oracle.direction_planes(
            XM, np.array(Ws), [table.members[r] for r in rows[both]], dist[rows[both]],
            rmax[rows[both]])
        for j in np.flatnonzero(ok):
            i = both[j]
            pending[i] = False
            bb = -0.5 * (sm[j] + sq[j])
            new_planes.append((int(qnodes[i]), W[j], bb, sm[j] + bb, sq[j] + bb))
        oracle.stats["plane_reuse"] += int(ok.sum())
    # 3. Centroid-direction planes, batched.
    left = np.flatnonzero(pending)
    if left.size:
        ok, W, sm, sq = oracle.centroid_planes(
            XM, cM, table.C[rows[left]], [table.members[r] for r in rows[left]],
            dist[rows[left]], rmax[rows[left]])
        for j in np.flatnonzero(ok):
            i = left[j]
            pending[i] = False
            bb = -0.5 * (sm[j] + sq[j])
            new_planes.append((int(qnodes[i]), W[j], bb, sm[j] + bb, sq[j] + bb))
        oracle.stats["centroid_plane"] += int(ok.sum())
    # 4. The LP oracle, closest pairs first (the likeliest to overlap: early rejection).
    left = np.flatnonzero(pending)
    for i in left[np.argsort(dist[rows[left]] - rsum[rows[left]], kind="stable")]:
        q = int(qnodes[i])
        mq = table.members[rows[i]]
        res = oracle.lp(XM, X[mq])
        if len(res) == 2:
            oracle.add_witness(mem[res[0]], mq[res[1]])
            return False, None, None, None, None
        new_planes.append((q,) + res)
    return True, new_planes, cM, rM, mem


def _greedy(X, eng, oracle, stats):
    """Greedy phase: check every candidate merge before making it."""
    table = _Table(X, eng)
    while True:
        cand = eng.best()
        if cand is None:
            break
        d2, _, _, lab, sa, sb = cand
        blk = eng.blocks[lab]
        a, b = int(blk.ids[sa]), int(blk.ids[sb])
        ok, planes, cM, rM, mem = _merge_ok(X, eng, table, oracle, lab, sa, sb)
        if not ok:
            eng.reject(lab, sa, sb)
            stats["rejected"] += 1
            continue
        nid = eng.merge(lab, sa, sb, d2)
        table.replace(a, b, nid, blk.C[min(sa, sb)].copy(), rM, mem)
        oracle.forget(a)
        oracle.forget(b)
        for q, w, bb, smin, qmax in planes:
            oracle._store(nid, q, w, bb, smin, qmax)


def _state_summary(X, codes, node):
    """Clusters of a partition given as node id per point."""
    nodes, inv = np.unique(node, return_inverse=True)
    inv = inv.ravel()
    order = np.argsort(inv, kind="stable")
    counts = np.bincount(inv, minlength=nodes.size)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    C = np.add.reduceat(X[order], starts, axis=0) / counts[:, None]
    diff = X - C[inv]
    dd = np.einsum("ij,ij->i", diff, diff)
    r = np.sqrt(np.maximum.reduceat(dd[order], starts))
    lab = codes[order[starts]]
    members = np.split(order, starts[1:])
    return nodes, C, r, lab, members


def _witness_guided(X, node, oracle, n_witnesses=3, max_pairs=4):
    """Look for an overlap where the latest witnesses were found, before a full check.

    Going back along the merge sequence, an overlap found in a later state usually
    survives between the sub-clusters that hold the witness's points; testing those few
    pairs first makes most bad-state checks cost a few oracle calls instead of a full
    all-pairs check. Only ever proves overlap (never separability), so it is exact.
    """
    for P1, P2 in oracle._wit_sides[::-1][:n_witnesses]:
        n1 = np.unique(node[P1])
        n2 = np.unique(node[P2])
        if n1.size * n2.size > max_pairs:
            continue
        for a in n1:
            for b in n2:
                key = (int(min(a, b)), int(max(a, b)))
                if key in oracle.planes:
                    continue
                ma = np.flatnonzero(node == a)
                mb = np.flatnonzero(node == b)
                res = oracle.lp(X[ma], X[mb])
                if len(res) == 2:
                    oracle.add_witness(ma[res[0]], mb[res[1]])
                    return True
                oracle._store(int(a), int(b), *res)
    return False


def _check_state(X, codes, merges, k, oracle, stats):
    """Whether state `k` of a merge record has pairwise disjoint cross-label hulls."""
    stats["state_checks"] += 1
    N = X.shape[0]
    node = partition_from_merges(merges, N, k)
    if oracle.state_hit(node):
        oracle.stats["witness"] += 1
        return False
    if _witness_guided(X, node, oracle):
        return False
    nodes, C, r, lab, members = _state_summary(X, codes, node)
    m = nodes.size
    n2 = np.einsum("ij,ij->i", C, C)
    # Pass 1, by blocks of rows (memory O(block * m), never O(m^2)): bounding balls,
    # cached node pairs, centroid planes. Only the undecided pairs are kept.
    block = max(1, int(1_000_000 // max(m, 1)))
    I, J, S = [], [], []
    cols = np.arange(m)
    for i0 in range(0, m, block):
        i1 = min(m, i0 + block)
        d2 = n2[i0:i1, None] + n2[None, :] - 2.0 * (C[i0:i1] @ C.T)
        dist = np.sqrt(np.maximum(d2, 0.0))
        rs = r[i0:i1, None] + r[None, :]
        rmax = np.maximum(r[i0:i1, None], r[None, :])
        err = 1e-12 * (n2[i0:i1, None] + n2[None, :]) / np.maximum(dist, 1e-300)
        cross = (lab[i0:i1, None] != lab[None, :]) & (cols[i0:i1, None] < cols[None, :])
        meet = cross & ~(dist - err > rs + oracle._margin(dist, rmax))
        ii, jj = np.nonzero(meet)
        oracle.stats["ball"] += int(np.count_nonzero(cross)) - ii.size
        slack = (dist - rs)[ii, jj]
        ii = ii + i0
        del d2, dist, rs, rmax, err, cross, meet
        if ii.size == 0:
            continue
        # Exact node pairs already proven separable (planes cached from earlier states).
        keep = np.array([(int(min(nodes[i], nodes[j])), int(max(nodes[i], nodes[j])))
                         not in oracle.planes for i, j in zip(ii, jj)], dtype=bool)
        oracle.stats["cached_pair"] += int((~keep).sum())
        ii, jj, slack = ii[keep], jj[keep], slack[keep]
        pending = np.ones(ii.size, bool)
        bounds = np.flatnonzero(np.diff(ii)) + 1  # np.nonzero returns rows in order
        for grp in np.split(np.arange(ii.size), bounds):
            if grp.size == 0:
                continue
            i = ii[grp[0]]
            js = jj[grp]
            dd = np.linalg.norm(C[js] - C[i], axis=1)
            ok, _, _, _ = oracle.centroid_planes(X[members[i]], C[i], C[js],
                                                 [members[j] for j in js], dd,
                                                 np.maximum(r[i], r[js]))
            pending[grp[ok]] = False
            oracle.stats["centroid_plane"] += int(ok.sum())
        I.append(ii[pending])
        J.append(jj[pending])
        S.append(slack[pending])
    if not I:
        return True
    I, J, S = np.concatenate(I), np.concatenate(J), np.concatenate(S)
    # Pass 2: the exact oracle, closest pairs first (likeliest to overlap).
    pending = np.ones(I.size, bool)
    left = np.flatnonzero(pending)
    for p in left[np.argsort(S[left], kind="stable")]:
        i, j = I[p], J[p]
        res = oracle.lp(X[members[i]], X[members[j]])
        if len(res) == 2:
            oracle.add_witness(members[i][res[0]], members[j][res[1]])
            return False
        oracle._store(int(nodes[i]), int(nodes[j]), *res)
    return True


def _run_reference(X, codes, n_labels, rate, oracle, stats, timings):
    t0 = time.perf_counter()
    eng = _Agglomerator(X, codes, n_labels)
    while True:
        cand = eng.best()
        if cand is None:
            break
        d2, _, _, lab, sa, sb = cand
        eng.merge(lab, sa, sb, d2)
    merges = eng.merges[:eng.n_merges].copy()
    n = merges.shape[0]
    timings["merge_to_end"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if _check_state(X, codes, merges, n, oracle, stats):
        timings["search"] = time.perf_counter() - t0
        stats["first_bad_state"] = None
        return eng
    # Find the first bad state hi (state 0, all singletons, is good by construction).
    hi, lo = n, 0
    if n >= 1000:
        step = max(1, int(rate * n))
        k = n - step
        while k > 0 and not _check_state(X, codes, merges, k, oracle, stats):
            hi = k
            k -= step
        lo = max(k, 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _check_state(X, codes, merges, mid, oracle, stats):
            lo = mid
        else:
            hi = mid
    stats["first_bad_state"] = hi
    timings["search"] = time.perf_counter() - t0
    logger.debug("first overlapping state %d of %d merges (%d state checks, %.1f s)",
                 hi, n, stats["state_checks"], timings["search"])
    # Hand the search's knowledge to the greedy phase: node ids >= N + lo will be reused.
    N = X.shape[0]

    first_new = N + lo

    # Witnesses are point sets and stay valid; cached planes name nodes, and node ids
    # >= N + lo are reused by the greedy phase for other clusters.
    oracle.purge_from(first_new)
    # Replay the first lo merges (bit-identical to the exact mode's state), then go greedy.
    t0 = time.perf_counter()
    eng = _Agglomerator(X, codes, n_labels)
    for _ in range(lo):
        d2, _, _, lab, sa, sb = eng.best()
        eng.merge(lab, sa, sb, d2)
    _greedy(X, eng, oracle, stats)
    timings["greedy"] = time.perf_counter() - t0
    return eng


def _check_params(mode, rate, tol, on_duplicates, caller):
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


def cluster_labels(X, y, *, mode="reference", rate=0.01, tol=1e-9, on_duplicates="raise"):
    r"""DirectProbe: label-pure clusters with pairwise disjoint cross-label convex hulls.

    Greedy centroid agglomeration within labels: repeatedly take the pair of
    same-label clusters with the closest centroids (over all labels), merge it when the
    merged cluster's hull is disjoint from the hull of every other-label cluster
    (strict linear separability, decided by :func:`hull_distance` certificates and the
    LP of :func:`separating_hyperplane`), else
    discard that pair for good; stop when no pair is left. See the module docstring.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        One label per point (any sortable type).
    mode : {"reference", "exact"}, default="reference"
        ``"exact"`` checks every merge from the start; ``"reference"`` merges to one
        cluster per label first and searches the merge sequence for the first
        overlapping state (the authors' strategy). Both return the same partition
        (see Notes); ``"reference"`` is much faster when the data is (nearly) linear.
    rate : float in (0, 1], default=0.01
        Step of the coarse backward scan, as a fraction of the number of merges
        (used only by ``"reference"`` with 1000 merges or more). It changes only the
        number of states checked, never the result.
    tol : float, default=1e-9
        Relative margin of the separability oracle (see
        :func:`separating_hyperplane`): hulls closer than ``tol`` times the pair's
        radius count as overlapping.
    on_duplicates : {"raise", "drop"}, default="raise"
        Identical points with different labels can never be separated. ``"raise"``
        raises :class:`DuplicatePointsError` listing the index groups; ``"drop"``
        removes every point of those groups (recorded in ``dropped``; their
        ``assignment`` is ``-1``) and warns.

    Returns
    -------
    ClusteringResult

    Raises
    ------
    DuplicatePointsError
        Cross-label duplicates with ``on_duplicates="raise"``; ``.groups`` lists them.
    ValueError
        On invalid input or parameters.
    SolverError
        When the LP solver ends in a status other than optimal.

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
    tests/geometry/geometry_reference_clustering.py: ``cluster_labels_naive``, the slow twin.

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
    _check_params(mode, rate, tol, on_duplicates, "cluster_labels")
    X = check_points(X, name="X", caller="cluster_labels")
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
    oracle = _Oracle(Xk, ck, tol)
    t_start = time.perf_counter()
    if mode == "exact":
        eng = _Agglomerator(Xk, ck, n_labels)
        t0 = time.perf_counter()
        _greedy(Xk, eng, oracle, stats)
        timings["greedy"] = time.perf_counter() - t0
    else:
        eng = _run_reference(Xk, ck, n_labels, rate, oracle, stats, timings)
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
        merge_distances=eng.dists[:eng.n_merges].copy(),
        dropped=dropped,
        n_lp_solved=int(oracle.stats["lp"]),
        stats=stats,
    )


class DirectProbe(BaseEstimator):
    """DirectProbe clustering as a scikit-learn-style estimator.

    Parameters
    ----------
    mode : {"reference", "exact"}, default="reference"
        See :func:`cluster_labels`.
    rate : float, default=0.01
        Coarse-scan step of the reference mode, as a fraction of the merges (the
        fine-tuning paper used 0.05). Never changes the result.
    tol : float, default=1e-9
        Relative margin of the separability oracle.
    on_duplicates : {"raise", "drop"}, default="raise"
        What to do with identical points that carry different labels.
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
    n_lp_solved_ : int
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

    def __init__(self, *, mode="reference", rate=0.01, tol=1e-9, on_duplicates="raise",
                 random_state=None):
        self.mode = mode
        self.rate = rate
        self.tol = tol
        self.on_duplicates = on_duplicates
        self.random_state = random_state

    def fit(self, X, y):
        """Cluster `X` under labels `y`; returns self."""
        res = cluster_labels(X, y, mode=self.mode, rate=self.rate, tol=self.tol,
                             on_duplicates=self.on_duplicates)
        self.result_ = res
        self.assignment_ = res.assignment
        self.cluster_labels_ = res.cluster_labels
        self.labels_ = res.labels
        self.n_clusters_ = res.n_clusters
        self.linear_ = res.linear
        self.n_lp_solved_ = res.n_lp_solved
        self.stats_ = res.stats
        return self

    def fit_predict(self, X, y):
        """Fit and return ``assignment_``."""
        return self.fit(X, y).assignment_
