r"""DirectProbe's search phase: the first overlapping state of the merge-to-end sequence.

The authors' strategy (``mode="reference"``): merge every label down to one cluster
without any check, recording the merges; if that end state has no overlap, stop (the
*linear* case). Otherwise locate the first overlapping state in the recorded sequence
and hand the last good one to the checked greedy phase (:mod:`._phase_greedy`).

Clusters only grow along the sequence, so overlap is monotone in it: an overlapping
pair of clusters keeps overlapping in every later state (supersets of intersecting sets
intersect). State 0 (singletons) is good, the end state is bad, and a binary search
finds the first bad state exactly; with 1,000 merges or more it is preceded by a coarse
backward scan with a step of ``rate`` times the number of merges, as the authors do.
The first bad state is therefore the first merge the exact mode would reject, and both
modes continue from the same state.

A state check (:func:`check_state`) rebuilds the partition from the merge record in
:math:`O(n)` (:func:`~harness.geometry._agglomeration.partition_from_merges`), tries the
recent overlap witnesses first (:func:`witness_guided`), then runs every cross-label
pair of clusters through bounding balls (in blocks of rows, never an :math:`m \times m`
matrix), cached planes, batched centroid-direction planes and the exact oracle.
"""

import numpy as np

from ._agglomeration import partition_from_merges

__all__ = ["check_state", "state_summary", "witness_guided"]


def state_summary(X, codes, node):
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


def witness_guided(X, node, oracle, n_witnesses=3, max_pairs=4):
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
                res = oracle.decide(X[ma], X[mb])
                if len(res) == 2:
                    oracle.add_witness(ma[res[0]], mb[res[1]])
                    return True
                oracle.planes.put(int(a), int(b), *res)
    return False


def check_state(X, codes, merges, k, oracle, stats):
    """Whether state `k` of a merge record has pairwise disjoint cross-label hulls."""
    stats["state_checks"] += 1
    oracle.tick(phase="search for the first overlapping state", state=f"{k} of {len(merges)}",
                state_checks=stats["state_checks"])
    N = X.shape[0]
    node = partition_from_merges(merges, N, k)
    if oracle.state_hit(node):
        oracle.stats["witness"] += 1
        return False
    if witness_guided(X, node, oracle):
        return False
    nodes, C, r, lab, members = state_summary(X, codes, node)
    m = nodes.size
    n2 = np.einsum("ij,ij->i", C, C)
    Cc = C - oracle.mean
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
        dd = np.linalg.norm(C[ii] - C[jj], axis=1)
        ok = oracle.centroid_planes_all(members, Cc, ii, jj, dd, np.maximum(r[ii], r[jj]))
        pending = ~ok
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
        res = oracle.decide(X[members[i]], X[members[j]])
        if len(res) == 2:
            oracle.add_witness(members[i][res[0]], members[j][res[1]])
            return False
        oracle.planes.put(int(nodes[i]), int(nodes[j]), *res)
    return True

