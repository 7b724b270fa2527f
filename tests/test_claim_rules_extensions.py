"""The claims from later literature (X1, X2): rules and checks on hand-made numbers.

As ``test_claim_rules.py`` does for F1-F8: each rule gets numbers that must hold and a
counterexample that must not; the X1 check runs on hand-made snapshots through the real
analyses (``snapshot_workspace.py``).
"""

import numpy as np
import pytest

from snapshot_workspace import SnapshotWorkspace, blobs

from claims._framework import Cell
from claims.test_x1_top_layers_change_most import (check_top_layers_change_most,
                                                   rule_top_layers_change_most)
from claims.test_x2_parsing_reconfigures_deeper import (THRESHOLD,
                                                        check_parsing_reconfigures_deeper,
                                                        first_below,
                                                        rule_parsing_reconfigures_deeper)
from harness.analyses import similarity
from harness.store import RunStore


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "store")


def test_x1_rule_tolerates_0_02_and_no_more():
    assert rule_top_layers_change_most({1: 0.99, 2: 0.9, 3: 0.5})[0]
    assert rule_top_layers_change_most({1: 0.9, 2: 0.915, 3: 0.5})[0]  # within 0.02
    assert not rule_top_layers_change_most({1: 0.9, 2: 0.93, 3: 0.5})[0]
    assert not rule_top_layers_change_most({1: 0.5, 2: 0.7, 3: 0.9})[0]  # reversed


@pytest.mark.parametrize("cka", [{1: 1.0, 2: 1.0, 3: 1.0}, {1: 0.99, 2: 0.985, 3: 0.975}])
def test_x1_a_flat_profile_does_not_show_the_top_layers_changing_most(cka):
    # Ordered within the tolerance, but the top layer is not below layer 1 by more than it.
    assert not rule_top_layers_change_most(cka)[0]


def layered_runs(rng, noise_by_layer):
    """Update 0 and 9 of layers 0..L: four separated labels; at update 9 each layer gets
    Gaussian noise of its own size (more noise: less similar to the original)."""
    centres = rng.standard_normal((4, 6)) * 6
    first, last = {}, {}
    for layer, noise in enumerate(noise_by_layer):
        X, y = blobs(rng, centres, n=12, scale=1.0)
        first[layer] = (X, y)
        last[layer] = (X + noise * rng.standard_normal(X.shape), y)
    return {0: first, 9: last}


def test_x1_check_holds_when_deeper_layers_change_more_and_not_otherwise(store):
    cell = Cell("tiny", "m", "pos", scope="extension")
    deeper = SnapshotWorkspace(layered_runs(np.random.default_rng(0), [0.0, 0.1, 1.0, 4.0]),
                               store)
    ev = check_top_layers_change_most(deeper, cell, 0)
    assert ev.holds, ev.message()
    assert ev.numbers["layers_compared"] == [1, 2, 3]
    assert ev.numbers["cka_end_by_layer"][0] == pytest.approx(1.0)
    # The paper's similarity is defined on these linear layers: the rankings are compared.
    assert ev.numbers["layers_ranked"] == [1, 2, 3]
    assert ev.numbers["spearman_pearson_vs_cka"] == pytest.approx(1.0)
    shallower = SnapshotWorkspace(layered_runs(np.random.default_rng(0), [0.0, 4.0, 1.0, 0.1]),
                                  store)
    assert check_top_layers_change_most(shallower, cell, 0).holds is False


def test_x1_check_leaves_out_undefined_layers_with_the_reason(store):
    runs = layered_runs(np.random.default_rng(1), [0.0, 0.1, 1.0])
    for update in runs:  # a constant layer 0, as TREC-50's [CLS] embedding
        X, y = runs[update][0]
        runs[update][0] = (np.ones_like(X), y)
    ev = check_top_layers_change_most(SnapshotWorkspace(runs, store),
                                      Cell("tiny", "m", "trec-50", scope="extension"), 0)
    assert ev.numbers["cka_end_by_layer"][0] is None
    assert "layer 0:" in ev.numbers["undefined"][0] and "constant" in ev.numbers["undefined"][0]
    assert ev.holds


def test_x1_an_undefined_top_layer_is_not_applicable(monkeypatch):
    # The claim is about the top layers: it must not hold on the lower layers alone.
    cka = [1.0, 0.99, 0.9, None]
    monkeypatch.setattr(similarity, "cka_by_layer", lambda ws, model, task, seed=None: [
        {"cka": v, "undefined": "" if v else "constant", "n_samples": 48} for v in cka])
    monkeypatch.setattr(similarity, "rank_agreement", lambda ws, model, task, seed=None: {
        "pearson": [None] * 4, "ranked_layers": [], "spearman": None})
    ev = check_top_layers_change_most(None, Cell("tiny", "m", "pos", scope="extension"), 0)
    assert not ev.applicable and "top layer's (layer 3) CKA is undefined" in ev.not_applicable


def test_x2_first_layer_below_the_threshold():
    assert THRESHOLD == 0.5
    assert first_below({1: 0.9, 2: 0.49, 3: 0.2}) == 2
    assert first_below({1: 0.9, 2: 0.5, 3: None}) is None  # 0.5 itself is not below


def test_x2_rule():
    assert rule_parsing_reconfigures_deeper(3, 5)[0]
    assert rule_parsing_reconfigures_deeper(3, None)[0]  # TREC-50 never reconfigured
    assert not rule_parsing_reconfigures_deeper(5, 5)[0]  # a tie does not hold
    assert not rule_parsing_reconfigures_deeper(6, 4)[0]
    assert not rule_parsing_reconfigures_deeper(None, 4)[0]


@pytest.mark.parametrize("dep, trec, verdict", [
    ([0.9, 0.6, 0.4, 0.2], [0.95, 0.9, 0.8, 0.45], True),
    ([0.9, 0.8, 0.7, 0.45], [0.95, 0.6, 0.4, 0.2], False),
    # DEP never reconfigured: the finding fails, whatever TREC-50 does.
    ([0.9, 0.8, 0.7, 0.6], [0.95, 0.9, 0.8, 0.7], False),
    ([0.9, 0.8, 0.7, 0.6], [0.95, 0.6, 0.4, 0.2], False),
    # Only a task with no measured layer leaves nothing to compare.
    ([None] * 4, [0.95, 0.9, 0.8, 0.7], None),
    ([0.9, 0.6, 0.4, 0.2], [None] * 4, None),
])
def test_x2_check_reads_both_tasks(monkeypatch, dep, trec, verdict):
    per_task = {"dep": [0.99] + dep, "trec-50": [None] + trec}
    monkeypatch.setattr(similarity, "cka_by_layer", lambda ws, model, task, seed=None: [
        {"cka": v} for v in per_task[task]])
    ws = SnapshotWorkspace({0: {1: blobs(np.random.default_rng(0), [[0, 0], [5, 5]])}}, None)
    ev = check_parsing_reconfigures_deeper(ws, Cell("tiny", "m", "dep", extra="vs-trec-50",
                                                    scope="extension"), 0)
    assert ev.holds is verdict
    assert ev.applicable is (verdict is not None)
    assert ev.numbers["trec_cka_by_layer"] == trec
