r"""The overlap oracle of DirectProbe: exact verdicts between clusters, with caches.

For a cluster :math:`M` and a cluster :math:`Q` of another label it decides whether
:math:`\operatorname{conv} M \cap \operatorname{conv} Q = \emptyset` (strict linear
separability). Cheap filters come first; each one only ever *proves* separability or
*proves* overlap, so none can change a verdict:

* bounding balls (centroid, largest member distance) that do not meet;
* plane reuse: a plane verified for :math:`(A, Q)` settles :math:`(A \cup B, Q)` when
  :math:`B` lies on :math:`A`'s side of it with the required margin (merging clusters
  of one label never changes the hulls of other labels);
* a centroid-direction plane, checked on every point;
* overlap witnesses: point sets proven to overlap; any two clusters that contain them
  overlap (supersets of intersecting sets intersect).

Everything else goes to the exact oracle, :meth:`Oracle.decide`: the nearest-point
solver of :func:`~harness.geometry.hull_distance.hull_distance` stopped at the first
certified positive lower bound (a proof of separability), with the LP of
:func:`~harness.geometry.separability.separating_hyperplane` deciding what it cannot.

The cheap certificates require a certified gap larger than ``tol * R_ub``
(``R_ub`` an upper bound of the pair's radius about its mean) plus a relative rounding
margin ``CERT_RTOL``, so they accept only pairs the LP oracle also accepts (up to its
own tolerance band).
"""

import numpy as np

from harness.exceptions import SolverError

from .certificates import center_and_scale
from .hull_distance import hull_distance
from .separability import separating_hyperplane

__all__ = ["Oracle", "CERT_RTOL", "PLANE_BUDGET"]

# Memory budget of cached separating hyperplanes (bytes).
PLANE_BUDGET = 256 * 2**20
# Relative safety margin of the cheap (non-LP) certificates against rounding error.
CERT_RTOL = 1e-10


class Oracle:
    """Separability verdicts between clusters of a DirectProbe run, with caches.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        All points of the run (clusters are index arrays into it).
    codes : ndarray of int, shape (n_samples,)
        Label code of each point.
    tol : float
        The LP oracle's relative margin (see
        :func:`~harness.geometry.separability.separating_hyperplane`).

    Notes
    -----
    Caches: planes verified between two nodes (``planes``, capped at
    ``PLANE_BUDGET`` bytes, keyed by node ids, forgotten when a node merges away) and
    overlap witnesses (point sets, valid in every state of every phase). ``stats``
    counts how each check was settled.
    """

    def __init__(self, X, codes, tol):
        self.X = X
        self.codes = codes
        self.tol = float(tol)
        self.d = X.shape[1]
        self.planes = {}  # (lo node, hi node) -> (w, b, min over lo side, max over hi side)
        self.partners = {}  # node -> set of nodes with a stored plane
        self.max_planes = max(1000, PLANE_BUDGET // (8 * (self.d + 8)))
        self._wit_sides = []  # overlap witnesses: (points of side 1, points of side 2)
        self._wit_flat = None
        self.stats = dict(ball=0, plane_reuse=0, centroid_plane=0, witness=0, oracle_calls=0,
                          oracle_overlaps=0, cached_pair=0)

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
        return self.tol * R + CERT_RTOL * (R + 1.0)

    def decide(self, P, Q):
        """Run the exact oracle: ``(w, b, pmin, qmax)`` when separable, else a witness
        ``(idx_P, idx_Q)`` of row indices whose hulls are proven to intersect.

        The oracle is :func:`~harness.geometry.hull_distance.hull_distance` stopped
        early (``rtol=0.5``): a certified
        positive lower bound proves separability (usually far faster than the LP on
        large pairs), and anything else is decided by the LP of
        :func:`~harness.geometry.separability.separating_hyperplane` with this oracle's
        ``tol``, which also decides
        alone where the distance cannot be certified even to 50 % (hulls ~1e-9 R apart,
        below what the nearest-point solvers resolve; seen on POS at MiniLM's embedding
        layer).
        """
        self.stats["oracle_calls"] += 1
        try:
            h = hull_distance(P, Q, rtol=0.5, tol_lp=self.tol)
        except SolverError:
            return self._lp_plane(P, Q)
        if not h.separable:
            self.stats["oracle_overlaps"] += 1
            # A small witness: the supports of the near-common points, proven to
            # intersect by the LP on those few points (else the full sets are the witness).
            sp = np.flatnonzero(h.a_weights > 0)
            sq = np.flatnonzero(h.b_weights > 0)
            if 0 < sp.size < P.shape[0] or 0 < sq.size < Q.shape[0]:
                if sp.size and sq.size and separating_hyperplane(
                        P[sp], Q[sq], tol=self.tol,
                        upper_bound=_pair_length(P[sp], Q[sq], h.a_weights[sp],
                                                 h.b_weights[sq])) is None:
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
            self.stats["oracle_overlaps"] += 1
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


def _pair_length(PS, QS, a, b):
    """Upper bound of the distance between conv(PS) and conv(QS) from convex weights.

    ``|a @ PS - b @ QS|``, computed on the centred and scaled points (so that rounding
    is relative to their spread, not to their offset from the origin), plus ``1e-12``
    of their radius for the rounding of the weights and the products (as
    :func:`~harness.geometry.hull_distance.upper_bound`).
    """
    (PC, QC), _, R = center_and_scale(PS, QS)
    return (float(np.linalg.norm(a @ PC - b @ QC)) + 1e-12) * R
