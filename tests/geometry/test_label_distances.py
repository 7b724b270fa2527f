"""Label distance matrices and vectors, minimum distances, the fixed-clustering mode."""

import numpy as np
import pytest
from scipy.spatial.distance import squareform

from harness.geometry.clustering import cluster_labels
from harness.geometry.label_distances import (
    distance_vector,
    fixed_clustering_distances,
    label_distance_matrix,
    min_distance_per_label,
    sorted_label_order,
)

from geometry_reference_clustering import separable_lp


def squares():
    """Three unit squares' corners along the x axis: hull distances 2 and 7 and 10."""
    sq = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    X = np.vstack([sq, sq + [3.0, 0.0], sq + [11.0, 0.0]])
    y = np.repeat(["b", "a", "c"], 4)
    return X, y


def test_label_distance_matrix_linear_case():
    X, y = squares()
    D = label_distance_matrix(X, y)  # labels directly: one cluster per label
    # sorted-string order a, b, c: a is the middle square
    assert np.allclose(D, [[0, 2, 7], [2, 0, 10], [7, 10, 0]], atol=1e-9)
    res = cluster_labels(X, y)
    D2 = label_distance_matrix(X, res.assignment, res.cluster_labels)
    assert np.allclose(D, D2)


def test_label_distance_matrix_mean_over_cluster_pairs_and_small_clusters():
    # Label "a" has two clusters (one of 1 point); "b" one cluster.
    X = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 0.0], [5.0, 1.0], [9.0, 0.0]])
    assignment = np.array([0, 0, 1, 1, 2])
    cl = np.array(["a", "b", "a"])
    D = label_distance_matrix(X, assignment, cl)
    assert D[0, 1] == pytest.approx((5.0 + 4.0) / 2)
    # min_cluster_size=2 drops the singleton cluster of "a"
    D2 = label_distance_matrix(X, assignment, cl, min_cluster_size=2)
    assert D2[0, 1] == pytest.approx(5.0)
    # dropping every cluster of a label leaves nan
    D3 = label_distance_matrix(X, assignment, cl, min_cluster_size=3)
    assert np.isnan(D3[0, 1])


def test_svc_compat_method_runs():
    X, y = squares()
    D = label_distance_matrix(X, y, method="svc-compat")
    assert D.shape == (3, 3) and np.allclose(D, D.T)
    with pytest.raises(ValueError, match="'method' parameter"):
        label_distance_matrix(X, y, method="svm")


def test_distance_vector_layout_matches_pdist():
    rng = np.random.default_rng(0)
    A = rng.random((5, 5))
    D = A + A.T
    np.fill_diagonal(D, 0)
    labels = ["e", "d", "c", "b", "a"]
    v = distance_vector(D, labels, labels)
    assert np.array_equal(v, squareform(D, checks=False))
    # default order: sorted strings; reordering the matrix gives the same vector
    perm = [4, 3, 2, 1, 0]
    v1 = distance_vector(D, labels)
    v2 = distance_vector(D[np.ix_(perm, perm)], [labels[i] for i in perm])
    assert np.array_equal(v1, v2)
    assert sorted_label_order([10, 9, 100]) == [10, 100, 9]  # as strings


def test_distance_vector_errors_and_missing():
    D = np.array([[0.0, np.nan], [np.nan, 0.0]])
    with pytest.raises(ValueError, match="linear"):
        distance_vector(np.zeros((2, 2)), ["a", "b"], linear=False)
    with pytest.raises(ValueError, match="missing"):
        distance_vector(D, ["a", "b"])
    assert distance_vector(D, ["a", "b"], missing="zero").tolist() == [0.0]
    with pytest.raises(ValueError, match="permutation"):
        distance_vector(np.zeros((2, 2)), ["a", "b"], ["a", "c"])


def test_min_distance_per_label():
    D = np.array([[0, 2, 7], [2, 0, 10], [7, 10, 0.0]])
    assert min_distance_per_label(D).tolist() == [2, 2, 7]
    D[0, 1] = D[1, 0] = np.nan
    assert min_distance_per_label(D).tolist() == [7, 10, 7]


def test_fixed_clustering_distances():
    X, y = squares()
    res = cluster_labels(X, y)
    ok, D = fixed_clustering_distances(X, res.assignment, res.cluster_labels)
    assert ok and np.allclose(D, label_distance_matrix(X, y))
    # A new representation in which "a" and "b" overlap: the clustering no longer
    # separates, zeros (the authors' convention).
    X2 = X.copy()
    X2[y == "a"] -= [3.0, 0.0]
    assert not separable_lp(X2[y == "a"], X2[y == "b"])
    ok2, D2 = fixed_clustering_distances(X2, res.assignment, res.cluster_labels)
    assert not ok2 and np.all(D2 == 0)


@pytest.mark.parametrize("size", [0, -1, 1.5, True])
def test_min_cluster_size_below_one_is_refused(size):
    X, y = squares()
    with pytest.raises(ValueError, match="'min_cluster_size' parameter of label_distance_matrix"):
        label_distance_matrix(X, y, min_cluster_size=size)


def test_a_label_pair_without_kept_clusters_stays_undefined():
    # Issue 14: undefined distances printed as 0. nan survives distance_vector(missing="drop").
    X, y = squares()
    D = label_distance_matrix(X, y, min_cluster_size=10**6)
    assert np.isnan(distance_vector(D, sorted(set(y)), missing="drop")).all()
