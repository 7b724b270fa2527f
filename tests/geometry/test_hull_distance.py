"""Tests of harness.geometry.hull_distance against slow references and properties."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.exceptions import SolverError
from harness.geometry import (
    are_separable,
    hull_distance,
    pairwise_hull_distances,
    pairwise_separable,
    svc_compat_distance,
)

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
RTOL = 1e-6


from geometry_helpers import gaussian_pair, point_sets, random_rotation  # noqa: E402
from geometry_reference import (  # noqa: E402
    are_separable_reference,
    hull_distance_reference,
    hull_distance_svm_reference,
)


def radius(A, B):
    X = np.vstack([A, B])
    return np.linalg.norm(X - X.mean(0), axis=1).max()


def check_certificate(A, B, res, rtol=RTOL, atol=1e-9):
    """Everything a HullDistance promises, checked from scratch."""
    assert res.a_weights.min() >= 0 and res.b_weights.min() >= 0
    assert np.isclose(res.a_weights.sum(), 1.0) and np.isclose(res.b_weights.sum(), 1.0)
    np.testing.assert_allclose(res.a_point, res.a_weights @ A, atol=1e-12 * (1 + abs(A).max()))
    np.testing.assert_allclose(res.b_point, res.b_weights @ B, atol=1e-12 * (1 + abs(B).max()))
    assert np.isclose(res.upper_bound, np.linalg.norm(res.a_point - res.b_point), rtol=1e-12,
                      atol=1e-15)
    if res.separable:
        assert res.lower_bound > 0
        assert res.distance == res.upper_bound
        assert res.upper_bound - res.lower_bound <= max(rtol * res.upper_bound,
                                                        atol * radius(A, B)) * (1 + 1e-9)
        # The lower bound is what the normal actually achieves (up to the rounding of
        # this uncentred recomputation, ~ d u max|x|).
        w = res.normal
        gap = (A @ w).min() - (B @ w).max()
        slack = 4 * A.shape[1] * 2.2e-16 * (1 + max(abs(A).max(), abs(B).max()))
        assert gap >= res.lower_bound * (1 - 1e-12) - slack
        assert (A @ w + res.offset).min() > 0 > (B @ w + res.offset).max()
    else:
        assert res.distance == 0.0
        assert res.lower_bound <= 0


def close(a, b, rtol=RTOL, floor=1e-9):
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + floor


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


# --- pairwise -----------------------------------------------------------------------


def grouped_data(rng, k, n, d, spread):
    means = rng.standard_normal((k, d)) * spread
    groups = rng.integers(0, k, n)
    groups[:k] = np.arange(k)  # every group non-empty
    return means[groups] + rng.standard_normal((n, d)), groups


@pytest.mark.parametrize("spread", [0.6, 4.0])
def test_pairwise_matches_single_pair(seed, spread):
    rng = np.random.default_rng(seed)
    X, g = grouped_data(rng, 5, 300, 4, spread)
    D, info = pairwise_hull_distances(X, g)
    assert D.shape == (5, 5)
    np.testing.assert_array_equal(D, D.T)
    assert np.all(np.diag(D) == 0)
    S = pairwise_separable(X, g)
    np.testing.assert_array_equal(S, info.separable)
    for a in range(5):
        for b in range(a + 1, 5):
            A, B = X[g == a], X[g == b]
            single = hull_distance(A, B)
            assert close(D[a, b], single.distance, rtol=2e-6, floor=1e-9)
            assert S[a, b] is np.bool_(are_separable_reference(A, B))
            assert info.lower_bound[a, b] <= D[a, b] + 1e-12
            if S[a, b]:
                assert D[a, b] - info.lower_bound[a, b] <= 1e-6 * D[a, b] + 1e-9 * 10


def test_pairwise_high_dimension_and_labels():
    rng = np.random.default_rng(3)
    X, g = grouped_data(rng, 4, 160, 24, 1.0)
    labels = np.array([10, 20, 30, 40])[g]
    D, info = pairwise_hull_distances(X, labels)
    np.testing.assert_array_equal(info.labels, [10, 20, 30, 40])
    for a in range(4):
        for b in range(a + 1, 4):
            ref = hull_distance_svm_reference(X[g == a], X[g == b])
            assert close(D[a, b], ref, rtol=2e-6)


def test_pairwise_rejects_unknown_method():
    with pytest.raises(ValueError, match="'exact', 'svc-compat'"):
        pairwise_hull_distances(np.zeros((2, 2)), [0, 1], method="svm")


def test_pairwise_rejects_bad_groups():
    with pytest.raises(ValueError, match="one id per row"):
        pairwise_hull_distances(np.zeros((3, 2)), [0, 1])


# --- svc-compat -----------------------------------------------------------------------


def test_svc_compat_agrees_on_well_conditioned_data(seed):
    rng = np.random.default_rng(seed)
    A, B = gaussian_pair(rng, 40, 50, 5, 7.0)
    exact = hull_distance(A, B).distance
    assert close(svc_compat_distance(A, B), exact, rtol=1e-3)
    X = np.vstack([A, B])
    g = np.r_[np.zeros(40, int), np.ones(50, int)]
    D, info = pairwise_hull_distances(X, g, method="svc-compat")
    assert info.method == "svc-compat"
    assert close(D[0, 1], exact, rtol=1e-3)


def test_svc_compat_equals_a_hand_computed_libsvm_fit():
    # Two segments: A = {(0, 0), (0, 2)} (+1), B = {(3, 1), (5, 1)} (-1). By hand, the
    # hard-margin SVM is w = (-2/3, 0), b = 1 (dual weights 1/9, 1/9 on A's points and
    # 2/9 on (3, 1)), and the authors' formula 2 min |w.x + b| / |w| gives 3. libsvm
    # with the authors' settings (C=1e6, tol=1e-5, max_iter=50000) stops within its
    # KKT tolerance of that solution.
    from sklearn.svm import SVC

    A = np.array([[0.0, 0.0], [0.0, 2.0]])
    B = np.array([[3.0, 1.0], [5.0, 1.0]])
    X = np.vstack([A, B])
    y = np.array([1.0, 1.0, -1.0, -1.0])
    svc = SVC(kernel="linear", C=1e6, tol=1e-5, max_iter=50_000).fit(X, y)
    dual = dict(zip(svc.support_.tolist(), np.abs(svc.dual_coef_[0]).tolist()))
    np.testing.assert_allclose([dual[0], dual[1], dual[2]], [1 / 9, 1 / 9, 2 / 9], rtol=1e-4)
    assert 3 not in dual  # (5, 1) is not a support vector
    w = svc.dual_coef_[0] @ svc.support_vectors_  # the plane, from the dual by hand
    np.testing.assert_allclose(w, [-2 / 3, 0.0], rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(svc.intercept_[0], 1.0, rtol=1e-5)
    by_hand = 2.0 * np.min(np.abs(X @ w + svc.intercept_[0])) / np.linalg.norm(w)
    assert svc_compat_distance(A, B) == pytest.approx(by_hand, rel=1e-12, abs=0.0)
    assert svc_compat_distance(A, B) == pytest.approx(3.0, rel=1e-5)
    assert svc_compat_distance(A, B) <= 3.0  # a separating plane: a lower bound
    # scikit-learn's default tol=1e-3 stops ~100x further from the hard margin.
    assert abs(svc_compat_distance(A, B, tol=1e-3) - 3.0) > 1e-4


def test_svc_compat_tolerance_is_the_authors(seed):
    # On Gaussian pairs the formula with tol=1e-5 is within ~1e-5 of the exact
    # distance, with the default tol=1e-3 only within ~1e-3.
    rng = np.random.default_rng(seed)
    A, B = gaussian_pair(rng, 12, 10, 3, 3.5)
    exact = hull_distance(A, B).distance
    assert close(svc_compat_distance(A, B), exact, rtol=2e-5)
    assert svc_compat_distance(A, B) <= exact * (1 + 1e-12)


def test_svc_compat_depends_on_point_order_when_libsvm_stops_at_max_iter():
    # Documented behaviour (see the Notes of svc_compat_distance): a fit stopped by
    # max_iter depends on the order of the points; one that meets tol does not.
    rng = np.random.default_rng(1)
    A, B = gaussian_pair(rng, 40, 40, 5, 4.0)
    perms = [np.random.default_rng(k).permutation(40) for k in range(4)]
    stopped = {round(svc_compat_distance(A[p], B[p], max_iter=10), 9) for p in perms}
    assert len(stopped) > 1
    converged = [svc_compat_distance(A[p], B[p]) for p in perms]
    np.testing.assert_allclose(converged, converged[0], rtol=1e-4)


def test_svc_compat_reports_zero_for_separable_hulls():
    # Nearly touching halves of a square, offset by 1e3: the unscaled SVC (C = 1e6)
    # does not reach 100 % training accuracy, so the authors' rule writes 0, while
    # the hulls are certifiably more than 1e-3 apart.
    rng = np.random.default_rng(0)
    n, gap = 200, 1e-3
    A = rng.uniform(-1, 1, (n, 2))
    A[:, 0] = np.abs(A[:, 0]) + gap / 2
    B = rng.uniform(-1, 1, (n, 2))
    B[:, 0] = -np.abs(B[:, 0]) - gap / 2
    A += 1e3
    B += 1e3
    res = hull_distance(A, B)
    assert res.separable and res.lower_bound > 1e-3
    assert are_separable_reference(A, B)
    assert svc_compat_distance(A, B) == 0.0


# --- nearly touching hulls (regression: certification used to fail) -----------------


def nearly_touching_pair(seed, delta, d=384, e=30, n=300, k=60, scale=10.0):
    """Two clouds in a random e-dim subspace of R^d whose hulls are exactly `delta`
    apart, each with a k-point support face (a slab face with O(scale) extent).

    Distance / radius ~ 4e-8 for delta = 3e-6: Wolfe's iterate is a tiny combination
    of O(1) vertices and its direction is too imprecise to certify the distance (the
    old code raised SolverError with bounds [2.08e-6, 3e-6]); this is what POS
    embedding-layer vectors of real BERT models produce.
    """
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, e)) * scale
    B = rng.standard_normal((n, e)) * scale
    A[:, 0] = delta / 2 + np.abs(A[:, 0]) * 0.1
    B[:, 0] = -delta / 2 - np.abs(B[:, 0]) * 0.1
    A[:k, 0] = delta / 2
    B[:k, 0] = -delta / 2
    q, _ = np.linalg.qr(rng.standard_normal((d, e)))
    return A @ q.T + 3.0, B @ q.T + 3.0


@pytest.mark.parametrize("seed, delta", [(0, 3e-6), (1, 3e-6), (0, 1e-5)])
def test_nearly_touching_hulls_are_certified(seed, delta):
    from threadpoolctl import threadpool_limits

    A, B = nearly_touching_pair(seed, delta)
    groups = np.r_[np.zeros(len(A), int), np.ones(len(B), int)]
    with threadpool_limits(1):  # small SVDs: threads only add overhead (20x on 2 cores)
        res = hull_distance(A, B)
        # The same pair through the batched driver.
        D, info = pairwise_hull_distances(np.vstack([A, B]), groups)
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
        res = hull_distance(A, B)
    assert res.separable
    check_certificate(A, B, res)
    assert 0.9 * delta < res.distance < 1.1 * delta


def test_nearly_touching_hulls_need_the_polish(monkeypatch):
    # Without the support-set polish (the old code path) this pair is not certified.
    import importlib

    hd = importlib.import_module("harness.geometry.hull_distance")
    monkeypatch.setattr(hd, "_polish", lambda *args, **kwargs: None)
    for A, B in [nearly_touching_pair(0, 3e-6),
                 [X.astype(np.float32).astype(np.float64) for X in nearly_touching_pair(2, 3e-6)]]:
        with pytest.raises(SolverError, match="did not certify"):
            hull_distance(A, B)


def test_pairwise_retries_an_uncertified_pair_on_its_own(monkeypatch):
    # The batched path centres and scales all groups together; a nearly touching pair
    # that it cannot certify (seen on POS at MiniLM's embedding layer) is re-solved alone.
    import importlib

    hd = importlib.import_module("harness.geometry.hull_distance")
    rng = np.random.default_rng(5)
    X, g = grouped_data(rng, 3, 120, 4, 4.0)
    expected, _ = pairwise_hull_distances(X, g)
    finish, calls = hd._finish, []

    def flaky_finish(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SolverError("hull_distance did not certify the distance (planted)")
        return finish(*args, **kwargs)

    monkeypatch.setattr(hd, "_finish", flaky_finish)
    D, info = pairwise_hull_distances(X, g)
    assert len(calls) >= 3
    np.testing.assert_allclose(D, expected, rtol=2e-6, atol=1e-12)

    def always_failing(*args, **kwargs):
        raise SolverError("hull_distance did not certify the distance (planted)")

    monkeypatch.setattr(hd, "_finish", always_failing)
    with pytest.raises(SolverError, match=r"groups 0 and 1: hull_distance did not certify"):
        pairwise_hull_distances(X, g)


# --- the active set (block pricing) and its Wolfe fallback --------------------------


def _hd():
    import importlib

    return importlib.import_module("harness.geometry.hull_distance")


def _assert_factor_exact(sv):
    # R^T R = U_S U_S^T, R upper triangular, and R^T Z = E (the side indicators).
    U = sv.U
    np.testing.assert_allclose(sv.R.T @ sv.R, U @ U.T, atol=1e-12)
    np.testing.assert_allclose(np.tril(sv.R, -1), 0.0)
    on_p = sv.on_p[:sv.s]
    np.testing.assert_array_equal(on_p, sv.idx[:sv.s] < sv.n_a)
    E = np.stack([on_p, ~on_p], axis=1).astype(float)
    np.testing.assert_allclose(sv.R.T @ sv.Z, E, atol=1e-12)
    # Everything outside the leading s x s block is zero (appends rely on it).
    assert not sv._R[sv.s:].any() and not sv._R[:, sv.s:].any() and not sv._Z[sv.s:].any()


def test_active_set_factor_stays_exact_through_appends_and_deletes():
    # After blocks of appends (some dependent) and deletions anywhere, the factor, Z and
    # the per-point arrays describe the support exactly.
    hd = _hd()
    rng = np.random.default_rng(3)
    P, Q = rng.standard_normal((40, 6)) / 4, rng.standard_normal((30, 6)) / 4
    P[5] = P[4]  # a duplicate: dependent, must be skipped
    sv = hd._ActiveSet(P, Q, P[:, 0], Q[:, 0], atol=1e-9)
    sv._append([0, 1, 2, 3, 4, 5, 40, 41, 42])
    assert 5 not in sv.idx[:sv.s].tolist()  # dependent duplicate skipped
    _assert_factor_exact(sv)
    for where in ["first", "last", "middle"]:
        sv._delete([{"first": 0, "last": sv.s - 1, "middle": 2}[where]])
        _assert_factor_exact(sv)
    # Several at once (as a minor cycle drops them): a trailing block and an inner point.
    s = sv.s
    sv._delete([s - 1, 1, s - 2])
    assert sv.s == s - 3
    _assert_factor_exact(sv)
    # More lifted points than the lifted dimension (6 + 2): the rest are dependent.
    added = sv._append(list(range(6, 20)) + list(range(43, 50)))
    assert sv.s == 8 and added == 8 - 2
    _assert_factor_exact(sv)
    # Freed storage slots are reused: the rows stay those of the support's points.
    np.testing.assert_array_equal(sv.U, sv._lift(sv.idx[:sv.s]))


@SETTINGS
@given(st.integers(1, 9), st.data())
def test_property_delete_column_kernel(s, data):
    # Deleting column k of R by Givens rotations keeps R'^T R' = R_k^T R_k and the
    # relation R'^T Z' = E_k, for any k, also with zero or repeated columns in R.
    from harness.geometry._active_set_kernels import delete_column

    k = data.draw(st.integers(0, s - 1))
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((s + 2, s))
    kind = data.draw(st.sampled_from(["generic", "zero column", "repeated column"]))
    if kind == "zero column":
        M[:, rng.integers(s)] = 0.0
    elif kind == "repeated column" and s > 1:
        M[:, 1] = M[:, 0]
    R = np.linalg.qr(M, mode="r")[:s, :s]
    cap = s + 3
    Rbuf = np.zeros((cap, cap), order="F")
    Rbuf[:s, :s] = R
    Z = np.zeros((cap, 2))
    Z[:s] = rng.standard_normal((s, 2))
    E = R.T @ Z[:s]
    delete_column(Rbuf, Z, s, k)
    Rk = np.delete(R, k, axis=1)
    Rn = Rbuf[:s - 1, :s - 1]
    np.testing.assert_allclose(Rn.T @ Rn, Rk.T @ Rk, atol=1e-12)
    np.testing.assert_array_equal(np.tril(Rn, -1), 0.0)
    np.testing.assert_allclose(Rn.T @ Z[:s - 1], np.delete(E, k, axis=0), atol=1e-12)
    assert not Rbuf[s - 1:].any() and not Rbuf[:, s - 1:].any() and not Z[s - 1:].any()


@pytest.mark.parametrize("seed", range(5))
def test_minor_cycles_kernel_matches_the_numpy_reference(seed):
    # The compiled minor cycles against a plain re-statement: affine weights from a
    # fresh solve of U_S U_S^T (no factor updates), Wolfe's ratio step, drops.
    hd = _hd()
    rng = np.random.default_rng(seed)
    P, Q = rng.standard_normal((30, 12)), rng.standard_normal((25, 12)) + 0.5
    sv = hd._ActiveSet(P, Q, P[:, 0], Q[:, 0], atol=1e-9)
    sv._append(list(rng.permutation(np.r_[2:30, 32:55])[:10]))
    lam = rng.random(sv.s)
    on_p = sv.on_p[:sv.s]
    lam[on_p] /= lam[on_p].sum()
    lam[~on_p] /= lam[~on_p].sum()
    sv.lam[:sv.s] = lam
    ids, lam = sv.idx[:sv.s].copy(), lam.copy()
    while True:  # reference
        U = sv._lift(ids)
        on_p = ids < sv.n_a
        E = np.stack([on_p, ~on_p], axis=1).astype(float)
        Y = np.linalg.solve(U @ U.T, E)
        alpha = Y @ np.linalg.solve(E.T @ Y, np.ones(2))
        if alpha.min() > hd._Z_POSITIVE:
            lam = alpha
            break
        new, neg = hd._ratio_step(lam, alpha)
        drop = neg & (new <= hd._Z_POSITIVE)
        if not drop.any():
            drop[np.flatnonzero(neg)[np.argmin(new[neg])]] = True
        ids, lam, on_p = ids[~drop], new[~drop], on_p[~drop]
        lam[on_p] /= lam[on_p].sum()
        lam[~on_p] /= lam[~on_p].sum()
    sv._minor_cycles()
    assert not sv.stalled
    np.testing.assert_array_equal(sv.idx[:sv.s], ids)
    np.testing.assert_allclose(sv.lam[:sv.s], lam, atol=1e-10)
    _assert_factor_exact(sv)
    a_w, b_w = sv.weights()
    np.testing.assert_allclose(sv.x, a_w @ P - b_w @ Q, atol=1e-12)


@SETTINGS
@given(point_sets(max_d=6, max_n=12))
def test_property_active_set_alone_matches_reference(sets):
    # On these small sets the active set certifies on its own: no Wolfe fallback.
    hd = _hd()
    A, B = sets
    P, Q, mu, R = hd._prepare(A, B)
    if R == 0:
        return
    sv = hd._ActiveSet(P, Q, P.mean(0) @ P.T, P.mean(0) @ Q.T, atol=1e-9)
    hd._run(sv, P, Q, rtol=1e-9, atol=1e-12, max_iter=10_000)
    assert sv.done  # certified or stalled, never out of iterations
    a_w, b_w = sv.weights()
    assert a_w.min() >= 0 and b_w.min() >= 0
    assert np.isclose(a_w.sum(), 1) and np.isclose(b_w.sum(), 1)
    upper = np.linalg.norm(a_w @ A - b_w @ B)
    ref = hull_distance_reference(A, B)
    if sv.done and not sv.stalled:
        # Certified to 1e-9 relative or 1e-12 R absolute (on the scaled data); the
        # floors allow for rounding in the raw coordinates.
        floor = 1e-10 * R + 1e-12 * (1 + max(abs(A).max(), abs(B).max()))
        assert abs(upper - ref) <= 1e-8 * ref + floor


def test_gaussian_pairs_are_certified_by_the_active_set_alone(monkeypatch):
    hd = _hd()

    def no_fallback(*args, **kwargs):
        raise AssertionError("the Wolfe fallback ran")

    monkeypatch.setattr(hd, "_wolfe_fallback", no_fallback)
    rng = np.random.default_rng(11)
    for d, n in [(384, 300), (20, 400)]:
        A, B = gaussian_pair(rng, n, n + 37, d, 2.5)
        res = hull_distance(A, B)
        check_certificate(A, B, res)
        assert close(res.distance, hull_distance_svm_reference(A, B), rtol=1e-6)


def test_nearly_touching_hulls_fall_back_to_wolfe(monkeypatch):
    # The active set stalls here (violating points look dependent on its support);
    # Wolfe's corral and the polish certify the pair, alone and in the batched driver.
    hd = _hd()
    calls = []
    fallback = hd._wolfe_fallback

    def counted(*args, **kwargs):
        calls.append(1)
        return fallback(*args, **kwargs)

    monkeypatch.setattr(hd, "_wolfe_fallback", counted)
    A, B = nearly_touching_pair(0, 3e-6)
    res = hull_distance(A, B)
    assert len(calls) == 1
    check_certificate(A, B, res)
    D, info = pairwise_hull_distances(np.vstack([A, B]), np.r_[np.zeros(300, int),
                                                                np.ones(300, int)])
    assert len(calls) == 2
    assert close(D[0, 1], 3e-6, rtol=1e-6, floor=0.0)


def test_active_set_without_progress_gives_up_and_wolfe_certifies(monkeypatch):
    # Degenerate cycling (real: nearly touching POS hulls at MiniLM's embedding layer,
    # x unchanged for 600+ major cycles until max_iter) is simulated by minor cycles
    # that never move: after _MAX_FLAT flat major cycles the active set stops and the
    # Wolfe fallback certifies the pair, alone and in the batched driver.
    hd = _hd()
    calls = []
    fallback = hd._wolfe_fallback

    def counted(solver, **kwargs):
        calls.append(solver.n_iter)
        assert solver.stalled and solver.flat == hd._MAX_FLAT
        return fallback(solver, **kwargs)

    monkeypatch.setattr(hd, "_wolfe_fallback", counted)
    monkeypatch.setattr(hd._ActiveSet, "_minor_cycles", lambda self: None)
    rng = np.random.default_rng(2)
    A, B = gaussian_pair(rng, 80, 70, 100, 3.0)  # d > n: no dependent points early
    res = hull_distance(A, B)
    assert len(calls) == 1
    check_certificate(A, B, res)
    assert close(res.distance, hull_distance_svm_reference(A, B), rtol=1e-6)
    D, _ = pairwise_hull_distances(np.vstack([A, B]), np.r_[np.zeros(80, int), np.ones(70, int)])
    assert len(calls) == 2
    assert close(D[0, 1], res.distance, rtol=1e-6)


def test_wolfe_cycling_without_progress_stops_as_stalled(monkeypatch):
    # Rounding can make Wolfe cycle on nearly touching hulls: each new vertex leaves the
    # corral at once and x never moves (real: POS at MiniLM's embedding layer, run to
    # max_iter = 100,000 and then reported as uncertified). Simulated by minor cycles
    # that drop the vertex just added: Wolfe must stop after _MAX_FLAT_WOLFE cycles as
    # stalled (the driver then prices all points and polishes), not run to max_iter.
    hd = _hd()

    def drop_newest(corral):
        s = corral.s - 1
        corral.members.discard((int(corral.ia[s]), int(corral.ib[s])))
        corral.R = np.asfortranarray(corral.R[:s, :s])
        corral.s = s

    monkeypatch.setattr(hd._Corral, "minor_cycles", drop_newest)
    rng = np.random.default_rng(5)
    P, Q = rng.standard_normal((200, 30)) / 8, rng.standard_normal((150, 30)) / 8 + 0.05
    w = P.mean(0) - Q.mean(0)
    sv = hd._PairSolver(P, Q, P @ w, Q @ w, atol=1e-9)
    assert sv.inner(10_000) is True
    assert sv.stalled and sv.n_iter == 1 + hd._MAX_FLAT_WOLFE
