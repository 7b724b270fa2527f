r"""The overlap oracle of DirectProbe: exact verdicts between clusters, with caches.

For a cluster :math:`M` and a cluster :math:`Q` of another label it decides whether
the two are *separable at the tolerance*: whether the distance between their convex
hulls exceeds ``tol * R``, with ``R`` the radius of the whole run's data about its mean
(:data:`~harness.geometry.separability.SEPARABILITY_TOL`). Because ``R`` is the run's,
supersets of pairs within the tolerance are within it too, which the witnesses below
rely on. Cheap filters come first; each one only ever *proves* separability or *proves*
overlap, so none can change a verdict:

* bounding balls (centroid, largest member distance) that do not meet;
* plane reuse: a plane verified for :math:`(A, Q)` settles :math:`(A \cup B, Q)` when
  :math:`B` lies on :math:`A`'s side of it with the required margin (merging clusters
  of one label never changes the hulls of other labels);
* a centroid-direction plane, checked on every point;
* overlap witnesses: point sets proven to be within the tolerance; any two clusters that
  contain them are too (supersets of sets within ``tol * R`` are).

Everything else goes to the exact oracle, :meth:`Oracle.decide`: the nearest-point
solver of :func:`~harness.geometry.hull_distance.hull_distance`, stopped at the first
certified lower bound above the tolerance (separable) or a pair of points of the two
hulls within it (not), with the LP of
:func:`~harness.geometry.separability.separating_hyperplane` deciding only what it
cannot (a distance within rounding of the tolerance).

The cheap certificates require a certified gap larger than ``tol * R`` plus a relative
rounding margin ``CERT_RTOL``, so they accept only pairs the exact oracle also accepts.
"""

import logging
import time

import numpy as np

from harness.exceptions import SolverError

from .certificates import UNIT_ROUNDOFF, center_and_scale, gamma
from ._plane_store import PlaneStore
from ._projection_kernels import segment_max_dot
from .hull_distance import _hull_distance
from .separability import LPOutOfTime, _separating_hyperplane, lp_deadline

__all__ = ["Oracle", "CERT_RTOL", "PLANE_BUDGET"]

# Memory budget of cached separating hyperplanes (bytes).
PLANE_BUDGET = 256 * 2**20
# Relative safety margin of the cheap (non-LP) certificates against rounding error.
CERT_RTOL = 1e-10
# Seconds between two progress lines of a long DirectProbe run (Oracle.tick).
HEARTBEAT_S = 60.0

logger = logging.getLogger("harness.geometry.clustering")


#: The clock of DirectProbe's time limits: CPU seconds of this process (a loaded machine
#: slows the wall clock, not this one). Tests put a counter of ticks in its place.
CLOCK = time.process_time


class OutOfTime(Exception):
    """Raised by :meth:`Oracle.tick` past the deadline; carries the phases' progress."""


class Oracle:
    """Separability verdicts between clusters of a DirectProbe run, with caches.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        All points of the run (clusters are index arrays into it).
    codes : ndarray of int, shape (n_samples,)
        Label code of each point.
    tol : float
        The separability tolerance, relative to the radius of ``X`` about its mean.

    Notes
    -----
    Caches: planes verified between two nodes (``planes``, capped at
    ``PLANE_BUDGET`` bytes, keyed by node ids, forgotten when a node merges away) and
    overlap witnesses (point sets, valid in every state of every phase). ``stats``
    counts how each check was settled.
    """

    def __init__(self, X, codes, tol):
        self.X = X
        # The cheap certificates project on the globally centred points, so that their
        # rounding is relative to the data's spread, not to its offset from 0.
        self.mean = X.mean(axis=0)
        self.Xc = X - self.mean
        self.xnorm = np.sqrt(np.einsum("ij,ij->i", self.Xc, self.Xc))
        # The R of the tolerance tol * R: the whole run's radius, so that a verdict
        # does not depend on the rest of a pair's clusters, and a superset of sets
        # closer than tol * R is too (what witnesses rely on).
        self.radius = float(self.xnorm.max()) if X.shape[0] else 0.0
        self._zeros = np.zeros(X.shape[0])  # no per-point shift (segment_max_dot)
        self.codes = codes
        self.tol = float(tol)
        self.d = X.shape[1]
        self.planes = PlaneStore(self.d, max(1000, PLANE_BUDGET // (8 * (self.d + 8))))
        self._wit_sides = []  # overlap witnesses: (points of side 1, points of side 2)
        self._wit_flat = None
        self.stats = dict(ball=0, plane_reuse=0, centroid_plane=0, witness=0, oracle_calls=0,
                          oracle_overlaps=0, cached_pair=0)
        self.progress = {}  # what the phases report (phase, merges, state checks)
        self._started = self._last_beat = time.monotonic()
        # The time limit (CPU seconds of this process, on ``clock``) and what the run has
        # proven so far, which the phases keep up to date (cluster_labels' time_limit).
        self.deadline = None
        self.clock = CLOCK
        self.certified = {"linear": None, "n_clusters_at_most": X.shape[0]}

    def tick(self, **progress):
        """Note the phases' progress; log it when ``HEARTBEAT_S`` passed since the last line.

        Called by every candidate check and every exact oracle call, so a run that takes
        minutes says what it is doing at least once a minute (on a Ray worker too: it is
        a log line, not a terminal bar), and stops (:class:`OutOfTime`) past ``deadline``.
        """
        self.progress.update(progress)
        if self.deadline is not None and self.clock() > self.deadline:
            raise OutOfTime(dict(self.progress))
        now = time.monotonic()
        if now - self._last_beat < HEARTBEAT_S:
            return
        self._last_beat = now
        shown = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.progress.items())
        logger.info("DirectProbe on %d points x %d features: %s; %d exact oracle calls "
                    "(%d overlaps), %.0f s", self.X.shape[0], self.d, shown,
                    self.stats["oracle_calls"], self.stats["oracle_overlaps"],
                    now - self._started)

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
        # Required gap: the separability tolerance times the data's radius, plus rounding
        # slack relative to the pair's size (dist + rmax bounds its radius).
        return self.tol * self.radius + CERT_RTOL * (dist + rmax + 1.0)

    def decide(self, P, Q):
        """Run the exact oracle: ``(w, b, pmin, qmax)`` when separable, else a witness
        ``(idx_P, idx_Q)`` of row indices whose hulls are proven to intersect.

        The oracle is :func:`~harness.geometry.hull_distance.hull_distance` stopped
        early (``rtol=0.5``) with this oracle's tolerance and radius: a certified lower
        bound above ``tol * R`` proves separability, a pair of points of the two hulls
        within it proves the opposite, and the LP decides only a distance within
        rounding of the tolerance (or a pair the solver cannot certify at all).
        """
        self.stats["oracle_calls"] += 1
        self.tick()
        # One LP can outlast the whole time limit: it stops at the deadline too.
        with lp_deadline(self.clock, self.deadline):
            try:
                return self._decide(P, Q)
            except LPOutOfTime:
                raise OutOfTime(dict(self.progress)) from None

    def _decide(self, P, Q):
        """:meth:`decide` without its deadline."""
        memo = {}  # the pair's LP answer, shared by every LP call below
        try:
            h = _hull_distance(P, Q, rtol=0.5, tol_lp=self.tol, lp_memo=memo,
                               radius=self.radius)
        except SolverError:
            return self._lp_plane(P, Q, memo)
        if not h.separable:
            self.stats["oracle_overlaps"] += 1
            # A small witness: the supports of the near-common points, when those points
            # are themselves within the tolerance (a pair of points of the two hulls at
            # most tol * R apart); else the full sets are the witness.
            sp = np.flatnonzero(h.a_weights > 0)
            sq = np.flatnonzero(h.b_weights > 0)
            if 0 < sp.size < P.shape[0] or 0 < sq.size < Q.shape[0]:
                if sp.size and sq.size and _pair_length(
                        P[sp], Q[sq], h.a_weights[sp], h.b_weights[sq]) <= self.tol * self.radius:
                    return sp, sq
            return np.arange(P.shape[0]), np.arange(Q.shape[0])
        w, b = h.normal, h.offset
        pmin, qmax = float((P @ w).min() + b), float((Q @ w).max() + b)
        if not (pmin > 0 > qmax):  # the certificate came from the LP, not the bounds
            return self._lp_plane(P, Q, memo)
        return w, b, pmin, qmax

    def _lp_plane(self, P, Q, memo):
        """The LP's verdict alone: ``(w, b, pmin, qmax)``, or the full sets as witness."""
        plane = _separating_hyperplane(P, Q, tol=self.tol, lp_memo=memo, radius=self.radius)
        if plane is None:
            self.stats["oracle_overlaps"] += 1
            return np.arange(P.shape[0]), np.arange(Q.shape[0])
        w, b = plane
        return w, b, float((P @ w).min() + b), float((Q @ w).max() + b)

    def centroid_planes(self, mem, cM, table, rows, dist, rmax):
        r"""Centroid-direction planes of a merged cluster M against clusters Q_k.

        The plane normal to :math:`w_k = c_M - c_k` (centred centroids) separates when

        .. math::

            \min_{x \in M} (x \cdot c_M - x \cdot c_k)
            - \max_{y \in Q_k} (y \cdot c_M - s_y) > \|w_k\| \cdot \text{margin},

        with :math:`s_y = y \cdot c_k` kept per point by the cluster ``table``: the
        points of M are multiplied once with all the centroids, and each :math:`Q_k`'s
        points are read once, in place (:func:`._projection_kernels.segment_max_dot`),
        instead of gathered. Rounding is bounded as in :meth:`centroid_planes_all`.

        Parameters
        ----------
        mem : ndarray of int
            Points of M.
        cM : ndarray of shape (d,)
            Centroid of M (raw coordinates).
        table : ClusterTable
            Active clusters (centred centroids ``Cc``, ``xmax``, ``s``, ``members``).
        rows : ndarray of int, shape (k,)
            Table rows of the clusters Q_k.
        dist, rmax : ndarray of shape (k,)
            Centroid distances and larger radii (for the margin).

        Returns
        -------
        ok : ndarray of bool, shape (k,)
        W : ndarray of shape (k, d)
            Unit normals.
        sm, sq : ndarray of shape (k,)
            Lower bound of :math:`\min_{x \in M} x \cdot w` and upper bound of
            :math:`\max_{y \in Q_k} y \cdot w` (raw coordinates).
        """
        cMc = cM - self.mean
        Cq = table.Cc[rows]
        GM = self.Xc[mem] @ np.vstack([cMc[None, :], Cq]).T
        a_m = (GM[:, :1] - GM[:, 1:]).min(axis=0)
        lens = np.array([table.members[r].size for r in rows], dtype=np.int64)
        idx = np.concatenate([table.members[r] for r in rows]).astype(np.int64)
        starts = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
        b_q = segment_max_dot(self.Xc, idx, starts, np.repeat(cMc[None, :], rows.size, 0),
                              table.s)
        g = gamma(self.Xc.shape[1] + 2)
        nc = np.sqrt(cMc @ cMc) + np.sqrt(np.einsum("ij,ij->i", Cq, Cq))
        e_m = g * self.xnorm[mem].max() * nc + 2 * UNIT_ROUNDOFF * np.abs(a_m)
        e_q = g * table.xmax[rows] * nc + 2 * UNIT_ROUNDOFF * np.abs(b_q)
        W = cMc[None, :] - Cq
        wn = np.sqrt(np.einsum("ij,ij->i", W, W))
        good = wn > 0
        wn_up = wn * (1.0 + gamma(W.shape[1] + 2))
        lo = a_m - e_m  # <= min over M of x . w (centred)
        hi = b_q + e_q  # >= max over Q of y . w (centred)
        ok = good & (lo - hi > wn_up * self._margin(dist, rmax))
        # The unit normals and the bounds on them, back in raw coordinates
        # (x . w = x_c . w + mean . w), for the plane store.
        wn[~good] = 1.0
        W /= wn[:, None]
        shift = W @ self.mean
        return ok, W, lo / wn + shift, hi / wn + shift

    def centroid_planes_all(self, members, Cc, I, J, dist, rmax, *, budget=2**22):
        r"""Centroid-direction planes of many cluster pairs at once: which ones separate.

        For pair :math:`(i, j)` the plane normal to :math:`w = c_i - c_j` (centroids of
        the globally centred points) separates when

        .. math::

            \min_{x \in i} x \cdot w - \max_{y \in j} y \cdot w
            = a_{ij} + a_{ji} > \|w\| \cdot \text{margin},
            \qquad a_{ij} = \min_{x \in i} (x \cdot c_i - x \cdot c_j),

        so every value needed comes from the products :math:`G = X_c C_c^T` of the
        points with the centroids: one matrix product (BLAS-3) per block of clusters,
        instead of one gather of every partner's points per cluster. The rounding of
        :math:`G` is bounded rigorously (Higham's :math:`\gamma_{d+2} \|x\|
        (\|c_i\| + \|c_j\|)` per value, twice, plus the norm of :math:`w`) and
        subtracted before the test.

        Parameters
        ----------
        members : list of ndarray of int
            Point indices of each cluster.
        Cc : ndarray of shape (m, d)
            Centroids of the clusters, globally centred (``C - X.mean(axis=0)``).
        I, J : ndarray of int, shape (p,)
            The pairs to test (cluster indices).
        dist, rmax : ndarray of shape (p,)
            Centroid distance and larger radius of each pair (for the margin).
        budget : int
            Largest number of entries of one block of :math:`G`.

        Returns
        -------
        ok : ndarray of bool, shape (p,)

        Notes
        -----
        Cost :math:`O(n_U m_U d)` for the ``m_U`` clusters involved and their
        ``n_U`` points; memory ``budget`` doubles.
        """
        if I.size == 0:
            return np.zeros(0, bool)
        U = np.unique(np.concatenate([I, J]))
        pos = np.full(Cc.shape[0], -1, np.int64)
        pos[U] = np.arange(U.size)
        CU = Cc[U]
        cnorm = np.sqrt(np.einsum("ij,ij->i", CU, CU))
        # Ordered pairs (source, target): a[src, tgt] = min over src's points.
        src = np.concatenate([I, J])
        tgt = np.concatenate([J, I])
        order = np.argsort(src, kind="stable")
        src, tgt = src[order], tgt[order]
        bounds = np.flatnonzero(np.diff(src)) + 1
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [src.size]))
        a = np.empty(src.size)
        err = np.empty(src.size)
        g = gamma(self.Xc.shape[1] + 2)
        k0 = 0
        while k0 < starts.size:
            # A block of source clusters whose points times |U| fits the budget.
            rows, k1 = [], k0
            total = 0
            while k1 < starts.size:
                mem = members[src[starts[k1]]]
                if rows and (total + mem.size) * U.size > budget:
                    break
                rows.append(mem)
                total += mem.size
                k1 += 1
            idx = np.concatenate(rows)
            G = self.Xc[idx] @ CU.T
            off = 0
            for k in range(k0, k1):
                i = src[starts[k]]
                mem = members[i]
                Gi = G[off:off + mem.size]
                off += mem.size
                ts = tgt[starts[k]:ends[k]]
                a[starts[k]:ends[k]] = (Gi[:, pos[i], None] - Gi[:, pos[ts]]).min(axis=0)
                xmax = self.xnorm[mem].max()
                err[starts[k]:ends[k]] = g * xmax * (cnorm[pos[i]] + cnorm[pos[ts]])
            k0 = k1
        # Back to pair order: the first half of the ordered pairs is (I, J).
        back = np.empty_like(order)
        back[order] = np.arange(order.size)
        p = I.size
        a_ij, a_ji = a[back[:p]], a[back[p:]]
        e = err[back[:p]] + err[back[p:]]
        num = a_ij + a_ji
        num = num - 2.0 * e - 4 * UNIT_ROUNDOFF * (np.abs(a_ij) + np.abs(a_ji))
        W = Cc[I] - Cc[J]
        wn = np.sqrt(np.einsum("ij,ij->i", W, W)) * (1.0 + gamma(Cc.shape[1] + 2))
        return (wn > 0) & (num > wn * self._margin(dist, rmax))

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
        # Each Q_k's points are read in place, not gathered (``X[idx]`` would copy them).
        lens = np.array([m.size for m in q_members], dtype=np.int64)
        idx = np.concatenate(q_members).astype(np.int64)
        starts = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
        sq = segment_max_dot(self.X, idx, starts, W, self._zeros)
        ok = good & (sm - sq > self._margin(dist, rmax))
        return ok, W, sm, sq


def _pair_length(PS, QS, a, b):
    """Upper bound of the distance between conv(PS) and conv(QS) from convex weights.

    ``|a @ PS - b @ QS|``, computed on the centred and scaled points (so that rounding
    is relative to their spread, not to their offset from the origin), plus ``1e-12``
    of their radius for the rounding of the weights and the products (as
    :func:`~harness.geometry.hull_distance.upper_bound`).
    """
    (PC, QC), _, R = center_and_scale(PS, QS)
    return (float(np.linalg.norm(a @ PC - b @ QC)) + 1e-12) * R
