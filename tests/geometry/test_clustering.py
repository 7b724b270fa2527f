"""DirectProbe clustering: properties, the slow twin, modes, degenerate inputs."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

import harness.geometry._agglomeration as agglomeration_mod
import harness.geometry._oracle as oracle_mod
from harness.exceptions import DuplicatePointsError, HarnessWarning
from harness.geometry.clustering import (
    DirectProbe,
    cluster_labels,
    find_cross_label_duplicates,
    partition_from_merges,
)

from geometry_reference_clustering import cluster_labels_naive, separable_lp


def partition(assignment):
    """The partition as a sorted list of sorted index tuples (ignores -1)."""
    groups = {}
    for i, c in enumerate(assignment):
        if c >= 0:
            groups.setdefault(int(c), []).append(i)
    return sorted(tuple(g) for g in groups.values())


def check_valid(X, y, res):
    """Label-pure clusters, pairwise separable across labels by an independent LP."""
    y = np.asarray(y)
    a = res.assignment
    assert a.shape == (len(X),)
    assert res.n_clusters == len(res.cluster_labels) == a.max() + 1
    for c in range(res.n_clusters):
        assert set(y[a == c].tolist()) == {res.cluster_labels[c]}
    for c1 in range(res.n_clusters):
        for c2 in range(c1 + 1, res.n_clusters):
            if res.cluster_labels[c1] != res.cluster_labels[c2]:
                assert separable_lp(X[a == c1], X[a == c2]), (c1, c2)
    assert res.linear == (res.n_clusters == len(np.unique(y)))


def overlapping(seed, n=40, d=2, k=3, spread=1.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=spread, size=(k, d))
    y = rng.integers(0, k, n)
    return centers[y] + rng.normal(size=(n, d)), y


# ----------------------------------------------------------------------------------
# Core properties
# ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["exact", "reference"])
@pytest.mark.parametrize("seed", range(4))
def test_valid_on_overlapping_data(mode, seed):
    # Clusters are label-pure and every cross-label pair is separable (independent LP).
    X, y = overlapping(seed, n=50, d=3)
    res = cluster_labels(X, y, mode=mode)
    check_valid(X, y, res)
    assert not res.linear


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(2, 25), d=st.integers(1, 4),
       k=st.integers(1, 3))
def test_naive_twin_and_modes_agree(seed, n, d, k):
    # The slow twin (recomputes everything, plain LP) gives the same partition as the
    # exact mode, and the reference mode gives the same partition as the exact mode.
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = rng.integers(0, k, n)
    exact = cluster_labels(X, y, mode="exact")
    ref = cluster_labels(X, y, mode="reference")
    naive = cluster_labels_naive(X, y)
    assert partition(exact.assignment) == naive
    assert partition(ref.assignment) == naive
    check_valid(X, y, exact)


def test_well_separated_labels_give_one_cluster_per_label():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(40, 6)) + 20 * i for i in range(4)])
    y = np.repeat(["d", "a", "c", "b"], 40)
    for mode in ("exact", "reference"):
        res = cluster_labels(X, y, mode=mode)
        assert res.linear and res.n_clusters == 4
        assert res.labels.tolist() == ["a", "b", "c", "d"]
        assert res.cluster_labels.tolist() == ["a", "b", "c", "d"]
        assert partition(res.assignment) == partition(np.unique(y, return_inverse=True)[1])
    # The linear case is decided from the end state alone, without any greedy step,
    # in both modes (every merge would pass its check).
    for mode in ("reference", "exact"):
        res = cluster_labels(X, y, mode=mode)
        assert res.stats["state_checks"] == 1 and res.stats["first_bad_state"] is None
        assert "greedy" not in res.stats["timings"]


@pytest.mark.parametrize("seed", [0, 1])
def test_modes_agree_with_coarse_scan(seed):
    # >= 1000 merges triggers the coarse backward scan; the result must not change,
    # whatever the rate.
    rng = np.random.default_rng(seed)
    n = 1100
    y = rng.integers(0, 4, n)
    X = rng.normal(size=(n, 6)) + 4.0 * np.eye(6)[y]
    X[:3] = X[3:6] + 0.01  # a few cross-label near neighbours
    exact = cluster_labels(X, y, mode="exact")
    for rate in (0.01, 0.2):
        ref = cluster_labels(X, y, mode="reference", rate=rate)
        assert ref.stats["first_bad_state"] is not None
        assert partition(ref.assignment) == partition(exact.assignment)
    assert exact.n_clusters > 4


def test_input_order_invariance():
    # Without exact distance ties, permuting the points permutes the answer.
    X, y = overlapping(3, n=60, d=3)
    base = partition(cluster_labels(X, y).assignment)
    perm = np.random.default_rng(1).permutation(len(X))
    res = cluster_labels(X[perm], y[perm])
    back = sorted(tuple(sorted(int(perm[i]) for i in g)) for g in partition(res.assignment))
    assert back == base


def test_translation_rotation_invariance():
    X, y = overlapping(5, n=40, d=3)
    base = partition(cluster_labels(X, y).assignment)
    Q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(3, 3)))
    assert partition(cluster_labels(X @ Q + 7.0, y).assignment) == base


def test_dense_and_direct_distance_paths_agree(monkeypatch):
    X, y = overlapping(7, n=60, d=4)
    dense = cluster_labels(X, y, mode="exact")
    monkeypatch.setattr(agglomeration_mod, "DENSE_BUDGET", 0)
    direct = cluster_labels(X, y, mode="exact")
    assert partition(direct.assignment) == partition(dense.assignment)


def test_oracle_falls_back_to_the_lp_when_the_distance_cannot_be_certified(monkeypatch):
    # hull_distance raises SolverError for hulls ~1e-9 R apart (POS at MiniLM's
    # embedding layer); the oracle then takes the LP's verdict alone. Simulated by a
    # hull_distance that always raises: the partition equals the normal one.
    from harness.exceptions import SolverError

    X, y = overlapping(3, n=50, d=3)
    expected = partition(cluster_labels(X, y).assignment)

    def uncertifiable(*args, **kwargs):
        raise SolverError("hull_distance did not certify the distance (simulated)")

    monkeypatch.setattr(oracle_mod, "_hull_distance", uncertifiable)
    res = cluster_labels(X, y)
    check_valid(X, y, res)
    assert partition(res.assignment) == expected


def test_merge_record_reconstructs_states():
    X, y = overlapping(2, n=30, d=2)
    res = cluster_labels(X, y, mode="exact")
    n = len(X)
    node = partition_from_merges(res.merges, n)
    assert partition(np.unique(node, return_inverse=True)[1]) == partition(res.assignment)
    assert np.array_equal(partition_from_merges(res.merges, n, 0), np.arange(n))
    assert res.merges.shape == (n - res.n_clusters, 2)
    assert np.all(res.merges[:, 0] < res.merges[:, 1])


# ----------------------------------------------------------------------------------
# Degenerate inputs
# ----------------------------------------------------------------------------------
def test_cross_label_duplicates_raise_with_indices():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [2.0, 2.0], [1.0, 1.0], [-0.0, 0.0]])
    y = ["a", "b", "b", "a", "b", "a"]
    with pytest.raises(DuplicatePointsError) as info:
        cluster_labels(X, y)
    assert info.value.groups == [[0, 2, 5]]
    assert "[0, 2, 5]" in str(info.value)
    assert find_cross_label_duplicates(X, y) == [[0, 2, 5]]


def test_cross_label_duplicates_can_be_dropped_explicitly():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [5.0, 0.0], [6.0, 0.0]])
    y = [0, 0, 1, 1, 1]
    with pytest.warns(HarnessWarning, match="Dropped 2 points"):
        res = cluster_labels(X, y, on_duplicates="drop")
    assert res.dropped.tolist() == [0, 2]
    assert res.assignment.tolist() == [-1, 0, -1, 1, 1]
    assert res.linear


def test_same_label_duplicates_are_fine():
    X = np.array([[0.0, 0.0]] * 4 + [[3.0, 0.0]] * 3)
    y = [0, 0, 0, 0, 1, 1, 1]
    for mode in ("exact", "reference"):
        res = cluster_labels(X, y, mode=mode)
        assert res.n_clusters == 2 and res.linear


def test_touching_hulls_are_overlap():
    # b's point (1, 0) lies on the segment between a's points: a cannot be merged.
    X = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    y = ["a", "a", "b", "b"]
    for mode in ("exact", "reference"):
        res = cluster_labels(X, y, mode=mode)
        assert res.n_clusters == 3
        assert partition(res.assignment) == [(0,), (1,), (2, 3)]


def test_collinear_alternating_labels_stay_singletons():
    X = np.arange(8, dtype=float)[:, None] * np.array([[1.0, 2.0, 3.0]])
    y = np.arange(8) % 2
    res = cluster_labels(X, y, mode="reference")
    assert res.n_clusters == 8
    check_valid(X, y, res)


def test_more_dimensions_than_points_is_linear():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 40))
    y = rng.integers(0, 3, 12)
    res = cluster_labels(X, y)
    assert res.linear  # generic points in d > n are always separable


def test_single_point_per_label_and_single_point():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
    res = cluster_labels(X, ["x", "y", "z"])
    assert res.n_clusters == 3 and res.linear and res.merges.shape == (0, 2)
    one = cluster_labels(np.array([[1.0, 2.0]]), [5])
    assert one.n_clusters == 1 and one.assignment.tolist() == [0]


def test_very_unequal_cluster_sizes():
    rng = np.random.default_rng(4)
    big = rng.normal(size=(300, 3))
    small = rng.normal(size=(3, 3)) * 0.1  # inside the big cloud
    X = np.vstack([big, small])
    y = np.array([0] * 300 + [1] * 3)
    res = cluster_labels(X, y)
    check_valid(X, y, res)
    assert res.n_clusters > 2
    assert partition(res.assignment) == partition(cluster_labels(X, y, mode="exact").assignment)


# ----------------------------------------------------------------------------------
# Estimator and parameters
# ----------------------------------------------------------------------------------
def test_estimator_api():
    X, y = overlapping(1, n=30, d=2)
    est = DirectProbe(mode="exact", rate=0.05)
    assert est.get_params()["rate"] == 0.05
    est2 = clone(est)
    assert est.fit(X, y) is est
    assert est.n_clusters_ == len(est.cluster_labels_)
    assert est.linear_ == (est.n_clusters_ == len(est.labels_))
    assert est.n_oracle_calls_ == est.stats_["oracle_calls"]
    assert np.array_equal(est2.fit_predict(X, y), est.assignment_)
    assert not hasattr(clone(est), "assignment_")


@pytest.mark.parametrize("kwargs, match", [
    ({"mode": "fast"}, "'mode' parameter of cluster_labels must be one of"),
    ({"rate": 0.0}, "'rate' parameter"),
    ({"tol": -1.0}, "'tol' parameter"),
    ({"on_duplicates": "ignore"}, "'on_duplicates' parameter"),
    ({"time_limit": -1.0}, "'time_limit' parameter"),
    ({"time_limit": True}, "'time_limit' parameter"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cluster_labels(np.zeros((2, 1)) + [[0.0], [1.0]], [0, 1], **kwargs)
    with pytest.raises(ValueError, match=match.split(" of ")[0]):
        DirectProbe(**kwargs).fit(np.array([[0.0], [1.0]]), [0, 1])


def test_bad_shapes():
    with pytest.raises(ValueError, match="one label per row"):
        cluster_labels(np.zeros((3, 2)), [0, 1])
    with pytest.raises(ValueError, match="finite"):
        cluster_labels(np.array([[np.nan, 0.0]]), [0])


# ----------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------
def test_cli_directprobe(tmp_path, capsys):
    import json

    from harness.cli import main

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(10, 3)) + 8 * i for i in range(3)])
    np.save(tmp_path / "p.npy", X)
    (tmp_path / "l.txt").write_text("\n".join(["N"] * 10 + ["V"] * 10 + ["A"] * 10) + "\n")
    out = tmp_path / "o.json"
    assert main(["directprobe", str(tmp_path / "p.npy"), str(tmp_path / "l.txt"),
                 "--json", str(out), "--mode", "exact"]) == 0
    rec = json.loads(out.read_text())
    assert rec["n_clusters"] == 3 and rec["linear"] and rec["labels"] == ["A", "N", "V"]
    assert len(rec["assignment"]) == 30 and len(rec["distance_matrix"]) == 3
    assert set(rec["min_distance"]) == {"A", "N", "V"} and len(rec["distance_vector"]) == 3
    assert {"mode", "rate", "timings", "cluster_labels"} <= set(rec)
    assert "linear" in capsys.readouterr().out
    (tmp_path / "bad.txt").write_text("N\nV\n")
    assert main(["directprobe", str(tmp_path / "p.npy"), str(tmp_path / "bad.txt")]) == 2  # bad input: exit 2 (docs/errors.md)
    err = capsys.readouterr().err
    assert "bad.txt: 2 labels for 30 points" in err


@pytest.mark.parametrize("mode", ["reference", "exact"])
def test_all_points_dropped_as_duplicates_fails_alike_in_both_modes(mode):
    # Issue 14: exact answered 0 clusters, "linear", while reference hit an IndexError.
    X = np.zeros((4, 2))
    with pytest.raises(DuplicatePointsError, match="leaves nothing to cluster") as err:
        cluster_labels(X, ["a", "b", "a", "b"], mode=mode, on_duplicates="drop")
    assert err.value.groups == [[0, 1, 2, 3]]
