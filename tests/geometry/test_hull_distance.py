"""Tests of harness.geometry.hull_distance against slow references and properties."""

import importlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.exceptions import SolverError
from harness.geometry import are_separable, hull_distance, pairwise_hull_distances

from geometry_helpers import (RTOL, check_certificate, close, gaussian_pair,
                              nearly_touching_pair, point_sets, radius, random_rotation)
from geometry_reference import (are_separable_reference, hull_distance_reference,
                                hull_distance_svm_reference)

# The module itself (harness.geometry re-exports a function of the same name).
hd_mod = importlib.import_module("harness.geometry.hull_distance")

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


# --- exact, hand-made cases -------------------------------------------------------

SQUARE = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]])


@pytest.mark.parametrize(
    "B, expected",
    [
        (np.array([[3.0, 0.0], [3.0, 2.0]]), 1.0),
        (np.array([[5.0, 6.0]]), 5.0),  # to the vertex (2, 2)
        (np.array([[2.0, 2.0], [3.0, 3.0]]), 0.0),  # shared vertex
        (np.array([[2.0, 1.0], [3.0, 1.0]]), 0.0),  # touches the middle of an edge
        (np.array([[1.0, 1.0]]), 0.0),  # inside
        (np.array([[1.0, -1.0], [1.0, 3.0]]), 0.0),  # crossing segment
        (np.array([[4.0, 0.0], [0.0, 4.0]]), 0.0),  # segment x + y = 4 through (2, 2)
        (np.array([[5.0, 0.0], [0.0, 5.0]]), np.sqrt(0.5)),  # x + y = 5 vs corner (2, 2)
    ],
)
def test_hand_made_distances(B, expected):
    res = hull_distance(SQUARE, B)
    assert close(res.distance, expected, floor=1e-12)
    assert res.separable is bool(expected > 0)
    check_certificate(SQUARE, B, res)


def test_single_points():
    a = np.array([[1.0, 2.0, 3.0]])
    b = np.array([[4.0, 6.0, 3.0]])
    res = hull_distance(a, b)
    assert res.distance == 5.0 and res.separable
    assert hull_distance(a, a).distance == 0.0
    assert not hull_distance(a, a).separable


def test_collinear_and_duplicate_points():
    line = np.array([[0.0, 0, 0], [1.0, 0, 0], [0.5, 0, 0], [1.0, 0, 0]])
    res = hull_distance(line, np.array([[3.0, 0, 0], [2.5, 0, 0], [2.5, 0, 0]]))
    assert close(res.distance, 1.5)
    check_certificate(line, np.array([[3.0, 0, 0], [2.5, 0, 0], [2.5, 0, 0]]), res)
    res = hull_distance(line, np.array([[1.0, 0, 0], [2.0, 0, 0]]))  # touching at 1
    assert res.distance == 0.0 and not res.separable


def test_touching_tetrahedra_in_3d():
    # A shared edge between two tetrahedra; coordinates are exact in binary.
    T1 = np.array([[0.0, 0, 0], [1.0, 0, 0], [0.0, 1, 0], [0.0, 0, 1]])
    T2 = np.array([[1.0, 0, 0], [0.0, 1, 0], [1.0, 1, 0], [1.0, 1, 1]])
    res = hull_distance(T1, T2)
    assert res.distance == 0.0 and not res.separable
    res = hull_distance(T1, T2 + 0.25)
    assert res.separable
    assert close(res.distance, hull_distance_reference(T1, T2 + 0.25), rtol=1e-7)


def test_more_dimensions_than_points(seed):
    rng = np.random.default_rng(seed)
    A, B = gaussian_pair(rng, 5, 7, 40, 0.0)
    res = hull_distance(A, B)
    assert res.separable
    assert close(res.distance, hull_distance_reference(A, B), rtol=1e-6)
    check_certificate(A, B, res)


def test_very_unequal_sizes(seed):
    rng = np.random.default_rng(seed)
    A, B = gaussian_pair(rng, 500, 1, 3, 4.0)
    res = hull_distance(A, B)
    ref = hull_distance_svm_reference(A, B)
    assert res.separable is (ref > 0) is are_separable_reference(A, B)
    assert close(res.distance, ref, rtol=1e-6)
    check_certificate(A, B, res)


def test_large_coordinate_offsets(seed):
    # Distances ~ 0.3-3 on points of norm ~ 1e4: the small-distance, large-norm regime.
    rng = np.random.default_rng(seed)
    A, B = gaussian_pair(rng, 40, 30, 6, 6.0)
    base = hull_distance(A, B)
    for t in [1e4, -3e4]:
        res = hull_distance(A + t, B + t)
        assert close(res.distance, base.distance, rtol=1e-6)
        check_certificate(A + t, B + t, res)


def test_high_dimensional_gaussians_against_svm_reference():
    # d = 64, many support vectors; the reference is the primal hard-margin SVM.
    rng = np.random.default_rng(0)
    A, B = gaussian_pair(rng, 60, 50, 64, 2.0)
    res = hull_distance(A, B)
    check_certificate(A, B, res)
    assert close(res.distance, hull_distance_svm_reference(A, B), rtol=1e-6)


def test_overlapping_gaussians_are_zero_and_lp_consistent(seed):
    rng = np.random.default_rng(seed)
    A, B = gaussian_pair(rng, 200, 150, 3, 0.5)
    res = hull_distance(A, B)
    assert res.distance == 0.0 and not res.separable
    assert not are_separable_reference(A, B)


def test_wrong_input():
    with pytest.raises(ValueError, match="same number of features"):
        hull_distance(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        hull_distance(np.array([[np.inf, 0.0]]), np.zeros((2, 2)))


def test_max_iter_exhaustion_raises():
    rng = np.random.default_rng(0)
    A, B = gaussian_pair(rng, 60, 50, 64, 2.0)
    with pytest.raises(SolverError, match="did not certify"):
        hull_distance(A, B, max_iter=3)


# --- properties ---------------------------------------------------------------------

@SETTINGS
@given(point_sets())
def test_property_matches_reference_and_certificate(sets):
    A, B = sets
    ref = hull_distance_reference(A, B)
    if 0 < ref < 1e-5:
        return  # gray zone of the LP
    res = hull_distance(A, B)
    check_certificate(A, B, res)
    # The NNLS reference is exact to ~1e-14; the fast result is certified to 1e-6.
    assert close(res.distance, ref, rtol=1.01e-6, floor=1e-7)
    assert res.separable is are_separable(A, B) is are_separable_reference(A, B)
    assert res.separable is (res.distance > 0)


@SETTINGS
@given(point_sets(), st.integers(0, 2**32 - 1))
def test_property_invariances(sets, seed):
    A, B = sets
    if 0 < hull_distance_reference(A, B) < 1e-5:
        return
    rng = np.random.default_rng(seed)
    base = hull_distance(A, B).distance
    Qm = random_rotation(A.shape[1], rng)
    t = rng.uniform(-1e4, 1e4, A.shape[1])
    floor = 1e-9 * (1 + np.abs(t).max())
    assert close(hull_distance(B, A).distance, base)  # symmetry
    assert close(hull_distance(A @ Qm.T + t, B @ Qm.T + t).distance, base, floor=floor)
    assert close(hull_distance(A[::-1], rng.permutation(B)).distance, base)
    assert close(hull_distance(3.5 * A, 3.5 * B).distance, 3.5 * base)


# --- nearly touching hulls (regression: certification used to fail) -----------------
# These pairs are ~4e-8 R apart, below the harness's separability tolerance (1e-6 R):
# the solver's own precision is under test, so they run at a finer tolerance.
FINE = 1e-9

@pytest.mark.parametrize("seed, delta", [(0, 3e-6), (1, 3e-6), (0, 1e-5)])
def test_nearly_touching_hulls_are_certified(seed, delta):
    from threadpoolctl import threadpool_limits

    A, B = nearly_touching_pair(seed, delta)
    groups = np.r_[np.zeros(len(A), int), np.ones(len(B), int)]
    with threadpool_limits(1):  # small SVDs: threads only add overhead (20x on 2 cores)
        res = hull_distance(A, B, tol_lp=FINE)
        # The same pair through the batched driver.
        D, info = pairwise_hull_distances(np.vstack([A, B]), groups, tol_lp=FINE)
    assert res.separable
    check_certificate(A, B, res)
    assert close(res.distance, delta, rtol=1e-6, floor=0.0)
    assert info.separable[0, 1]
    assert close(D[0, 1], delta, rtol=1e-6, floor=0.0)
    assert info.upper_bound[0, 1] - info.lower_bound[0, 1] <= max(
        RTOL * info.upper_bound[0, 1], 1e-9 * radius(A, B)) * (1 + 1e-9)


@pytest.mark.parametrize("seed, delta", [(0, 3e-6), (2, 3e-6), (1, 3e-5)])
def test_nearly_touching_float32_hulls_are_certified(seed, delta):
    # Rounded to float32 (as BERT vectors are), the flat faces turn into many nearly
    # active points with slacks ~1e-7: the polish must price them in one at a time.
    from threadpoolctl import threadpool_limits

    A, B = nearly_touching_pair(seed, delta)
    A = A.astype(np.float32).astype(np.float64)
    B = B.astype(np.float32).astype(np.float64)
    with threadpool_limits(1):
        res = hull_distance(A, B, tol_lp=FINE)
    assert res.separable
    check_certificate(A, B, res)
    assert 0.9 * delta < res.distance < 1.1 * delta


def test_nearly_touching_hulls_need_the_polish(monkeypatch):
    # Without the support-set polish (the old code path) this pair is not certified.
    monkeypatch.setattr(hd_mod, "polish", lambda *args, **kwargs: None)
    for A, B in [nearly_touching_pair(0, 3e-6),
                 [X.astype(np.float32).astype(np.float64) for X in nearly_touching_pair(2, 3e-6)]]:
        with pytest.raises(SolverError, match="did not certify"):
            hull_distance(A, B, tol_lp=FINE)
