"""DirectProbe's time limit: a run past it says only what it proved, and that is true.

The limit reads ``harness.geometry._oracle.CLOCK`` (CPU seconds); here a counter that
advances one "second" per read takes its place, so each limit stops the run at a fixed
point of its search and the tests are deterministic. Every stop is checked against the
unlimited run on the same data.
"""

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import harness.geometry._oracle as oracle_mod
from harness.exceptions import BudgetExceeded
from harness.geometry.clustering import DirectProbe, cluster_labels


@pytest.fixture
def ticks(monkeypatch):
    """Replace the CPU clock by a counter: ``time_limit=k`` allows k clock reads."""
    counter = itertools.count()
    monkeypatch.setattr(oracle_mod, "CLOCK", lambda: float(next(counter)))


def overlapping(seed, n, d, k):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d))
    y = rng.integers(0, k, n)
    return centers[y] + rng.normal(size=(n, d)), y


def check_stop(full, stop):
    """What a stopped run certified is true of the unlimited run ``full``."""
    got = stop.certified
    assert got["linear"] in (None, full.linear)
    assert got["n_labels"] == len(np.unique(full.cluster_labels))
    assert got["n_clusters_at_least"] <= full.n_clusters <= got["n_clusters_at_most"]
    if got["linear"] is False:
        assert got["n_clusters_at_least"] == got["n_labels"] + 1
    assert "DirectProbe stopped at its time limit" in str(stop)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), n=st.integers(2, 30), d=st.integers(1, 5),
       k=st.integers(1, 3), mode=st.sampled_from(["exact", "reference"]))
def test_every_stop_certifies_only_what_is_true(ticks, seed, n, d, k, mode):
    X, y = overlapping(seed, n, d, k)
    full = cluster_labels(X, y, mode=mode)
    stopped = finished = 0
    for limit in range(0, 400):
        try:
            res = cluster_labels(X, y, mode=mode, time_limit=limit)
        except BudgetExceeded as stop:
            check_stop(full, stop)
            stopped += 1
            continue
        # A run within its limit is the unlimited run.
        assert np.array_equal(res.assignment, full.assignment)
        finished += 1
        break
    assert finished == 1 and stopped >= 1  # limit 0 stops before the first check


def test_bounds_tighten_as_the_limit_grows(ticks):
    # Non-linear data, reference mode: first "undecided", then "not linear" with an upper
    # bound that only falls, then the answer.
    X, y = overlapping(3, 60, 2, 3)
    full = cluster_labels(X, y, mode="reference")
    assert not full.linear
    seen = []
    for limit in range(0, 2000):
        try:
            cluster_labels(X, y, mode="reference", time_limit=limit)
        except BudgetExceeded as stop:
            seen.append((stop.certified["linear"], stop.certified["n_clusters_at_most"]))
            continue
        break
    else:
        pytest.fail("the run never finished within 2000 ticks")
    assert seen[0][0] is None and seen[-1][0] is False
    highs = [hi for linear, hi in seen if linear is False]
    assert highs == sorted(highs, reverse=True) and highs[-1] >= full.n_clusters
    assert highs[0] > highs[-1]  # the search and the greedy phase did tighten it


def test_linear_data_is_never_certified_nonlinear(ticks):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(20, 3)), rng.normal(size=(20, 3)) + 20.0])
    y = [0] * 20 + [1] * 20
    for limit in range(0, 50):
        try:
            res = cluster_labels(X, y, time_limit=limit)
        except BudgetExceeded as stop:
            assert stop.certified["linear"] is None
            continue
        assert res.linear
        return
    pytest.fail("the linear run never finished within 50 ticks")


def test_no_limit_and_a_generous_one_change_nothing():
    X, y = overlapping(1, 40, 3, 3)
    a = cluster_labels(X, y).assignment
    assert np.array_equal(cluster_labels(X, y, time_limit=3600.0).assignment, a)
    assert np.array_equal(DirectProbe(time_limit=3600.0).fit(X, y).assignment_, a)


def test_the_estimator_passes_its_limit_on(ticks):
    X, y = overlapping(1, 40, 3, 3)
    with pytest.raises(BudgetExceeded, match="time limit of 0 CPU s"):
        DirectProbe(time_limit=0).fit(X, y)


# ---- one LP that outlasts the limit -------------------------------------------------------


def test_an_lp_stops_at_the_deadline_of_its_block():
    # HiGHS is handed the time left: with 1e-9 s of it, a real LP stops at once.
    from geometry_helpers import nearly_touching_pair
    from harness.geometry import separability

    A, B = nearly_touching_pair(0, 3e-6, n=100, k=30)
    with separability.lp_deadline(lambda: 0.0, 1e-9):
        with pytest.raises(separability.LPOutOfTime):
            separability._solve_feasibility_lp(A, B, feasibility_tol=1e-7)
    with separability.lp_deadline(lambda: 5.0, 1.0):  # already past: no LP starts
        with pytest.raises(separability.LPOutOfTime):
            separability._solve_feasibility_lp(A, B, feasibility_tol=1e-7)
    # Outside the block, and with no deadline, the same LP runs to its answer.
    with separability.lp_deadline(lambda: 0.0, None):
        answer = separability._solve_feasibility_lp(A, B, feasibility_tol=1e-7)
    free = separability._solve_feasibility_lp(A, B, feasibility_tol=1e-7)
    assert (answer is None) == (free is None)
    if free is not None:
        assert np.array_equal(answer[0], free[0]) and answer[1] == free[1]


def test_directprobe_stops_inside_an_lp_that_outlasts_its_limit(monkeypatch):
    # At tol 1e-9 one LP on PS-fxn's embedding layer ran for more than 20 minutes past a
    # 600 s limit, which was checked only between oracle calls. Here every oracle call
    # goes to the LP (the nearest-point solver "fails"), and the clock jumps past the
    # deadline while HiGHS runs: the run stops with what it proved, within the LP.
    from harness.exceptions import SolverError
    from harness.geometry import separability

    now = [0.0]
    monkeypatch.setattr(oracle_mod, "CLOCK", lambda: now[0])

    def no_solver(*args, **kwargs):
        raise SolverError("forced: the LP decides")

    monkeypatch.setattr(oracle_mod, "_hull_distance", no_solver)
    real = separability.linprog
    lps = []

    def slow_linprog(c, options=None, **kwargs):
        lps.append(options.get("time_limit"))
        now[0] += 1000.0  # the LP outlasts the limit ...
        res = real(c, options=options, **kwargs)
        res.status, res.message = 1, "Time limit reached."  # ... and HiGHS says so
        return res

    monkeypatch.setattr(separability, "linprog", slow_linprog)
    X, y = overlapping(1, 40, 3, 3)
    with pytest.raises(BudgetExceeded) as stop:
        cluster_labels(X, y, mode="reference", time_limit=600.0)
    assert lps == [600.0]  # one LP, handed the whole limit, and nothing after it
    monkeypatch.undo()
    check_stop(cluster_labels(X, y, mode="reference"), stop.value)
