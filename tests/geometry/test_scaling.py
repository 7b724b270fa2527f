"""Numeric extremes (issue 22): DirectProbe's answer scales with its input from 1e-300 to
1e300 (clusters unchanged, distances multiplied by the factor), and the pairwise kernels
refuse magnitudes whose squares would overflow or underflow, with one line."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.geometry._scaling import KERNEL_RANGE, working_exponent
from harness.geometry.centroids import label_centroids
from harness.geometry.clustering import cluster_labels
from harness.geometry.hull_distance import hull_distance
from harness.geometry.label_distances import label_distance_matrix
from harness.geometry.pairwise import pairwise_hull_distances
from harness.geometry.separability import are_separable
from harness.geometry.spatial_similarity import spatial_similarity


def _three_labels(seed):
    """Two separated blobs and a third label in between (not linear: 3+ clusters)."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0, 1, (15, 3)), rng.normal(8, 1, (15, 3)),
                   rng.normal(4, 0.3, (6, 3))])
    X[30:] += rng.normal(0, 3, (6, 3)) * [1, 0, 0]
    y = np.array(["a"] * 15 + ["b"] * 15 + ["c"] * 6)
    return X, y


def _directprobe(X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or underflow warning either
        res = cluster_labels(X, y)
        D = label_distance_matrix(X, res.assignment, res.cluster_labels)
    return res, D


@pytest.fixture(scope="module")
def baseline():
    return {seed: (_three_labels(seed), *_directprobe(*_three_labels(seed))) for seed in (0, 1)}


@settings(max_examples=30, deadline=None)
@given(exponent=st.integers(-300, 300), mantissa=st.floats(1.0, 9.99), seed=st.sampled_from([0, 1]))
def test_directprobe_scales_from_1e_minus_300_to_1e300(baseline, exponent, mantissa, seed):
    (X, y), res0, D0 = baseline[seed]
    factor = mantissa * 10.0 ** exponent
    res, D = _directprobe(X * factor, y)
    assert res.n_clusters == res0.n_clusters and res.linear == res0.linear
    np.testing.assert_array_equal(res.assignment, res0.assignment)
    np.testing.assert_allclose(D / factor, D0, rtol=1e-7)
    np.testing.assert_allclose(res.merge_distances / factor, res0.merge_distances, rtol=1e-7)


@pytest.mark.parametrize("factor", [1e-300, 1e-160, 1e160, 1e300])
def test_the_issue_s_two_blobs(factor):
    # Issue 22: at 1e300 (and 1e160) "40 clusters (not linear)", distance 0, overflow warnings.
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (20, 2)), rng.normal(10, 1, (20, 2))])
    y = np.array(["a"] * 20 + ["b"] * 20)
    res1, D1 = _directprobe(X, y)
    res, D = _directprobe(X * factor, y)
    assert res.n_clusters == 2 and res.linear
    assert D[0, 1] == pytest.approx(D1[0, 1] * factor, rel=1e-9)


def test_a_power_of_two_changes_nothing_but_the_exponent(baseline):
    (X, y), res0, D0 = baseline[0]
    for e in (-900, -200, 200, 900):
        res, D = _directprobe(np.ldexp(X, e), y)
        np.testing.assert_array_equal(res.assignment, res0.assignment)
        np.testing.assert_array_equal(D, np.ldexp(D0, e))  # bit for bit


def test_ordinary_magnitudes_are_computed_as_given():
    assert working_exponent(np.array([[0.5, -30.0]])) == 0
    assert working_exponent(np.array([[1e300]])) != 0 and working_exponent(np.zeros((2, 2))) == 0


def test_centroids_and_spatial_similarity_scale():
    X = np.array([[1.0, 2.0], [3.0, 4.0], [10.0, 10.0]]) * 1e300
    np.testing.assert_allclose(label_centroids(X, [0, 0, 1]) / 1e300, [[2, 3], [10, 10]])
    d = np.array([1.0, 2.0, 4.0])
    assert spatial_similarity(d * 1e300, d * 1e-300) == pytest.approx(1.0)


@pytest.mark.parametrize("kernel", [
    lambda A, B: hull_distance(A, B),
    lambda A, B: are_separable(A, B),
    lambda A, B: pairwise_hull_distances(np.vstack([A, B]), [0] * len(A) + [1] * len(B)),
])
@pytest.mark.parametrize("factor", [1e-300, 1e300])
def test_pairwise_kernels_refuse_magnitudes_out_of_range(kernel, factor):
    A = np.array([[0.0, 0.0], [0.0, 1.0]])
    B = np.array([[3.0, 0.0], [3.0, 1.0]])
    with pytest.raises(ValueError, match="divide the points by a constant first"):
        kernel(A * factor, B * factor)
    inside = KERNEL_RANGE[1] / 8
    assert hull_distance(A * inside, B * inside).distance == pytest.approx(3 * inside, rel=1e-9)
