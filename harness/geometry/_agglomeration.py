r"""Centroid-linkage agglomeration within labels, globally ordered, with rejections.

The merge engine of DirectProbe. Clusters of one label merge by *centroid linkage*: the
candidate is the pair of same-label clusters whose centroids are closest, over all
labels at once; a candidate the caller rejects is blacklisted for good (its two
clusters may still merge with others). Without rejections this is, per label, SciPy's
``linkage(method="centroid")`` merge sequence (up to ties and rounding), interleaved
across labels in the order of the merge distances.

Distances are kept squared. When a label's matrix fits the memory budget
(``DENSE_BUDGET``, smallest labels first), the row of a merged cluster
:math:`A \cup B` comes from the Lance-Williams update for centroid linkage on squared
distances, exact in exact arithmetic:

.. math::

    d^2(A \cup B, Q) = \frac{n_A\, d^2(A, Q) + n_B\, d^2(B, Q)}{n_A + n_B}
    - \frac{n_A n_B\, d^2(A, B)}{(n_A + n_B)^2}

(clipped at 0 against rounding); other labels recompute rows from the centroids. For
every active cluster the engine keeps its nearest non-blacklisted partner (Müllner's
generic algorithm with nearest-neighbour lists); a partner lost to a merge or a
rejection leaves a *stale* lower bound, recomputed only when it reaches the front.

Tie rule: among pairs with equal computed squared distance, the smallest
``(min node id, max node id)`` wins; point ``i`` is node ``i`` and the ``k``-th
accepted merge creates node ``n_samples + k``.

Merges are recorded as SciPy's ``Z[:, :2]`` (row ``i`` merges two nodes into node
``n_samples + i``); :func:`partition_from_merges` rebuilds any state in :math:`O(n)`.

References
----------
D. Müllner, "Modern hierarchical, agglomerative clustering algorithms",
arXiv:1109.2378 (2011). G. N. Lance and W. T. Williams, "A general theory of
classificatory sorting strategies", The Computer Journal 9 (1967).
"""

import numpy as np
from scipy.spatial.distance import cdist, pdist, squareform

__all__ = ["Agglomerator", "partition_from_merges", "DENSE_BUDGET"]

# Memory budget of the dense per-label centroid-distance matrices (bytes); labels that
# do not fit are handled without a matrix (distances recomputed from centroids).
DENSE_BUDGET = 512 * 2**20


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


class Agglomerator:
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
        budget = DENSE_BUDGET if dense_budget is None else dense_budget
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

    def run(self, n_merges=None):
        """Make the next ``n_merges`` candidate merges without checks (all if None)."""
        done = 0
        while n_merges is None or done < n_merges:
            cand = self.best()
            if cand is None:
                break
            d2, _, _, lab, sa, sb = cand
            self.merge(lab, sa, sb, d2)
            done += 1

    def reject(self, lab, sa, sb):
        """Discard the pair (`sa`, `sb`) of label `lab` for good."""
        blk = self.blocks[lab]
        blk.black.setdefault(sa, set()).add(sb)
        blk.black.setdefault(sb, set()).add(sa)
        blk.stale[sa] = True  # nd stays a valid lower bound
        blk.stale[sb] = True
        self._update_best(blk)

