r"""DirectProbe's checked greedy phase: merge a candidate only if no hull overlaps.

From a given state of the agglomeration (:mod:`._agglomeration`), repeatedly take the
next candidate pair of same-label clusters (closest centroids over all labels) and
merge it only when the merged cluster :math:`M = A \cup B` is strictly separable from
every cluster :math:`Q` of every other label,

.. math::

    \operatorname{conv} M \cap \operatorname{conv} Q = \emptyset
    \quad \text{for all } Q \text{ with } \operatorname{label}(Q) \ne
    \operatorname{label}(M);

otherwise the pair is rejected for good. The check (:func:`merge_ok`) runs against all
other-label clusters at once, in the order: overlap witnesses, bounding balls
(vectorised over a :class:`ClusterTable` of the active clusters), reuse of the planes
cached for ``A`` and ``B``, batched centroid-direction planes, and the exact oracle
(:meth:`~harness.geometry._oracle.Oracle.decide`) for the rest, closest pairs first
(the likeliest to overlap, so a rejection comes early). Planes found for the merged
cluster are cached under its new node id.

This phase is all of ``mode="exact"``; ``mode="reference"`` runs it from the last good
state found by the search phase (:mod:`._phase_search`).
"""

import numpy as np

__all__ = ["ClusterTable", "greedy", "merge_ok"]


class ClusterTable:
    """Compact arrays of the active clusters of every label (swap-remove on merge).

    Besides centroids ``C``, squared norms ``n2``, radii ``r``, labels, node ids and
    members, it keeps what the centroid-plane certificate needs
    (:meth:`~harness.geometry._oracle.Oracle.centroid_planes`): the centroids of the
    globally centred points ``Cc``, the largest centred norm of each cluster's points
    ``xmax``, and for every point ``s[y] = y_c . c_c(y)``, its centred coordinates
    projected on its own cluster's centred centroid.
    """

    def __init__(self, X, eng, oracle):
        self.X = X
        self.Xc = oracle.Xc
        self.mean = oracle.mean
        self.xnorm = oracle.xnorm
        self.s = np.zeros(X.shape[0])
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
        self.Cc = self.C - self.mean
        self.xmax = np.empty(self.m)
        for i, m in enumerate(mem):
            self._project(i, m)
        self.r = np.array(r, dtype=np.float64)
        self.lab = np.array(lab, dtype=np.int64)
        self.node = np.array(nodes, dtype=np.int64)
        self.members = mem
        self.row = {n: i for i, n in enumerate(nodes)}

    def _project(self, i, mem):
        self.s[mem] = self.Xc[mem] @ self.Cc[i]
        self.xmax[i] = self.xnorm[mem].max()

    def replace(self, a, b, nid, c, rad, mem):
        ia, ib = self.row.pop(a), self.row.pop(b)
        self.C[ia] = c
        self.n2[ia] = c @ c
        self.Cc[ia] = c - self.mean
        self._project(ia, mem)
        self.r[ia] = rad
        self.node[ia] = nid
        self.members[ia] = mem
        self.row[nid] = ia
        last = self.m - 1
        if ib != last:  # move the last row into b's place
            self.C[ib] = self.C[last]
            self.n2[ib] = self.n2[last]
            self.Cc[ib] = self.Cc[last]
            self.xmax[ib] = self.xmax[last]
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



def merge_ok(X, eng, table, oracle, lab, sa, sb):
    """Check whether merging slots sa, sb of label `lab` keeps every hull disjoint.

    Returns ``(ok, planes, cM, rM, mem)``; ``planes`` are the verified planes of the
    merged cluster against the other clusters it was checked against, as arrays
    ``(nodes, W, b, min over M, max over Q)``, for the plane store.
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
    if rows.size == 0:
        return True, _no_planes(X.shape[1]), cM, rM, mem
    qnodes = table.node[rows]
    pending = np.ones(rows.size, bool)
    found_planes = []  # (rows into qnodes, W, b, min over M, max over Q), per step
    # 2. Reuse planes verified for (a, Q) or (b, Q): the other part must lie on the same side.
    for src, other in ((a, mb), (b, ma)):
        idx = np.flatnonzero(pending)
        found, W, bb, smin, qmax = oracle.planes.get_many(src, qnodes[idx])
        if not found.any():
            continue
        idx = idx[found]
        smin = np.minimum(smin, (X[other] @ W.T).min(axis=0) + bb)
        # The gap test does not depend on the offset; re-centre it in the margin.
        ok = smin - qmax > oracle._margin(dist[rows[idx]], rmax[rows[idx]])
        pending[idx[ok]] = False
        delta = -0.5 * (smin[ok] + qmax[ok])
        found_planes.append((idx[ok], W[ok], bb[ok] + delta, smin[ok] + delta, qmax[ok] + delta))
        oracle.stats["plane_reuse"] += int(ok.sum())
    # 2b. Both parts had a plane against Q: try the sum of the two normals.
    idx = np.flatnonzero(pending)
    fa, Wa, _, _, _ = oracle.planes.get_many(a, qnodes[idx])
    fb, Wb, _, _, _ = oracle.planes.get_many(b, qnodes[idx])
    if fa.any() and fb.any():
        both = fa & fb
        Ws = Wa[both[fa]] + Wb[both[fb]]
        both = idx[both]
        if both.size:
            oracle.stats["plane_reuse"] += _accept(
                found_planes, pending, both,
                *oracle.direction_planes(XM, Ws, [table.members[r] for r in rows[both]],
                                         dist[rows[both]], rmax[rows[both]]))
    # 3. Centroid-direction planes, batched.
    left = np.flatnonzero(pending)
    if left.size:
        oracle.stats["centroid_plane"] += _accept(
            found_planes, pending, left,
            *oracle.centroid_planes(mem, cM, table, rows[left], dist[rows[left]],
                                    rmax[rows[left]]))
    # 4. The LP oracle, closest pairs first (the likeliest to overlap: early rejection).
    left = np.flatnonzero(pending)
    decided = []
    for i in left[np.argsort(dist[rows[left]] - rsum[rows[left]], kind="stable")]:
        mq = table.members[rows[i]]
        res = oracle.decide(XM, X[mq])
        if len(res) == 2:
            oracle.add_witness(mem[res[0]], mq[res[1]])
            return False, None, None, None, None
        decided.append((i,) + tuple(res))
    if decided:
        found_planes.append((np.array([t[0] for t in decided]),
                             np.array([t[1] for t in decided]),
                             np.array([t[2] for t in decided]),
                             np.array([t[3] for t in decided]),
                             np.array([t[4] for t in decided])))
    if not found_planes:
        return True, _no_planes(X.shape[1]), cM, rM, mem
    i, W, bb, sm, sq = (np.concatenate(parts) for parts in zip(*found_planes))
    return True, (qnodes[i], W, bb, sm, sq), cM, rM, mem


def _accept(found_planes, pending, idx, ok, W, sm, sq):
    """Record the planes that passed (``ok``) for rows ``idx``, offset to the middle of
    their margin; returns how many passed."""
    pending[idx[ok]] = False
    bb = -0.5 * (sm[ok] + sq[ok])
    found_planes.append((idx[ok], W[ok], bb, sm[ok] + bb, sq[ok] + bb))
    return int(ok.sum())


def _no_planes(d):
    return (np.empty(0, np.int64), np.empty((0, d)), np.empty(0), np.empty(0), np.empty(0))


def greedy(X, eng, oracle, stats):
    """Greedy phase: check every candidate merge before making it."""
    table = ClusterTable(X, eng, oracle)
    while True:
        cand = eng.best()
        if cand is None:
            break
        d2, _, _, lab, sa, sb = cand
        blk = eng.blocks[lab]
        a, b = int(blk.ids[sa]), int(blk.ids[sb])
        # Greedy merges only: the final count is at most the current one.
        oracle.certified["n_clusters_at_most"] = X.shape[0] - eng.n_merges
        oracle.tick(phase="greedy", merges=eng.n_merges, rejected=stats["rejected"])
        ok, planes, cM, rM, mem = merge_ok(X, eng, table, oracle, lab, sa, sb)
        if not ok:
            eng.reject(lab, sa, sb)
            stats["rejected"] += 1
            continue
        nid = eng.merge(lab, sa, sb, d2)
        table.replace(a, b, nid, blk.C[min(sa, sb)].copy(), rM, mem)
        oracle.planes.forget(a)
        oracle.planes.forget(b)
        oracle.planes.put_many(nid, *planes)

