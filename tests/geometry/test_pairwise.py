"""Tests of harness.geometry.pairwise: all pairs of groups, batched."""

import importlib

import numpy as np
import pytest

import harness.geometry.pairwise as pairwise_mod
from harness.exceptions import SolverError
from harness.geometry import hull_distance, pairwise_hull_distances, pairwise_separable

from geometry_helpers import close, grouped_data
from geometry_reference import are_separable_reference, hull_distance_svm_reference

# The module itself (harness.geometry re-exports a function of the same name).
hd_mod = importlib.import_module("harness.geometry.hull_distance")


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


def test_pairwise_retries_an_uncertified_pair_on_its_own(monkeypatch):
    # The batched path centres and scales all groups together; a nearly touching pair
    # that it cannot certify (seen on POS at MiniLM's embedding layer) is re-solved alone.
    rng = np.random.default_rng(5)
    X, g = grouped_data(rng, 3, 120, 4, 4.0)
    expected, _ = pairwise_hull_distances(X, g)
    finish, calls = pairwise_mod._finish, []

    def flaky_finish(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SolverError("hull_distance did not certify the distance (planted)")
        return finish(*args, **kwargs)

    monkeypatch.setattr(pairwise_mod, "_finish", flaky_finish)
    D, info = pairwise_hull_distances(X, g)
    assert len(calls) >= 3
    np.testing.assert_allclose(D, expected, rtol=2e-6, atol=1e-12)

    def always_failing(*args, **kwargs):
        raise SolverError("hull_distance did not certify the distance (planted)")

    monkeypatch.setattr(pairwise_mod, "_finish", always_failing)
    monkeypatch.setattr(hd_mod, "_finish", always_failing)  # the lone re-solve fails too
    with pytest.raises(SolverError, match=r"groups 0 and 1: hull_distance did not certify"):
        pairwise_hull_distances(X, g)
