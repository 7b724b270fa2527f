"""The separability tolerance: every verdict is "hull distance > tol * R", decided by
the nearest-point solver's bounds, with no LP outside a thin band around the tolerance.

The reference is the definition itself, by brute force: the exact hull distance of
least-distance programming (``separable_at_reference``). Pairs are built with a known
distance ``k * tol * R`` (``k`` on both sides of 1, touching and overlapping included),
so the band where rounding could decide is avoided by construction, not by filtering.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from geometry_helpers import counted_lp, nearly_touching_pair, radius, random_rotation
from geometry_reference import hull_distance_reference, separable_at_reference
from geometry_reference_clustering import cluster_labels_naive
from harness.geometry import (SEPARABILITY_TOL, cluster_labels, hull_distance,
                              pairwise_hull_distances, pairwise_separable)

TAU = SEPARABILITY_TOL
# Distances in units of tol * R: touching (0), inside the tolerance, and outside it.
MULTIPLES = [0.0, 0.3, 0.8, 1.25, 3.0, 1e3]


def pair_at(rng, n_a, n_b, d, k, scale, duplicates):
    """Two sets whose hulls are exactly ``k * TAU * R`` apart (R: their radius).

    Along the first axis A lies at or above +g/2 and B at or below -g/2, and A[0], B[0]
    differ only there: the distance is g. ``k = 0`` gives a shared point (touching).
    Then a random rotation, a translation and a scale.
    """
    def build(g):
        A = rng.standard_normal((n_a, d)) * scale
        B = rng.standard_normal((n_b, d)) * scale
        A[:, 0] = g / 2 + np.abs(A[:, 0])
        B[:, 0] = -g / 2 - np.abs(B[:, 0])
        A[0, 1:] = B[0, 1:]
        A[0, 0], B[0, 0] = g / 2, -g / 2
        if duplicates:
            A = np.vstack([A, A[:1]])
            B = np.vstack([B, B[-1:]])
        return A, B

    state = rng.bit_generator.state
    A, B = build(0.0)
    # One point per set: the two coincide at g = 0, and R is then about the gap itself.
    g = k * TAU * (radius(A, B) or scale)
    rng.bit_generator.state = state  # the same points, now g apart
    A, B = build(g)
    Qm = random_rotation(d, rng) if d > 1 else np.ones((1, 1))
    shift = rng.standard_normal(d) * 3 * scale
    return A @ Qm.T + shift, B @ Qm.T + shift, g


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), n_a=st.integers(1, 9), n_b=st.integers(1, 9),
       d=st.integers(2, 14), k=st.sampled_from(MULTIPLES),
       log_scale=st.integers(-3, 3), duplicates=st.booleans())
def test_verdicts_are_distance_above_tolerance(seed, n_a, n_b, d, k, log_scale, duplicates):
    # d > n happens often here (up to 14 dimensions, down to one point per set).
    rng = np.random.default_rng(seed)
    A, B, g = pair_at(rng, n_a, n_b, d, k, 10.0 ** log_scale, duplicates)
    R = radius(A, B)
    exact = hull_distance_reference(A, B)
    size = np.abs(np.vstack([A, B])).max()  # rotation and translation round at this size
    assert exact == pytest.approx(g, abs=1e-12 * size)  # the construction is exact
    # Only a pair whose distance is within 1 % of tol * R could depend on rounding; the
    # construction avoids that, except for one point per set (then R is g / 2).
    assume(abs(exact - TAU * R) > 1e-2 * TAU * R)
    expected = separable_at_reference(A, B, TAU, R)
    if n_a + n_b > 2:
        assert expected is (k > 1)
    res = hull_distance(A, B)
    assert res.separable is expected
    assert (res.distance > 0) is expected
    if expected:
        assert res.distance == pytest.approx(exact, rel=1e-6, abs=1e-9 * R)
    else:  # the result's pair of points is the proof: within the tolerance
        assert res.upper_bound <= TAU * R + 1e-12 * size
    X, groups = np.vstack([A, B]), np.r_[np.zeros(len(A), int), np.ones(len(B), int)]
    assert bool(pairwise_separable(X, groups)[0, 1]) is expected
    D, info = pairwise_hull_distances(X, groups)
    assert bool(info.separable[0, 1]) is expected and bool(D[0, 1] > 0) is expected


@pytest.mark.parametrize("k", MULTIPLES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_lp_outside_the_band(seed, k, monkeypatch):
    # The solver's bounds settle every pair whose distance is not within rounding of
    # tol * R: the LP, the cost of the old oracle on touching hulls, never runs.
    rng = np.random.default_rng(seed)
    A, B, _ = pair_at(rng, 40, 30, 24, k, 1.0, duplicates=True)
    calls = counted_lp(monkeypatch)
    expected = k > 1
    assert hull_distance(A, B).separable is expected
    X, groups = np.vstack([A, B]), np.r_[np.zeros(len(A), int), np.ones(len(B), int)]
    assert bool(pairwise_separable(X, groups)[0, 1]) is expected
    assert bool(pairwise_hull_distances(X, groups)[1].separable[0, 1]) is expected
    assert not calls


def test_hulls_below_the_tolerance_are_settled_by_the_solver(monkeypatch):
    # The shape of POS tags at an embedding layer: 384-d, flat support faces, ~4e-8 R
    # apart. Separable only at a tolerance below that; at the default, not, with no LP.
    A, B = nearly_touching_pair(0, 3e-6)
    assert 3e-6 / radius(A, B) < TAU
    calls = counted_lp(monkeypatch)
    res = hull_distance(A, B)
    assert not res.separable and res.distance == 0.0 and res.upper_bound <= TAU * radius(A, B)
    assert not calls
    assert hull_distance(A, B, tol_lp=1e-9).separable  # the solver resolves it finer


def test_pair_tolerance_is_relative_to_all_the_data():
    # In pairwise functions R is the radius of all of X: a far third group makes R
    # larger, so a pair that separates on its own can fall within the tolerance.
    rng = np.random.default_rng(3)
    A, B, g = pair_at(rng, 6, 6, 3, 3.0, 1.0, duplicates=False)
    groups = np.r_[np.zeros(6, int), np.ones(6, int)]
    assert pairwise_separable(np.vstack([A, B]), groups)[0, 1]
    far = A.mean(0) + 1e3 * radius(A, B) * np.eye(3)[0]
    X = np.vstack([A, B, far[None, :]])
    g3 = np.r_[groups, 2]
    assert g < TAU * np.linalg.norm(X - X.mean(0), axis=1).max()  # within the larger data's tolerance
    S = pairwise_separable(X, g3)
    D, info = pairwise_hull_distances(X, g3)
    assert not S[0, 1] and not info.separable[0, 1] and D[0, 1] == 0.0
    assert S[0, 2] and S[1, 2]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_directprobe_treats_near_duplicates_as_overlapping(seed):
    # Points of other labels within 1e-8 R of a point: strictly separable, but within
    # the tolerance. DirectProbe must give the partition of the brute-force twin that
    # uses the tolerance rule.
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((24, 3))
    y = rng.integers(0, 3, 24)
    R0 = np.linalg.norm(X - X.mean(0), axis=1).max()
    picks = rng.choice(24, 3, replace=False)
    near = X[picks] + 1e-8 * R0 * rng.standard_normal((3, 3))
    X = np.vstack([X, near])
    y = np.r_[y, (y[picks] + 1) % 3]
    R = np.linalg.norm(X - X.mean(0), axis=1).max()

    def partition(res):
        return sorted(tuple(sorted(np.flatnonzero(res.assignment == c).tolist()))
                      for c in range(res.n_clusters))

    at_tau = cluster_labels(X, y, mode="exact")
    assert partition(at_tau) == cluster_labels_naive(
        X, y, separable=lambda P, Q: separable_at_reference(P, Q, TAU, R))
    # The brute-force twin at the tolerance sees the near duplicates as overlaps: the
    # verdicts differ from strict separability there (the LP's, ~1e-9 R and below).
    assert at_tau.n_clusters >= len(cluster_labels_naive(
        X, y, separable=lambda P, Q: separable_at_reference(P, Q, 1e-12, R)))


def test_every_tier_and_command_uses_the_stated_tolerance():
    # One number: the tiers' analyses, `harness directprobe` without a preset, and the
    # kernels' defaults.
    from harness.commands.directprobe import DEFAULTS
    from harness.tiers import TIERS

    assert {tier.separability_tol for tier in TIERS.values()} == {SEPARABILITY_TOL}
    assert {t.directprobe_settings()["separability_tol"] for t in TIERS.values()} == {TAU}
    assert DEFAULTS["separability_tol"] == SEPARABILITY_TOL
