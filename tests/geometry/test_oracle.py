"""Tests of DirectProbe's overlap oracle (harness.geometry._oracle) and its kernels."""

import numpy as np
import pytest

from harness.geometry._oracle import Oracle
from harness.geometry._phase_greedy import ClusterTable
from harness.geometry._agglomeration import Agglomerator
from harness.geometry._projection_kernels import segment_max_dot


def test_segment_max_dot_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((50, 7))
    shift = rng.standard_normal(50)
    segs = [rng.choice(50, size=k, replace=False) for k in (1, 5, 17, 3)]
    idx = np.concatenate(segs).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum([s.size for s in segs]))).astype(np.int64)
    W = rng.standard_normal((len(segs), 7))
    out = segment_max_dot(X, idx, starts, W, shift)
    expected = [max(X[i] @ W[j] - shift[i] for i in seg) for j, seg in enumerate(segs)]
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)
    empty = segment_max_dot(X, idx[:0], np.zeros(2, np.int64), W[:1], shift)
    assert empty[0] == -np.inf


def _clusters(seed, offset=0.0):
    """Six small Gaussian clusters, some far apart, some overlapping, far from 0."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((6, 5)) * np.array([6, 6, 0.5, 6, 0.5, 6])[:, None]
    members = [np.arange(10 * k, 10 * k + 10) for k in range(6)]
    X = np.vstack([c + rng.standard_normal((10, 5)) for c in centers]) + offset
    return X, members


def _plain_centroid_gap(X, members, i, j):
    ci, cj = X[members[i]].mean(0), X[members[j]].mean(0)
    w = (ci - cj) / np.linalg.norm(ci - cj)
    return (X[members[i]] @ w).min() - (X[members[j]] @ w).max()


@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_centroid_planes_of_all_pairs_are_certified(seed, offset):
    # One matrix product for all pairs: every accepted pair separates in plain float
    # arithmetic by more than the margin, and pairs clearly above it are accepted.
    X, members = _clusters(seed, offset)
    oracle = Oracle(X, np.zeros(len(X), np.int64), 1e-9)
    C = np.array([X[m].mean(0) for m in members])
    I, J = np.triu_indices(6, 1)
    dist = np.linalg.norm(C[I] - C[J], axis=1)
    r = np.array([np.linalg.norm(X[m] - X[m].mean(0), axis=1).max() for m in members])
    rmax = np.maximum(r[I], r[J])
    ok = oracle.centroid_planes_all(members, C - oracle.mean, I, J, dist, rmax, budget=64)
    gaps = np.array([_plain_centroid_gap(X, members, i, j) for i, j in zip(I, J)])
    margin = oracle._margin(dist, rmax)
    assert np.all(gaps[ok] > margin[ok])
    assert np.all(ok[gaps > margin + 1e-6 * (1 + offset)])
    assert ok.any() and not ok.all()


@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_greedy_centroid_planes_are_certified(seed, offset):
    # The greedy phase's variant (one merged cluster against several others, each
    # cluster's points read in place): the same decisions and valid plane bounds.
    X, members = _clusters(seed, offset)
    y = np.repeat(np.arange(6), 10)
    oracle = Oracle(X, y, 1e-9)
    eng = Agglomerator(X, y, 6)
    eng.run()  # each label to one cluster
    table = ClusterTable(X, eng, oracle)
    row0 = table.row[int(eng.cur[members[0][0]])]
    rows = np.array([table.row[int(eng.cur[members[k][0]])] for k in range(1, 6)])
    mem = table.members[row0]
    cM = table.C[row0]
    dist = np.linalg.norm(table.C[rows] - cM, axis=1)
    rmax = np.maximum(table.r[rows], table.r[row0])
    ok, W, sm, sq = oracle.centroid_planes(mem, cM, table, rows, dist, rmax)
    gaps = np.array([_plain_centroid_gap(X, members, 0, k) for k in range(1, 6)])
    margin = oracle._margin(dist, rmax)
    assert np.all(gaps[ok] > margin[ok])
    assert np.all(ok[gaps > margin + 1e-6 * (1 + offset)])
    # The bounds stored with a plane enclose the two clusters' projections.
    for k, row in enumerate(rows):
        np.testing.assert_allclose(np.linalg.norm(W[k]), 1.0)
        slack = 1e-9 * (1 + offset)
        assert (X[mem] @ W[k]).min() >= sm[k] - slack
        assert (X[table.members[row]] @ W[k]).max() <= sq[k] + slack


def test_plane_store_matches_a_dictionary_of_planes(seed):
    # Random puts (one by one and in blocks), forgets and purges against a plain dict
    # of oriented planes: every read in either orientation agrees.
    from harness.geometry._plane_store import PlaneStore

    rng = np.random.default_rng(seed)
    d = 4
    store, model = PlaneStore(d, max_planes=10_000), {}

    def put(x, y, w, b, lo, hi):
        model[(x, y)] = (w, b, lo, hi)
        model[(y, x)] = (-w, -b, -hi, -lo)

    next_id = 50
    for step in range(300):
        kind = rng.integers(4)
        if kind == 0:
            x, y = rng.choice(next_id, 2, replace=False).tolist()
            w, b = rng.standard_normal(d), rng.standard_normal()
            lo, hi = rng.random() + 0.1, -rng.random() - 0.1
            store.put(x, y, w, b, lo, hi)
            put(x, y, w, b, lo, hi)
        elif kind == 1:  # a new node with planes against several others
            x = next_id
            next_id += 1
            ys = rng.choice(x, rng.integers(1, 6), replace=False)
            W, b = rng.standard_normal((ys.size, d)), rng.standard_normal(ys.size)
            lo, hi = rng.random(ys.size) + 0.1, -rng.random(ys.size) - 0.1
            store.put_many(x, ys, W, b, lo, hi)
            for k, y in enumerate(ys.tolist()):
                put(x, y, W[k], b[k], lo[k], hi[k])
        elif kind == 2:
            node = int(rng.integers(next_id))
            store.forget(node)
            for key in [k for k in model if node in k]:
                del model[key]
        else:
            x = int(rng.integers(next_id))
            ys = rng.choice(next_id, 8, replace=False)
            found, W, b, lo, hi = store.get_many(x, ys)
            expect = [(x, int(y)) in model for y in ys]
            assert found.tolist() == expect
            for k, y in enumerate(ys[found].tolist()):
                mw, mb, mlo, mhi = model[(x, y)]
                np.testing.assert_array_equal(W[k], mw)
                assert (b[k], lo[k], hi[k]) == (mb, mlo, mhi)
                assert ((x, y) in store) and ((y, x) in store)
    assert len(store) == len(model) // 2
    store.purge_from(25)
    for key in [k for k in model if max(k) >= 25]:
        del model[key]
    assert len(store) == len(model) // 2
    for (x, y), plane in model.items():
        got = store.get(x, y)
        np.testing.assert_array_equal(got[0], plane[0])
        assert tuple(got[1:]) == plane[1:]
