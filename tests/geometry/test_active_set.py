"""Tests of the primal active set (harness.geometry._active_set) and its kernels."""

import importlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import harness.geometry._active_set as active_set_mod
import harness.geometry._wolfe as wolfe_mod
import harness.geometry.pairwise as pairwise_mod
from harness.geometry import hull_distance, pairwise_hull_distances
from harness.geometry.certificates import center_and_scale

from geometry_helpers import (check_certificate, close, gaussian_pair, nearly_touching_pair,
                              point_sets)
from geometry_reference import hull_distance_reference, hull_distance_svm_reference

# The module itself (harness.geometry re-exports a function of the same name).
hd_mod = importlib.import_module("harness.geometry.hull_distance")

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


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
    rng = np.random.default_rng(3)
    P, Q = rng.standard_normal((40, 6)) / 4, rng.standard_normal((30, 6)) / 4
    P[5] = P[4]  # a duplicate: dependent, must be skipped
    sv = active_set_mod.ActiveSet(P, Q, P[:, 0], Q[:, 0], atol=1e-9)
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
    rng = np.random.default_rng(seed)
    P, Q = rng.standard_normal((30, 12)), rng.standard_normal((25, 12)) + 0.5
    sv = active_set_mod.ActiveSet(P, Q, P[:, 0], Q[:, 0], atol=1e-9)
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
        if alpha.min() > wolfe_mod.Z_POSITIVE:
            lam = alpha
            break
        new, neg = wolfe_mod.ratio_step(lam, alpha)
        drop = neg & (new <= wolfe_mod.Z_POSITIVE)
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
    A, B = sets
    (P, Q), mu, R = center_and_scale(A, B)
    if R == 0:
        return
    sv = active_set_mod.ActiveSet(P, Q, P.mean(0) @ P.T, P.mean(0) @ Q.T, atol=1e-9)
    hd_mod._run(sv, P, Q, rtol=1e-9, atol=1e-12, max_iter=10_000)
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

    def no_fallback(*args, **kwargs):
        raise AssertionError("the Wolfe fallback ran")

    monkeypatch.setattr(hd_mod, "wolfe_fallback", no_fallback)
    monkeypatch.setattr(pairwise_mod, "wolfe_fallback", no_fallback)
    rng = np.random.default_rng(11)
    for d, n in [(384, 300), (20, 400)]:
        A, B = gaussian_pair(rng, n, n + 37, d, 2.5)
        res = hull_distance(A, B)
        check_certificate(A, B, res)
        assert close(res.distance, hull_distance_svm_reference(A, B), rtol=1e-6)


def test_nearly_touching_hulls_fall_back_to_wolfe(monkeypatch):
    # The active set stalls here (violating points look dependent on its support);
    # Wolfe's corral and the polish certify the pair, alone and in the batched driver.
    calls = []
    fallback = wolfe_mod.wolfe_fallback

    def counted(*args, **kwargs):
        calls.append(1)
        return fallback(*args, **kwargs)

    monkeypatch.setattr(hd_mod, "wolfe_fallback", counted)
    monkeypatch.setattr(pairwise_mod, "wolfe_fallback", counted)
    A, B = nearly_touching_pair(0, 3e-6)  # ~4e-8 R apart: below the default tolerance
    res = hull_distance(A, B, tol_lp=1e-9)
    assert len(calls) == 1
    check_certificate(A, B, res)
    D, info = pairwise_hull_distances(np.vstack([A, B]), np.r_[np.zeros(300, int),
                                                                np.ones(300, int)],
                                      tol_lp=1e-9)
    assert len(calls) == 2
    assert close(D[0, 1], 3e-6, rtol=1e-6, floor=0.0)


def test_active_set_without_progress_gives_up_and_wolfe_certifies(monkeypatch):
    # Degenerate cycling (real: nearly touching POS hulls at MiniLM's embedding layer,
    # x unchanged for 600+ major cycles until max_iter) is simulated by minor cycles
    # that never move: after _MAX_FLAT flat major cycles the active set stops and the
    # Wolfe fallback certifies the pair, alone and in the batched driver.
    calls = []
    fallback = wolfe_mod.wolfe_fallback

    def counted(solver, **kwargs):
        calls.append(solver.n_iter)
        assert solver.stalled and solver.flat == active_set_mod.MAX_FLAT
        return fallback(solver, **kwargs)

    monkeypatch.setattr(hd_mod, "wolfe_fallback", counted)
    monkeypatch.setattr(pairwise_mod, "wolfe_fallback", counted)
    monkeypatch.setattr(active_set_mod.ActiveSet, "_minor_cycles", lambda self: None)
    rng = np.random.default_rng(2)
    A, B = gaussian_pair(rng, 80, 70, 100, 3.0)  # d > n: no dependent points early
    res = hull_distance(A, B)
    assert len(calls) == 1
    check_certificate(A, B, res)
    assert close(res.distance, hull_distance_svm_reference(A, B), rtol=1e-6)
    D, _ = pairwise_hull_distances(np.vstack([A, B]), np.r_[np.zeros(80, int), np.ones(70, int)])
    assert len(calls) == 2
    assert close(D[0, 1], res.distance, rtol=1e-6)


def test_probe_runs_on_without_changing_the_solver():
    # A probe continues to a smaller atol on its own copies of the factor and
    # weights: the original solver's state (and so its result) is left exactly as it was.
    rng = np.random.default_rng(4)
    A, B = gaussian_pair(rng, 60, 50, 8, 0.2)  # overlapping
    (P, Q), _, _ = center_and_scale(A, B)
    sv = active_set_mod.ActiveSet(P, Q, P.mean(0) @ P.T, P.mean(0) @ Q.T, atol=1e-9,
                                  n_add=2)
    hd_mod._run(sv, P, Q, rtol=1e-9, atol=1e-9, max_iter=6)  # stopped early
    assert not sv.done and np.linalg.norm(sv.x) > 1e-3
    before = {k: getattr(sv, k).copy() for k in ("_R", "_Z", "_rows", "lam", "idx", "x")}
    twin = sv.probe(atol=1e-12)
    hd_mod._run(twin, P, Q, rtol=0.0, atol=1e-12, max_iter=10_000)
    assert np.linalg.norm(twin.x) < 1e-12 < np.linalg.norm(sv.x)
    for k, v in before.items():
        np.testing.assert_array_equal(getattr(sv, k), v)
    a_w, b_w = twin.weights()
    np.testing.assert_allclose(a_w @ P - b_w @ Q, twin.x, atol=1e-13)
