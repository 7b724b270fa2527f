"""A DirectProbe run past the tier's time limit, from the analysis to the verdict.

The analysis stores what the run proved (``complete`` False, ``linear`` when decided,
bounds on the cluster count); reading anything else raises ``BudgetExceeded``; the claims
turn that into "not run: budget" for the seed, never into a number; F3 still decides when
the proven bounds settle its rule; the executor and the seed records keep the note.
"""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

import harness.geometry._oracle as oracle_mod
from claims import _framework
from claims._framework import NOT_RUN, Cell, Evidence, combine, decide, settle
from claims.conftest import _verdict
from harness.analyses import snapshot_geometry
from harness.analyses.snapshot_geometry import DirectProbeResult
from harness.exceptions import BudgetExceeded
from harness.executor import Summary
from harness.tiers import get_tier

TINY = get_tier("tiny")


def _vectors(seed=0, n=60):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(3, 2))[y] + rng.normal(size=(n, 2))
    return SimpleNamespace(X=X, y=y.astype(str), source=f"vectors-{seed}")


def _workspace(limit):
    configs = []

    def cached(config, compute, arrays=()):
        configs.append(config)
        return compute()
    return SimpleNamespace(tier=replace(TINY, directprobe_time_limit=limit), cached=cached,
                           configs=configs)


def test_a_stopped_run_keeps_what_it_proved_and_refuses_the_rest(monkeypatch):
    ticks = iter(range(10**6))
    monkeypatch.setattr(oracle_mod, "CLOCK", lambda: float(next(ticks)))
    ws = _workspace(3)
    result = snapshot_geometry.cluster(ws, _vectors())
    assert ws.configs[0]["time_limit"] == 3  # a larger limit is another artifact
    assert result["complete"] is False and result["n_labels"] == 3
    assert result["n_clusters_at_least"] >= 3 and result["time_limit"] == 3
    with pytest.raises(BudgetExceeded, match="vectors-0.*'n_clusters' is not known"):
        result["n_clusters"]
    with pytest.raises(BudgetExceeded):
        result["cluster_labels"]
    # Without a limit the same vectors give the full answer, under a key without one.
    ws = _workspace(None)
    full = snapshot_geometry.cluster(ws, _vectors())
    assert full["complete"] and "time_limit" not in ws.configs[0]
    assert result["n_clusters_at_least"] <= full["n_clusters"] <= result["n_clusters_at_most"]


def test_a_complete_result_raises_a_plain_key_error_for_unknown_keys():
    with pytest.raises(KeyError):
        DirectProbeResult({"complete": True})["nothing"]


# ---- the claims -----------------------------------------------------------------------------------
CELL = Cell("tiny", "m", "pos", 6)
CLAIM = "F9"  # read by _framework._measure from the check's module


def _check_over_budget(ws, cell, seed):
    if seed == 1:
        return Evidence(CLAIM, cell, headline="{v}").decide(True, "v > 0", v=1.0)
    raise BudgetExceeded("DirectProbe stopped", {"linear": False, "n_clusters_at_least": 18})


def test_a_seed_over_budget_does_not_vote_and_says_so(monkeypatch):
    monkeypatch.setattr(_framework, "require_weights", lambda model: None)
    ws = SimpleNamespace(tier=replace(TINY, seeds=(0,)))
    ev = decide(_check_over_budget, ws, CELL)
    assert ev.holds is None and ev.not_run.startswith("budget: DirectProbe stopped")
    assert ev.claim == "F9" and ev.numbers["n_clusters_at_least"] == 18
    assert ev.seeds[0]["verdict"] == NOT_RUN
    with pytest.raises(pytest.skip.Exception, match="not run: budget"):
        settle(ev, [])
    assert _verdict("skipped", ev) == NOT_RUN
    # Beside a measured seed, the measured one decides and the rule says what was left out.
    ws = SimpleNamespace(tier=replace(TINY, seeds=(0, 1)))
    ev = decide(_check_over_budget, ws, CELL)
    assert ev.holds is True and "1 not run: budget" in ev.rule
    assert [s["verdict"] for s in ev.seeds] == [NOT_RUN, "holds"]


def test_not_applicable_and_not_run_seeds_together_are_not_run():
    na = Evidence("F9", CELL).inapplicable("linear already")
    nr = Evidence("F9", CELL).over_budget("budget: stopped")
    ev = combine([na, nr], (0, 1))
    assert ev.not_run.startswith("on 1 of 2 seeds") and ev.holds is None


def test_a_seed_record_keeps_not_run_and_gives_it_back(tmp_path, monkeypatch):
    from harness.report import seed_records

    paper = get_tier("paper")
    cell = Cell("paper", "minilm-l6", "pos", 6)
    ev = combine([Evidence("F9", cell).over_budget("budget: stopped", linear=False)], (0,))
    records = [{"claim": "F9", "cell": vars(cell), "cell_id": cell.id, "seeds": ev.seeds}]
    seed_records.write_record(tmp_path, seed_records.build_record(
        0, records, paper.to_dict(), {}, None))
    monkeypatch.setattr(_framework, "COMMITTED", {"dir": str(tmp_path / "seeds"), "by_tier": {},
                                                  "analysis_code": None})
    [(seed, (back, source))] = _framework.committed_evidence(Evidence("F9", cell), paper)
    assert seed == 0 and back.not_run == "budget: stopped" and back.numbers == {"linear": False}
    # The budget is no part of the protocol: a record stays valid under another limit.
    other = replace(paper, directprobe_time_limit=60.0).to_dict()
    assert list(seed_records.committed_records(tmp_path, other)) == [0]


# ---- F3 on bounds ------------------------------------------------------------------------------
def _result(n_labels, count=None, bounds=None, linear=None):
    if count is not None:
        return DirectProbeResult(complete=True, n_clusters=count, n_labels=n_labels,
                                 linear=count == n_labels, n_dropped_duplicates=0)
    out = DirectProbeResult(complete=False, n_labels=n_labels, n_clusters_at_least=bounds[0],
                            n_clusters_at_most=bounds[1], n_dropped_duplicates=0,
                            budget_note="DirectProbe on v: stopped")
    if linear is not None:
        out["linear"] = linear
    return out


@pytest.mark.parametrize("before, after, expect", [
    # the original stopped, not linear: at least 18 clusters; fine-tuned linear: 17
    (_result(17, bounds=(18, 40), linear=False), _result(17, count=17), True),
    # fine-tuned stopped with at least 41 > at most 40 before: the count grew
    (_result(17, bounds=(18, 40), linear=False), _result(17, bounds=(41, 90), linear=False),
     False),
    # the bounds overlap: not run
    (_result(17, bounds=(18, 40), linear=False), _result(17, count=30), "not run"),
    # the original undecided: not run
    (_result(17, bounds=(17, 900)), _result(17, count=17), "not run"),
    # both finished: the plain rule
    (_result(17, count=20), _result(17, count=18), True),
])
def test_f3_decides_on_proven_bounds_when_they_settle_it(monkeypatch, before, after, expect):
    from claims import test_f3_simplification as f3

    ends = {"first": before, "last": after}
    monkeypatch.setattr(f3.snapshot_geometry, "cluster", lambda ws, vectors: ends[vectors])
    ws = SimpleNamespace(vectors=lambda model, task, update, split, layer, seed=None: update,
                         task_data=lambda task: SimpleNamespace(kind="token"))
    ev = _framework._measure(f3.check_cluster_count_falls, ws, CELL, 0)
    if expect == "not run":
        assert ev.not_run.startswith("budget:") and ev.holds is None
    else:
        assert ev.holds is expect and not ev.not_run


# ---- the executor ------------------------------------------------------------------------------
def test_the_summary_lists_units_stopped_at_their_limit():
    summary = Summary("serial")
    unit = SimpleNamespace(id="cluster:pos:L0", stage="directprobe", kind="cluster",
                           kwargs={"update": "first", "seed": 0})
    summary.record(unit, {"seconds": 600.0, "cpu_s": 600.0, "budget": "stopped"})
    assert summary.over_budget == {"cluster:pos:L0": "stopped"}
    assert "1 stopped at their time limit (not run: budget)" in summary.line()
