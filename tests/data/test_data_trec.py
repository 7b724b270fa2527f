"""TREC-50 / TREC-6 loaders: real counts (data README section 4) and bad lines."""

from collections import Counter

import pytest

from harness.data import load_task
from harness.data.trec import read_trec
from harness.exceptions import DataFormatError

TRAIN, TEST = "trec/train_5500.label", "trec/TREC_10.label"


@pytest.fixture(scope="module")
def trec(real_data_dir):
    return load_task("trec-50", real_data_dir), load_task("trec-6", real_data_dir)


def test_trec_counts(trec):
    fine, coarse = trec
    for task in (fine, coarse):
        assert task.kind == "sentence"
        assert (len(task.train), len(task.test)) == (5452, 500)
        assert len(task.train.sentences) == 5452
        assert all(e.positions == () for e in task.train.examples)
    assert len(fine.labels) == 50 and len(set(fine.test.labels)) == 42
    assert Counter(coarse.train.labels) == {
        "ENTY": 1250, "HUM": 1223, "DESC": 1162, "NUM": 896, "LOC": 835, "ABBR": 86}
    assert Counter(coarse.test.labels) == {
        "DESC": 138, "NUM": 113, "ENTY": 94, "LOC": 81, "HUM": 65, "ABBR": 9}
    assert all(f.label.split(":")[0] == c.label
               for f, c in zip(fine.train.examples, coarse.train.examples))


def test_trec_latin1_byte_stays_in_its_word(trec):
    fine, _ = trec
    words = fine.train.sentences[65]  # line 66 holds byte 0xF0
    assert "sister\xf0city" in " ".join(words)


def test_caps_count_questions(real_data_dir):
    task = load_task("trec-6", real_data_dir, max_train_sentences=100, max_test_sentences=10)
    assert (len(task.train), len(task.test)) == (100, 10)


@pytest.mark.parametrize("bad_line, problem", [
    ("DESC:manner", "does not match 'COARSE:fine question'"),
    ("desc:manner How ?", "does not match"),
    ("DESC:Manner How ?", "does not match"),
    ("", "does not match"),
    ("WHAT:manner How did it go ?", "coarse label 'WHAT' is not one of ABBR DESC ENTY HUM LOC NUM"),
])
def test_bad_lines_name_file_and_line(write, bad_line, problem):
    path = write(TRAIN, f"NUM:date When ?\n{bad_line}\nHUM:ind Who ?\n")
    with pytest.raises(DataFormatError) as err:
        read_trec(path, TRAIN)
    assert f"{TRAIN}:2:" in str(err.value) and problem in str(err.value)


def test_missing_and_empty(write, tmp_path):
    write(TRAIN, "NUM:date When ?\n")
    with pytest.raises(DataFormatError, match="TREC_10.label.*harness data download"):
        load_task("trec-50", tmp_path)
    write(TEST, b"")
    with pytest.raises(DataFormatError, match="test split of task 'trec-50' is empty"):
        load_task("trec-50", tmp_path)
