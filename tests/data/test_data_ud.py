"""POS/DEP loaders: real UD counts (data README section 1-2) and malformed CoNLL-U."""

import gzip
from collections import Counter

import pytest

from harness.data import load_task
from harness.data._io import MissingDataError
from harness.data.ud import read_conllu
from harness.exceptions import DataFormatError

PUD_R29 = "ud_english_pud/r2.9/en_pud-ud-test.conllu"


def row(tid, form="w", upos="NOUN", head="0", deprel="root"):
    return "\t".join([str(tid), form, form, upos, "_", "_", str(head), deprel, "_", "_"])


def sentence(*rows, sent_id="s1"):
    return "\n".join([f"# sent_id = {sent_id}", "# text = x", *rows]) + "\n\n"


GOOD = sentence(row(1, "The", "DET", 2, "det"), row(2, "dog", "NOUN", 0, "root"),
                row(3, "'s", "PART", 2, "case"))


# ---------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def pud(real_data_dir):
    return load_task("pos", real_data_dir), load_task("dep", real_data_dir)


def test_pud_r29_split_and_counts(pud, real_data_dir):
    # README: r2.9 has 1000 sentences, 21,176 words, 17 UPOS; first 800 / last 200 split.
    pos, dep = pud
    assert (pos.kind, dep.kind) == ("token", "pair")
    assert (len(pos.train.sentences), len(pos.test.sentences)) == (800, 200)
    assert (len(pos.train), len(pos.test)) == (16854, 4322)
    assert len(pos.train) + len(pos.test) == 21176
    assert len(pos.labels) == 17
    # One root per sentence, so DEP has words - sentences examples.
    assert (len(dep.train), len(dep.test)) == (16054, 4122)
    assert len(dep.train) + len(dep.test) == 21176 - 1000
    assert len(dep.labels) == 46 and "root" not in dep.labels
    all_deprels = set(dep.train.labels) | set(dep.test.labels)
    assert len(all_deprels) == 46  # 47 deprels with subtypes minus root
    records = read_conllu(real_data_dir / PUD_R29)
    assert pos.train.sentence_ids == tuple(r.sent_id for r in records[:800])
    assert pos.test.sentence_ids == tuple(r.sent_id for r in records[800:])
    assert pos.info["ud_version"] == "r2.9" and pos.info["dropped_test_labels"] == {}


def test_pud_positions_index_words(pud):
    pos, dep = pud
    for task in (pos, dep):
        for split in (task.train, task.test):
            for ex in split.examples[:2000]:
                n = len(split.sentences[ex.sentence])
                assert all(0 <= p < n for p in ex.positions)
    assert all(len(e.positions) == 1 for e in pos.train.examples)
    assert all(len(e.positions) == 2 and e.positions[0] != e.positions[1] for e in dep.train.examples)
    first = dep.train.examples[0]
    assert first.source.startswith(PUD_R29 + ":")


def test_pud_r218_variant(real_data_dir):
    pos = load_task("pos", real_data_dir, ud_version="r2.18")
    assert len(pos.train) + len(pos.test) == 21180  # 129 MWT ranges are not words
    dep = load_task("dep", real_data_dir, ud_version="r2.18")
    assert "nmod:unmarked" in set(dep.train.labels) | set(dep.test.labels)


def test_caps_take_first_sentences(pud, real_data_dir):
    pos, _ = pud
    tiny = load_task("pos", real_data_dir, max_train_sentences=10, max_test_sentences=5)
    assert tiny.train.sentences == pos.train.sentences[:10]
    assert tiny.test.sentences == pos.test.sentences[:5]
    assert tiny.info["max_train_sentences"] == 10


def test_ewt_counts(real_data_dir):
    # README section 2: train 12,544 sentences / 204,577 words, 17 UPOS, 51 deprels.
    pos = load_task("pos-ewt", real_data_dir)
    assert (len(pos.train.sentences), len(pos.train)) == (12544, 204577)
    assert (len(pos.test.sentences), len(pos.test)) == (2077, 25094)
    assert len(pos.labels) == 17
    dep = load_task("dep-ewt", real_data_dir)
    assert len(dep.labels) == 50 and "root" not in dep.labels
    assert len(dep.train) == 204577 - 12544


# ---------------------------------------------------------------- parsing rules


def test_ranges_and_empty_nodes_are_skipped(write):
    text = sentence(
        row("1-2", "don't", "_", "_", "_"), row(1, "do", "AUX", 3, "aux"),
        row(2, "n't", "PART", 3, "advmod"), row(3, "go", "VERB", 0, "root"),
        "3.1\tgo\tgo\tVERB\t_\t_\t_\t_\t3:conj\t_",
    )
    (sent,) = read_conllu(write("a.conllu", text))
    assert sent.words == ("do", "n't", "go")
    assert sent.heads == (2, 2, -1)


def test_gzip_is_read_transparently(write, tmp_path):
    plain = read_conllu(write("a.conllu", GOOD))
    packed = tmp_path / "b.conllu.gz"
    packed.write_bytes(gzip.compress(GOOD.encode()))
    assert read_conllu(packed) == plain


def test_dep_examples_head_modifier_order(write, tmp_path):
    write(PUD_R29, GOOD + GOOD.replace("s1", "s2"))
    dep = load_task("dep", tmp_path, pud_train_sentences=1)
    assert [(e.positions, e.label) for e in dep.train.examples] == [((1, 0), "det"), ((1, 2), "case")]
    assert dep.train.examples[0].source == f"{PUD_R29}:3"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad_row, problem", [
    ("1\tThe\tthe\tDET\t_\t_\t2\tdet\t_", "expected 10 tab-separated CoNLL-U columns, got 9"),
    (row("x", "The", "DET", 2, "det"), "ID 'x' is not an integer"),
    (row(1, "The", "DET", 7, "det"), "head 7 out of range 0..3"),
    (row(1, "The", "DET", "two", "det"), "head 'two' of word 1 is not an integer"),
    (row(1, "The", "DETX", 2, "det"), "UPOS 'DETX' of word 1 is not one of the 17 UD tags"),
    (row(1, "The", "DET", 2, "Det:poss"), "deprel 'Det:poss' of word 1 does not match"),
    (row(4, "The", "DET", 2, "det"), "word ID 4 out of sequence (expected 1)"),
    (row(1, "The", "DET", 1, "det"), "word 1 is its own head"),
])
def test_malformed_row_names_file_and_line(write, bad_row, problem):
    text = GOOD.replace(row(1, "The", "DET", 2, "det"), bad_row)
    path = write("bad.conllu", GOOD + text)
    with pytest.raises(DataFormatError) as err:
        read_conllu(path, "bad.conllu")
    assert "bad.conllu:9:" in str(err.value)  # second sentence, first row
    assert problem in str(err.value)


@pytest.mark.parametrize("rows, line, problem", [
    # no word has HEAD 0
    ((row(1, "The", "DET", 2, "det"), row(2, "dog", "NOUN", 3, "nsubj"),
      row(3, "ran", "VERB", 1, "acl")), 7, "sentence has no root (no word with HEAD 0)"),
    # two words have HEAD 0
    ((row(1, "The", "DET", 2, "det"), row(2, "dog", "NOUN", 0, "root"),
      row(3, "ran", "VERB", 0, "root")), 11, "word 3 is a second root (word 2 on line 10"),
    # 1 -> 3 -> 1 while 2 is the root
    ((row(1, "The", "DET", 3, "det"), row(2, "dog", "NOUN", 0, "root"),
      row(3, "ran", "VERB", 1, "acl")), 9, "the HEAD column has a cycle (words 1 -> 3 -> 1)"),
])
def test_heads_must_form_one_tree(write, rows, line, problem):
    path = write("bad.conllu", GOOD + sentence(*rows, sent_id="s2"))
    with pytest.raises(DataFormatError) as err:
        read_conllu(path, "bad.conllu")
    assert f"bad.conllu:{line}: {problem}" in str(err.value)


def test_damaged_gzip_is_named(write, tmp_path):
    packed = gzip.compress(GOOD.encode())
    truncated = write("t.conllu.gz", packed[: len(packed) // 2])
    with pytest.raises(DataFormatError, match=r"t.conllu.gz: damaged gzip file .*download --force"):
        read_conllu(truncated)
    garbage = write("g.conllu.gz", b"\x1f\x8b" + b"\x00" * 40)
    with pytest.raises(DataFormatError, match="g.conllu.gz: damaged gzip file"):
        read_conllu(garbage)


def test_compressed_file_without_gz_suffix_is_named(write):
    path = write("a.conllu", gzip.compress(GOOD.encode()))
    with pytest.raises(DataFormatError, match=r"a.conllu: the file is gzip-compressed, not text: "
                                               r".*name it a.conllu.gz"):
        read_conllu(path)
    twice = write("b.conllu.gz", gzip.compress(gzip.compress(GOOD.encode())))
    with pytest.raises(DataFormatError, match="b.conllu.gz: .*compressed twice"):
        read_conllu(twice)
    xz = write("c.conllu", b"\xfd7zXZ\x00" + b"\x00" * 20)
    with pytest.raises(DataFormatError, match="c.conllu: the file is xz-compressed"):
        read_conllu(xz)


def test_load_task_records_the_sha256_of_each_file_read(write, tmp_path):
    import hashlib

    write(PUD_R29, GOOD + GOOD.replace("s1", "s2"))
    task = load_task("pos", tmp_path, pud_train_sentences=1)
    digest = hashlib.sha256((tmp_path / PUD_R29).read_bytes()).hexdigest()
    assert task.fingerprint["files"] == {PUD_R29: digest}
    assert len(task.fingerprint["reader"]) == 12
    write(PUD_R29, (GOOD + GOOD.replace("s1", "s2")).replace("\tDET\t", "\tPRON\t", 1))
    assert load_task("pos", tmp_path, pud_train_sentences=1).fingerprint["files"] != \
        task.fingerprint["files"]


def test_missing_file_says_how_to_get_it(tmp_path):
    with pytest.raises(MissingDataError, match="harness data download") as err:
        load_task("pos", tmp_path)
    assert str(tmp_path / PUD_R29) in str(err.value)
    assert isinstance(err.value, DataFormatError) and isinstance(err.value, FileNotFoundError)


def test_empty_file_and_empty_split(write, tmp_path):
    write(PUD_R29, "")
    with pytest.raises(DataFormatError, match="holds no sentences"):
        load_task("pos", tmp_path)
    # A train split whose sentence has no non-root word gives no DEP examples.
    write(PUD_R29, sentence(row(1, "Hi", "INTJ", 0, "root")) + GOOD)
    with pytest.raises(DataFormatError, match="train split of task 'dep' is empty"):
        load_task("dep", tmp_path, pud_train_sentences=1)


def test_bad_options_are_rejected(real_data_dir):
    with pytest.raises(ValueError, match="'ud_version'.*r2.18"):
        load_task("pos", real_data_dir, ud_version="r2.1")
    with pytest.raises(ValueError, match="max_train_sentences"):
        load_task("pos", real_data_dir, max_train_sentences=0)
    with pytest.raises(TypeError, match="does not accept option.*eval_split"):
        load_task("pos", real_data_dir, eval_split="dev")


def test_pud_label_distribution_is_stable(pud):
    pos, _ = pud
    counts = Counter(pos.train.labels) + Counter(pos.test.labels)
    assert counts["NOUN"] > counts["VERB"] > counts["INTJ"] >= 1
    assert set(counts) == set(pos.labels)
