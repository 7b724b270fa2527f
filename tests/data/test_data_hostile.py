"""Data files a hostile but fair user hands the readers (issue 22): a byte-order mark is
not text, `root` belongs to HEAD 0 only, and a short PUD file names the file."""

import pytest

from harness.data import load_task
from harness.data.ud import read_conllu
from harness.exceptions import DataFormatError

from test_data_ud import GOOD, PUD_R29, row, sentence

BOM = b"\xef\xbb\xbf"


def test_a_conllu_file_with_a_bom_reads_as_without(write):
    plain = read_conllu(write("a.conllu", GOOD))
    assert read_conllu(write("b.conllu", BOM + GOOD.encode())) == plain


def test_a_trec_or_labels_file_with_a_bom_gives_no_bom_label(write):
    from harness.data._io import read_lines

    assert read_lines(write("labels.txt", BOM + b"a\nb\n"))[0] == "a"


@pytest.mark.parametrize("rows, problem", [
    ((row(1, "The", "DET", 2, "root"), row(2, "dog", "NOUN", 0, "root")),
     "bad.conllu:9: word 1 has deprel 'root' but HEAD 2"),
    ((row(1, "The", "DET", 2, "det"), row(2, "dog", "NOUN", 0, "nsubj")),
     "bad.conllu:10: word 2 has HEAD 0 but deprel 'nsubj'"),
])
def test_deprel_root_goes_with_head_0_only(write, rows, problem):
    # Issue 22: a non-root word with deprel `root` was accepted and DEP gained a 47th label.
    path = write("bad.conllu", GOOD + sentence(*rows, sent_id="s2"))
    with pytest.raises(DataFormatError, match=problem):
        read_conllu(path, "bad.conllu")


def test_a_short_pud_file_says_so(write, tmp_path):
    # Issue 22: "The 'pud_train_sentences' parameter of load_task must be an int in 1..499".
    write(PUD_R29, "".join(GOOD.replace("s1", f"s{i}") for i in range(5)))
    with pytest.raises(DataFormatError, match=rf"{PUD_R29}: the file holds 5 sentences, fewer "
                                              r"than the split needs \(the first 800 = train"):
        load_task("pos", tmp_path)
