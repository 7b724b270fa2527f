"""Tests of harness.geometry.separability against the plain-LP reference."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import harness.geometry.separability as sep_mod
from harness.exceptions import HarnessWarning, SolverError
from harness.geometry import are_separable, certified_gap, separating_hyperplane
from geometry_helpers import counted_lp, gaussian_pair, point_sets, random_rotation
from geometry_reference import are_separable_reference, hull_distance_reference

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _assert_strictly_separates(A, B, plane):
    # The plane must separate in plain float arithmetic, with the reported orientation.
    w, b = plane
    assert np.isclose(np.linalg.norm(w), 1.0)
    assert (A @ w + b).min() > 0
    assert (B @ w + b).max() < 0
    assert certified_gap(A, B, w)[0] > 0


# --- exact, hand-made cases -------------------------------------------------------

SQUARE = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]])


@pytest.mark.parametrize(
    "B, expected",
    [
        (np.array([[3.0, 0.0], [3.0, 2.0]]), True),  # parallel edge at distance 1
        (np.array([[2.0, 2.0], [3.0, 3.0]]), False),  # shared vertex
        (np.array([[2.0, 1.0], [3.0, 1.0]]), False),  # touches the middle of an edge
        (np.array([[1.0, 1.0]]), False),  # point inside
        (np.array([[4.0, 4.0]]), True),  # single point outside
        (np.array([[3.0, -1.0], [3.0, 3.0], [1.0, 6.0]]), True),
        (np.array([[3.0, -1.0], [3.0, 3.0], [1.0, 5.0]]), False),  # edge through (2, 2)
        (np.array([[1.0, -1.0], [1.0, 3.0]]), False),  # segment crossing the square
    ],
)
def test_hand_made_cases(B, expected):
    # Touching cases are exactly representable, so the LP is infeasible by 2 units.
    assert are_separable(SQUARE, B) is expected
    assert are_separable_reference(SQUARE, B) is expected
    plane = separating_hyperplane(SQUARE, B)
    assert (plane is not None) is expected
    if expected:
        _assert_strictly_separates(SQUARE, B, plane)


def test_collinear_and_coplanar_sets():
    # Points on one line in 3-D: [0, 1] and [1, 2] share the point 1 -> overlap.
    line = np.array([[0.0, 0, 0], [1.0, 0, 0]])
    assert not are_separable(line, np.array([[1.0, 0, 0], [2.0, 0, 0]]))
    assert are_separable(line, np.array([[1.5, 0, 0], [2.0, 0, 0]]))
    # Two coplanar triangles in 3-D (z = 5), one crossing the other.
    T1 = np.array([[0.0, 0, 5], [4.0, 0, 5], [0.0, 4, 5]])
    T2 = np.array([[1.0, 1, 5], [5.0, 5, 5], [6.0, 1, 5]])
    assert not are_separable(T1, T2)
    assert are_separable(T1, T2 + [0.0, 0.0, 0.5])


def test_duplicates_and_identical_sets():
    A = np.repeat(np.array([[1.0, 2.0, 3.0]]), 5, axis=0)
    assert not are_separable(A, A)  # all points coincide
    assert not are_separable(A, A[:1])
    assert are_separable(A, A[:1] + 1e-3)
    B = np.vstack([SQUARE, SQUARE])  # duplicated rows change nothing
    assert not are_separable(B, np.array([[2.0, 2.0]]))


def test_more_dimensions_than_points(seed):
    # Generic sets with n_a + n_b <= d + 1 are always separable.
    rng = np.random.default_rng(seed)
    A, B = gaussian_pair(rng, 10, 20, 64, 0.0)
    plane = separating_hyperplane(A, B)
    assert plane is not None
    _assert_strictly_separates(A, B, plane)
    assert are_separable_reference(A, B)


def test_large_offsets_and_scales(seed):
    rng = np.random.default_rng(seed)
    A, B = gaussian_pair(rng, 30, 40, 5, 6.0)
    expected = are_separable_reference(A, B)
    for shift, scale in [(1e4, 1.0), (-1e4, 1e-3), (0.0, 1e5)]:
        assert are_separable(scale * A + shift, scale * B + shift) is expected


def test_gaussian_pairs_agree_with_reference(seed):
    rng = np.random.default_rng(seed)
    for shift in [0.0, 1.0, 3.0, 8.0]:
        A, B = gaussian_pair(rng, 60, 25, 4, shift)
        assert are_separable(A, B) is are_separable_reference(A, B)


def test_constraint_generation_needs_several_rounds():
    # Large enough that the working set (2 (d + 1) points per side) is a strict subset.
    rng = np.random.default_rng(0)
    A, B = gaussian_pair(rng, 400, 300, 3, 5.0)
    A[:, 1] *= 10.0
    expected = are_separable_reference(A, B)
    plane = separating_hyperplane(A, B)
    assert (plane is not None) is expected
    if expected:
        _assert_strictly_separates(A, B, plane)


def test_low_rank_sets_in_high_dimension(seed):
    # Points in a 3-d subspace of R^50 (the LP then runs in the span's basis).
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((3, 50))
    for shift in [0.0, 0.5, 4.0]:
        A, B = gaussian_pair(rng, 12, 15, 3, shift)
        expected = are_separable_reference(A, B)
        assert are_separable(A @ M, B @ M) is expected
        assert are_separable_reference(A @ M, B @ M) is expected
        plane = separating_hyperplane(A @ M + 3.0, B @ M + 3.0)
        assert (plane is not None) is expected
        if expected:
            _assert_strictly_separates(A @ M + 3.0, B @ M + 3.0, plane)


def test_nearly_touching_sets_far_above_the_tolerance_are_separable():
    # Found by hypothesis: two parallel segments 1e-5 apart (rotated, translated by
    # ~1e4). HiGHS' interior point method called the plain feasibility LP infeasible
    # (a separating w has norm ~1e5 there); the margin LP is well scaled.
    A = np.array([[1.0, 0.0], [0.0, 0.0]])
    B = np.array([[1.0, 1e-5], [1e-5, 1e-5]])
    Qm = np.array([[0.19264633, -0.98126826], [0.98126826, 0.19264633]])
    t = np.array([6265.40478401, 8255.11154555])
    for A2, B2 in [(A, B), (A @ Qm.T + t, B @ Qm.T + t)]:
        assert are_separable(A2, B2)
        _assert_strictly_separates(A2, B2, separating_hyperplane(A2, B2))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("gap", [1e-6, 1e-5, 1e-4])
def test_sets_pushed_apart_by_a_small_gap_are_separable(seed, gap):
    # Random sets made to touch along a direction u, then moved gap * R apart: the
    # plain feasibility LP missed some at gap ~5e-6 R (random 9-d and 2-d sets).
    rng = np.random.default_rng(seed)
    d = [2, 5, 9][seed % 3]
    A = rng.standard_normal((11, d))
    B = rng.standard_normal((9, d))
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    B = B - ((B @ u).min() - (A @ u).max()) * u
    R = np.linalg.norm(np.vstack([A, B]) - np.vstack([A, B]).mean(0), axis=1).max()
    B = B + gap * R * u
    assert hull_distance_reference(A, B) >= 0.99 * gap * R
    assert are_separable(A, B) and are_separable_reference(A, B)
    _assert_strictly_separates(A, B, separating_hyperplane(A, B))


def _no_lp(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the LP ran although its answer was known")

    monkeypatch.setattr(sep_mod, "_solve_feasibility_lp", forbidden)


def test_known_overlap_needs_no_lp(seed, monkeypatch):
    # A pair of points of the two hulls closer than tol * R / 2 proves that no plane
    # can pass the verification: None without an LP, as the LP itself answers.
    rng = np.random.default_rng(seed)
    A, B = gaussian_pair(rng, 40, 30, 6, 0.3)  # overlapping clouds
    lp_answer = separating_hyperplane(A, B)
    assert lp_answer is None
    _no_lp(monkeypatch)
    X = np.vstack([A, B])
    R = np.linalg.norm(X - X.mean(0), axis=1).max()
    assert separating_hyperplane(A, B, tol=1e-9, upper_bound=0.4e-9 * R) is None
    with pytest.raises(AssertionError, match="the LP ran"):
        separating_hyperplane(A, B, tol=1e-9, upper_bound=0.6e-9 * R)  # above tol * R / 2


def _segments(gap):
    """A segment and a set beside it, ``gap`` apart along x; their centroid direction
    is tilted enough to fail the verification, so that only the LP or a given
    direction can find the plane. Returns A, B and the data radius R."""
    A = np.array([[0.0, 0.0], [0.0, 1.0]])
    B = np.array([[gap, 0.0], [gap, 1.0], [gap + 10.0, 1.0]])
    X = np.vstack([A, B])
    return A, B, np.linalg.norm(X - X.mean(0), axis=1).max()


def test_sure_direction_far_above_the_threshold_needs_no_lp(monkeypatch):
    # A direction whose margin is 10 times HiGHS' feasibility tolerance settles
    # "separable" without an LP (the LP answers the same); the wrong one does not.
    A, B, R = _segments(1e-3)
    assert separating_hyperplane(A, B) is not None
    calls = counted_lp(monkeypatch)
    plane = separating_hyperplane(A, B, sure_direction=np.array([-1.0, 0.0]))
    _assert_strictly_separates(A, B, plane)
    assert not calls
    assert separating_hyperplane(A, B, sure_direction=np.array([1.0, 0.0])) is not None
    assert calls  # the wrong orientation proves nothing: the LP decided


@pytest.mark.parametrize("k, lp_plane", [(50, False), (500, True), (1500, True)])
def test_sure_direction_near_the_threshold_leaves_the_verdict_to_the_lp(k, lp_plane,
                                                                       monkeypatch):
    # Hulls k tol * R apart: the exact direction is below the bar, so the LP still
    # decides, and there its verdict can depend on the plane it finds (no plane at 50,
    # while the hull distance certifies the pair: the gray zone this rule leaves alone).
    A, B, R = _segments(1.0)
    A, B, R = _segments(k * 1e-9 * R)
    assert hull_distance_reference(A, B) > 0.9 * k * 1e-9 * R
    calls = counted_lp(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HarnessWarning)
        plane = separating_hyperplane(A, B, tol=1e-9, sure_direction=np.array([-1.0, 0.0]))
    assert calls and (plane is not None) is lp_plane


@pytest.mark.parametrize("overlap", [False, True])
def test_lp_memo_answers_a_repeated_call_on_the_same_pair(overlap, monkeypatch):
    # The LP part depends only on the sets and tolerances: a second call whose own
    # directions fail gets the stored answer, without solving an LP again.
    A, B, _ = _segments(1e-3)
    if overlap:
        A = np.vstack([A, [[0.5, 0.5]]])  # inside B's triangle
    calls = counted_lp(monkeypatch)
    memo = {}
    first = sep_mod._separating_hyperplane(A, B, lp_memo=memo)
    n = len(calls)
    assert n > 0 and (first is None) is overlap
    second = sep_mod._separating_hyperplane(A, B, lp_memo=memo,
                                            initial_direction=np.array([0.0, 1.0]))
    assert len(calls) == n
    assert (second is None) is overlap
    if not overlap:
        np.testing.assert_array_equal(first[0], second[0])


def test_solver_status_is_never_an_answer(monkeypatch):
    # A status other than optimal/infeasible must raise, not read as "overlap".
    class Res:
        status = 4
        message = "numerical difficulties (simulated)"
        x = None

    monkeypatch.setattr(sep_mod, "linprog", lambda *a, **k: Res())
    A = np.array([[0.0, 0.0], [1.0, 1.0]])
    B = np.array([[1.0, 0.0], [0.0, 1.0]])  # crossing diagonals: needs the LP
    with pytest.raises(SolverError, match="status 4"):
        are_separable(A, B)


def test_unverifiable_plane_falls_back_and_warns(monkeypatch):
    # If every LP plane fails verification, the strict LP runs and then a warning.
    calls = []

    def fake_lp(P, Q, *, feasibility_tol, strict=False):
        calls.append(strict)
        return np.zeros(P.shape[1]), 0.0  # w = 0 can never be verified

    monkeypatch.setattr(sep_mod, "_solve_feasibility_lp", fake_lp)
    A = np.array([[0.0, 0.0], [1.0, 1.0]])
    B = np.array([[1.0, 0.0], [0.0, 1.0]])
    with pytest.warns(HarnessWarning) as rec:
        assert not are_separable(A, B)
    assert any("floating-point resolution" in str(r.message) for r in rec)
    assert calls[-1] is True


@pytest.mark.parametrize(
    "A, B, match",
    [
        (np.zeros(3), np.zeros((2, 3)), "2-D"),
        (np.zeros((0, 3)), np.zeros((2, 3)), "at least one point"),
        (np.zeros((2, 3)), np.zeros((2, 4)), "same number of features"),
        (np.array([[0.0, np.nan]]), np.zeros((1, 2)), "finite"),
        (np.array([["a", "b"]]), np.zeros((1, 2)), "real numbers"),
    ],
)
def test_invalid_input(A, B, match):
    with pytest.raises(ValueError, match=match):
        are_separable(A, B)


# --- properties ---------------------------------------------------------------------

@SETTINGS
@given(point_sets())
def test_property_agrees_with_reference_lp(sets):
    A, B = sets
    dist = hull_distance_reference(A, B)
    if 0 < dist < 1e-5:  # the gray zone where LP tolerances decide
        return
    fast = are_separable(A, B)
    assert fast is are_separable_reference(A, B)
    plane = separating_hyperplane(A, B)
    assert (plane is not None) is fast
    if fast:
        _assert_strictly_separates(A, B, plane)


@SETTINGS
@given(point_sets(), st.integers(0, 2**32 - 1))
def test_property_invariances(sets, seed):
    A, B = sets
    if 0 < hull_distance_reference(A, B) < 1e-5:
        return
    rng = np.random.default_rng(seed)
    expected = are_separable(A, B)
    Qm = random_rotation(A.shape[1], rng)
    t = rng.uniform(-1e4, 1e4, A.shape[1])
    assert are_separable(B, A) is expected  # symmetry
    assert are_separable(A @ Qm.T + t, B @ Qm.T + t) is expected  # rigid motion
    assert are_separable(A[::-1], rng.permutation(B)) is expected  # point order
    assert are_separable(7.5 * A, 7.5 * B) is expected  # scaling
