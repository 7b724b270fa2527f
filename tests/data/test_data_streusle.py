"""PS-role / PS-fxn loaders: real STREUSLE 4.2 counts (data README section 3) and bad input."""

import warnings
from collections import Counter

import pytest

from harness.data import load_task
from harness.data.streusle import SNACS_LABELS, read_conllulex
from harness.exceptions import DataFormatError, HarnessWarning

TRAIN = "streusle/train/streusle.ud_train.conllulex"
TEST = "streusle/test/streusle.ud_test.conllulex"


def lex(tid, form, ss="_", ss2="_", smwe="_", lexcat="P"):
    ud = [str(tid), form, form, "ADP", "IN", "_", "0", "root", "_", "_"]
    return "\t".join(ud + [smwe, lexcat, form, ss, ss2, "_", "_", "_", "O"])


def sentence(*rows, sent_id="s1"):
    return "\n".join([f"# sent_id = {sent_id}", "# text = x", *rows]) + "\n\n"


GOOD = sentence(lex(1, "in", "p.Locus", "p.Locus"), lex(2, "for", "p.Beneficiary", "p.Goal"),
                lex(3, "instead", "p.InsteadOf", "p.InsteadOf", smwe="1:1"),
                lex(4, "of", smwe="1:2"))


@pytest.fixture(scope="module")
def ps(real_data_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error", HarnessWarning)  # test has no unseen labels
        return load_task("ps-role", real_data_dir), load_task("ps-fxn", real_data_dir)


def test_streusle_counts(ps):
    role, fxn = ps
    for task in (role, fxn):
        assert task.kind == "token"
        assert (len(task.train.sentences), len(task.test.sentences)) == (2723, 535)
        assert (len(task.train), len(task.test)) == (4282, 457)
        assert task.info["dropped_test_labels"] == {}
    assert len(role.labels) == 46
    assert len(fxn.labels) == 40
    assert len(set(role.test.labels)) == 40 and len(set(fxn.test.labels)) == 35
    assert set(role.labels) | set(fxn.labels) <= SNACS_LABELS
    # role != function for 1,399 train targets (README); same targets in both tasks.
    assert [e.positions for e in role.train.examples] == [e.positions for e in fxn.train.examples]
    assert sum(r.label != f.label for r, f in zip(role.train.examples, fxn.train.examples)) == 1399


def test_streusle_train_file_fallback(ps):
    role, _ = ps
    assert role.info["train_file_is_reconstruction"] == ("reconstructed" in role.info["files"]["train"])


def test_dev_unseen_label_is_dropped_with_a_warning(real_data_dir):
    # p.InsteadOf is a single-word role once in dev (in test it is part of an MWE).
    with pytest.warns(HarnessWarning, match=r"dropped 1 test example.*p\.InsteadOf x1"):
        role = load_task("ps-role", real_data_dir, eval_split="dev")
    assert role.info["dropped_test_labels"] == {"p.InsteadOf": 1}
    assert role.info["n_dropped_test_examples"] == 1
    assert len(role.test) == 433 - 1


def test_targets_are_single_word_p_units(write, tmp_path):
    (sent,) = read_conllulex(write("a.conllulex", GOOD))
    assert sent.words == ("in", "for", "instead", "of")
    assert sent.targets == ((0, "p.Locus", "p.Locus", 3), (1, "p.Beneficiary", "p.Goal", 4))


def test_ellipsis_nodes_are_skipped(write):
    text = sentence(lex(1, "in", "p.Locus", "p.Locus"),
                    "\t".join(["1.1", "go", "go", "VERB"] + ["_"] * 15),
                    lex(2, "at", "p.Time", "p.Time"))
    (sent,) = read_conllulex(write("a.conllulex", text))
    assert sent.words == ("in", "at") and [t[0] for t in sent.targets] == [0, 1]


def test_unseen_test_label_policy(write, tmp_path):
    write(TRAIN, GOOD)
    write(TEST, sentence(lex(1, "over", "p.InsteadOf", "p.Locus"), lex(2, "in", "p.Locus", "p.Locus")))
    with pytest.warns(HarnessWarning, match="p.InsteadOf x1"):
        role = load_task("ps-role", tmp_path)
    assert role.labels == ("p.Beneficiary", "p.Locus")
    assert [e.label for e in role.test.examples] == ["p.Locus"]
    assert role.info["dropped_test_labels"] == {"p.InsteadOf": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("error", HarnessWarning)
        fxn = load_task("ps-fxn", tmp_path)  # functions are all seen in train
    assert fxn.test.labels == ["p.Locus", "p.Locus"]


@pytest.mark.parametrize("bad_row, problem", [
    ("\t".join(["1", "in"] + ["_"] * 15), "expected 19 tab-separated conllulex columns, got 17"),
    ("\t".join(["1", "in"] + ["_"] * 18), "expected 19 tab-separated conllulex columns, got 20"),
    (lex("one", "in", "p.Locus", "p.Locus"), "ID 'one' is not an integer"),
    (lex(1, "in", "p.Lokus", "p.Locus"), "column 14 value 'p.Lokus'"),
    (lex(1, "in", "p.Locus", "n.TIME"), "column 15 value 'n.TIME'"),
])
def test_bad_conllulex_names_file_and_line(write, tmp_path, bad_row, problem):
    write(TRAIN, GOOD + GOOD.replace(lex(1, "in", "p.Locus", "p.Locus"), bad_row))
    write(TEST, GOOD)
    with pytest.raises(DataFormatError) as err:
        load_task("ps-role", tmp_path)
    assert f"{TRAIN}:10:" in str(err.value) and problem in str(err.value)


def test_missing_and_empty_files(write, tmp_path):
    with pytest.raises(DataFormatError, match="STREUSLE 4.2 train: file not found.*reconstructed"):
        load_task("ps-fxn", tmp_path)
    write(TRAIN, GOOD)
    write(TEST, sentence(lex(1, "the", lexcat="DET")))
    with pytest.raises(DataFormatError, match=f"{TEST}: the test split of task 'ps-fxn' is empty"):
        load_task("ps-fxn", tmp_path)


def test_role_label_counts_match_supersenses_file(ps, real_data_dir):
    role, _ = ps
    counts = Counter(role.train.labels)
    assert counts.most_common(1)[0][1] > 300 and sum(counts.values()) == 4282
