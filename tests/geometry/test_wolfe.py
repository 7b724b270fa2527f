"""Tests of Wolfe's algorithm on the Minkowski difference (harness.geometry._wolfe)."""

import numpy as np

import harness.geometry._wolfe as wolfe_mod


def test_wolfe_cycling_without_progress_stops_as_stalled(monkeypatch):
    # Rounding can make Wolfe cycle on nearly touching hulls: each new vertex leaves the
    # corral at once and x never moves (real: POS at MiniLM's embedding layer, run to
    # max_iter = 100,000 and then reported as uncertified). Simulated by minor cycles
    # that drop the vertex just added: Wolfe must stop after MAX_FLAT_WOLFE cycles as
    # stalled (the driver then prices all points and polishes), not run to max_iter.

    def drop_newest(corral):
        s = corral.s - 1
        corral.members.discard((int(corral.ia[s]), int(corral.ib[s])))
        corral.R = np.asfortranarray(corral.R[:s, :s])
        corral.s = s

    monkeypatch.setattr(wolfe_mod.Corral, "minor_cycles", drop_newest)
    rng = np.random.default_rng(5)
    P, Q = rng.standard_normal((200, 30)) / 8, rng.standard_normal((150, 30)) / 8 + 0.05
    w = P.mean(0) - Q.mean(0)
    sv = wolfe_mod.WolfeSolver(P, Q, P @ w, Q @ w, atol=1e-9)
    assert sv.inner(10_000) is True
    assert sv.stalled and sv.n_iter == 1 + wolfe_mod.MAX_FLAT_WOLFE
