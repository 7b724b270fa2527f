"""Reports written from the seed records: a workspace that never computes, and the tables
filled from the claims' evidence where the store holds nothing."""

import time

import pytest

from harness.analyses.workspace import Workspace
from harness.report.markdown import _appendix_c_from_records, _table_5_from_records
from harness.report.stored import NotInStore, StoredWorkspace
from harness.store import RunStore
from harness.tiers import get_tier

TIER = get_tier("tiny")


def _boom():
    raise AssertionError("a stored-only workspace computed an analysis")


def _answer():
    return {"value": 42, "labels": ["a", "b"]}


def test_an_analysis_in_the_store_is_read_under_the_key_workspace_stores_it(tmp_path):
    config = {"analysis": "test-answer", "train": "some-vectors/layer1"}
    assert Workspace(TIER, store=RunStore(tmp_path), progress=False).cached(config, _answer) \
        == _answer()
    stored = StoredWorkspace(TIER, store=RunStore(tmp_path))
    assert stored.cached(config, _answer) == _answer()


def test_an_analysis_not_in_the_store_raises_before_computing(tmp_path):
    stored = StoredWorkspace(TIER, store=RunStore(tmp_path))
    with pytest.raises(NotInStore, match="analysis test-other not in the store"):
        stored.cached({"analysis": "test-other"}, _boom)
    assert not any(tmp_path.rglob("manifest.json"))


def test_the_seed_read_by_default_is_the_one_given(tmp_path):
    tier = TIER.with_selection(None, None, [0, 1, 2])
    assert StoredWorkspace(tier, store=RunStore(tmp_path)).seed() == 0
    stored = StoredWorkspace(tier, store=RunStore(tmp_path), seed=2)
    assert stored.seed() == 2 and stored.seed(1) == 1


def test_a_run_not_in_the_store_is_not_trained_and_asked_again_answers_at_once(tmp_path):
    stored = StoredWorkspace(TIER, store=RunStore(tmp_path))
    with pytest.raises(NotInStore, match="fine-tuning run .* not in the store"):
        stored.run("minilm-l6", "pos")
    started = time.perf_counter()
    with pytest.raises(NotInStore):
        stored.run("minilm-l6", "pos")
    assert time.perf_counter() - started < 0.1  # remembered: no model loaded again
    assert not any(tmp_path.rglob("manifest.json"))
    assert stored.n_layers("minilm-l6", "pos") == 6  # from the model's config


def _record(claim, task, numbers, extra=None):
    return {"claim": claim, "scope": "paper", "numbers": numbers,
            "cell": {"tier": "paper", "model": "m", "task": task, "layer": None,
                     "extra": extra, "scope": "paper"}}


RECORDS = [
    _record("F1", "pos", {"original_acc": 88.5, "original_std": 0.2, "original_sizes": [64, 64],
                          "tuned_acc": 94.8, "tuned_std": 0.06, "tuned_sizes": [32, 32]}),
    _record("F2", "pos", {"linear_train_before": False, "n_clusters_train_before": 20,
                          "similarity_before": None, "linear_train_after": True,
                          "n_clusters_train_after": 17, "similarity_after": 0.7}),
    _record("F6", "ps-fxn", {"n_rose": 5, "n_fell": 12, "mean_change": -0.145,
                             "original_acc": 64.5, "tuned_acc": 67.5}, extra="pos"),
    _record("F6", "ps-fxn", {"n_rose": 17, "n_fell": 0, "mean_change": 3.12, "original_acc": 64.5,
                             "tuned_acc": 71.0, "same_task_acc": 73.9}, extra="ps-role"),
]


def test_an_appendix_c_row_is_read_from_f1_and_f2(tmp_path):
    assert _appendix_c_from_records(RECORDS, "m", "pos") == [
        88.5, 0.2, "(64,64)", 20, "N", None, 94.8, 0.06, "(32,32)", 17, "Y", 0.7]
    assert _appendix_c_from_records(RECORDS[:1], "m", "pos") == [  # no F2: no clusterings
        88.5, 0.2, "(64,64)", None, None, None, 94.8, 0.06, "(32,32)", None, None, None]
    assert _appendix_c_from_records(RECORDS, "m", "dep") is None
    assert _appendix_c_from_records(RECORDS, "other-model", "pos") is None


def test_table_5_rows_are_read_from_f6():
    assert _table_5_from_records(RECORDS, "m", "ps-fxn", None) == "- | - | - | 64.50"
    assert _table_5_from_records(RECORDS, "m", "ps-fxn", "pos") == "5 | 12 | -0.145 | 67.50"
    assert _table_5_from_records(RECORDS, "m", "ps-fxn", "ps-fxn") == "- | - | - | 73.90"
    assert _table_5_from_records(RECORDS, "m", "ps-fxn", "dep") is None
    assert _table_5_from_records([], "m", "ps-fxn", None) is None
