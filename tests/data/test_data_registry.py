"""Task registry and stats: names, kinds without loading, errors, the stats JSON structure."""

import json

import pytest

import harness.data as data
from harness.cli import main
from harness.data import load_task, task_kind, task_names
from harness.data.stats import data_stats, split_stats
from harness.exceptions import HarnessWarning, UnknownNameError

EXPECTED_KINDS = {
    "pos": "token", "dep": "pair", "ps-role": "token", "ps-fxn": "token",
    "trec-50": "sentence", "trec-6": "sentence", "pos-ewt": "token", "dep-ewt": "pair",
}


def test_names_and_kinds_without_loading(tmp_path):
    assert task_names() == sorted(EXPECTED_KINDS)
    for name, kind in EXPECTED_KINDS.items():
        assert task_kind(name) == kind
    assert data.TASKS._frozen


def test_unknown_task_suggests_close_names():
    with pytest.raises(UnknownNameError, match="Unknown task 'ps-rol'.*Did you mean: ps-role"):
        load_task("ps-rol")
    with pytest.raises(KeyError):
        task_kind("trec50")


def test_task_options_are_listed():
    assert data.task_spec("pos").options() == {"ud_version": "r2.9", "pud_train_sentences": 800}
    assert data.task_spec("ps-fxn").options() == {"eval_split": "test"}
    assert data.task_spec("trec-50").options() == {}
    with pytest.raises(TypeError, match="Its options are: none"):
        load_task("trec-50", granularity="coarse")


def test_data_dir_env_is_used(monkeypatch, tmp_path):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        load_task("trec-6")


def test_stats_structure(real_data_dir):
    stats = data_stats(["pos", "trec-6"], real_data_dir)
    assert list(stats) == ["pos", "trec-6"]
    pos = stats["pos"]
    assert set(pos) == {"kind", "n_labels", "dropped_test_labels", "splits"}
    assert pos["kind"] == "token" and pos["n_labels"] == 17
    assert set(pos["splits"]) == {"train", "test"}
    train = pos["splits"]["train"]
    assert set(train) == {"sentences", "examples", "n_labels", "labels"}
    assert (train["sentences"], train["examples"]) == (800, 16854)
    assert sum(train["labels"].values()) == train["examples"]
    assert list(train["labels"]) == sorted(train["labels"])
    assert stats["trec-6"]["splits"]["train"]["labels"]["ABBR"] == 86
    json.dumps(stats)  # plain, serialisable


def test_split_stats_counts(real_data_dir):
    with pytest.warns(HarnessWarning, match=r"dropped 4\d\d test example.*DESC:def x123, .*more labels"):
        task = load_task("trec-50", real_data_dir, max_train_sentences=3)
    assert sum(task.info["dropped_test_labels"].values()) + len(task.test) == 500
    assert split_stats(task.train) == {
        "sentences": 3, "examples": 3, "n_labels": len(set(task.train.labels)),
        "labels": {lab: task.train.labels.count(lab) for lab in sorted(set(task.train.labels))},
    }


def test_cli_stats(real_data_dir, capsys):
    assert main(["data", "stats", "--tasks", "trec-6", "ps-fxn", "--data-dir", str(real_data_dir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["task", "kind", "split", "sentences", "examples", "labels"]
    assert out[2].split() == ["trec-6", "sentence", "train", "5452", "5452", "6"]
    assert out[5].split() == ["ps-fxn", "token", "test", "535", "457", "35"]
    assert main(["data", "stats", "--json", "--tasks", "trec-6", "--data-dir", str(real_data_dir)]) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert parsed["trec-6"]["splits"]["test"]["labels"]["DESC"] == 138
    assert main(["data", "stats", "--tasks", "tre-6"]) == 2  # bad input: one line, exit 2
    assert "Did you mean: trec-6" in capsys.readouterr().err
