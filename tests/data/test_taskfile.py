"""Task files (harness/data/taskfile.py, declared.py): every field good and bad, the
formats, the data-file errors (file:line), the store keys, the examples in examples/tasks.
"""

import json
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.data import load_task, task_kind, task_spec
from harness.data._io import MissingDataError
from harness.data.declared import load_declared
from harness.data.taskfile import (FIELDS, TASK_FILES_ENV, read_task_file, register_task_file,
                                   resolve_task_name)
from harness.exceptions import DataFormatError, HarnessWarning, TaskFileError, UnknownNameError
from harness.representations import representation_config
from harness.store import config_key

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tasks"

# A small CoNLL-U corpus: 4 sentences, XPOS, FEATS and MISC filled in.
CONLLU = textwrap.dedent("""\
    # sent_id = s1
    1\tThe\tthe\tDET\tDT\tDefinite=Def\t2\tdet\t_\t_
    2\tdog\tdog\tNOUN\tNN\tNumber=Sing\t3\tnsubj\t_\t_
    3\truns\trun\tVERB\tVBZ\tNumber=Sing|Tense=Pres\t0\troot\t_\tSpaceAfter=No
    4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_

    # sent_id = s2
    1\tDogs\tdog\tNOUN\tNNS\tNumber=Plur\t2\tnsubj\t_\t_
    2\tran\trun\tVERB\tVBD\tTense=Past\t0\troot\t_\t_

    # sent_id = s3
    1\tA\ta\tDET\tDT\tDefinite=Ind\t2\tdet\t_\t_
    2\tcat\tcat\tNOUN\tNN\tNumber=Sing\t3\tnsubj\t_\t_
    3\tsat\tsit\tVERB\tVBD\tTense=Past\t0\troot\t_\t_

    # sent_id = s4
    1\tCats\tcat\tNOUN\tNNS\tNumber=Plur\t2\tnsubj\t_\t_
    2\tsit\tsit\tVERB\tVBP\tTense=Pres\t0\troot\t_\t_
    """)

TSV = "question\tclass\nwhat is a dog ?\tDESC\nwho ran ?\tHUM\nwhere is it ?\tLOC\nwhat is it ?\tDESC\n"


@pytest.fixture(autouse=True)
def no_registered_files(monkeypatch):
    """Each test starts with no task file registered (registration writes the environment)."""
    monkeypatch.setenv(TASK_FILES_ENV, "")


@pytest.fixture
def corpus(tmp_path):
    """A data directory with the CoNLL-U corpus (train = test = it) and a TSV."""
    root = tmp_path / "data"
    (root / "toy").mkdir(parents=True)
    (root / "toy" / "toy.conllu").write_text(CONLLU)
    (root / "toy" / "toy.tsv").write_text(TSV)
    return root


@pytest.fixture
def task_file(tmp_path):
    """``task_file(text or dict, name="t.yaml")`` writes a task file and returns its path."""

    def write(content, name="t.yaml"):
        path = tmp_path / "tasks" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, dict):
            import yaml

            content = yaml.safe_dump(content, sort_keys=False)
        path.write_text(content)
        return path

    return write


TOKEN = {"name": "toy-xpos", "kind": "token", "format": "conllu", "label": "xpos",
         "train": "toy/toy.conllu", "test": "toy/toy.conllu"}
SENTENCE = {"name": "toy-q", "kind": "sentence", "format": "tsv", "text": "question",
            "label": "class", "train": "toy/toy.tsv", "test": "toy/toy.tsv"}


def load(path, corpus, **caps):
    return load_task(str(path), corpus, **caps)


def with_(base, **changes):
    out = {k: v for k, v in base.items() if k not in changes or changes[k] is not ...}
    out.update({k: v for k, v in changes.items() if v is not ...})
    return out


# ---- every field: good and bad ------------------------------------------------------------
def test_every_field_has_a_test_here():
    tested = {"name", "kind", "description", "format", "label", "text", "train", "test",
              "file", "split", "min_count", "drop_labels", "max_train_sentences",
              "max_test_sentences", "partners"}
    assert tested == set(FIELDS)


def test_name(task_file, corpus):
    task = load(task_file(TOKEN), corpus)
    assert task.name == "toy-xpos" and task_spec(str(task_file(TOKEN))).name == "toy-xpos"
    with pytest.raises(TaskFileError, match=r"t\.yaml: field 'name': 'Toy XPOS' is not a task name"):
        read_task_file(task_file(with_(TOKEN, name="Toy XPOS")))
    with pytest.raises(TaskFileError, match=r"t\.yaml: field 'name' is missing"):
        read_task_file(task_file(with_(TOKEN, name=...)))


def test_kind(task_file, corpus):
    assert load(task_file(with_(TOKEN, kind="pair", label="deprel")), corpus).kind == "pair"
    with pytest.raises(TaskFileError, match=r"field 'kind': must be one of token, pair, "
                                            r"sentence. Got 'tokn'. Did you mean 'token'\?"):
        read_task_file(task_file(with_(TOKEN, kind="tokn")))


def test_description(task_file):
    assert read_task_file(task_file(with_(TOKEN, description="XPOS of a toy"))).description \
        == "XPOS of a toy"
    with pytest.raises(TaskFileError, match="field 'description': must be a string"):
        read_task_file(task_file(with_(TOKEN, description=5)))


def test_format(task_file, corpus):
    assert load(task_file(SENTENCE), corpus).kind == "sentence"
    with pytest.raises(TaskFileError, match="field 'format':.*Got 'conlu'. Did you mean 'conllu'"):
        read_task_file(task_file(with_(TOKEN, format="conlu")))
    with pytest.raises(TaskFileError, match="field 'format': kind 'sentence' needs one text "
                                            "per row"):
        read_task_file(task_file(with_(TOKEN, kind="sentence")))
    with pytest.raises(TaskFileError, match="field 'format': kind 'token' labels words"):
        read_task_file(task_file(with_(SENTENCE, kind="token")))


@pytest.mark.parametrize("label, first", [("xpos", "DT"), ("XPOS", "DT"), ("upos", "DET"),
                                          ("feats:Tense", "Pres"), ("misc:SpaceAfter", "No"),
                                          ("lemma", "the")])
def test_label_good(task_file, corpus, label, first):
    task = load(task_file(with_(TOKEN, label=label)), corpus)
    assert task.train.examples[0].label == first


def test_label_keyed_columns_label_only_words_with_the_key(task_file, corpus):
    task = load(task_file(with_(TOKEN, label="feats:Tense")), corpus)
    assert [e.positions for e in task.train.examples if e.sentence == 0] == [(2,)]


@pytest.mark.parametrize("label, message", [
    ("xpso", r"field 'label': 'xpso' is not a conllu column.*Did you mean 'xpos'"),
    ("feats", r"field 'label': 'feats': feats holds Key=Value pairs; name the key"),
    ("head", r"field 'label': 'head' is the word's head, not a label"),
    ("upos:x", r"field 'label': 'upos:x': only feats and misc take a key"),
])
def test_label_bad(task_file, label, message):
    with pytest.raises(TaskFileError, match=message):
        read_task_file(task_file(with_(TOKEN, label=label)))


def test_label_field_missing_from_the_header_gets_file_line(task_file, corpus):
    with pytest.raises(DataFormatError, match=r"toy/toy.tsv:1: no field 'clas' in the header "
                                              r"\(question, class\); the task file's 'label' "
                                              r"names it. Did you mean 'class'\?"):
        load(task_file(with_(SENTENCE, label="clas")), corpus)


def test_text(task_file, corpus):
    task = load(task_file(SENTENCE), corpus)
    assert task.train.sentences[0] == ("what", "is", "a", "dog", "?")
    with pytest.raises(TaskFileError, match="field 'text': is missing; format 'tsv' needs"):
        read_task_file(task_file(with_(SENTENCE, text=...)))
    with pytest.raises(TaskFileError, match="field 'text': applies to tsv, csv, jsonl only"):
        read_task_file(task_file(with_(TOKEN, text="question")))
    with pytest.raises(TaskFileError, match="field 'text': is the label field"):
        read_task_file(task_file(with_(SENTENCE, text="class")))
    with pytest.raises(DataFormatError, match=r"toy.tsv:1: no field 'questoin'.*"
                                              r"Did you mean 'question'"):
        load(task_file(with_(SENTENCE, text="questoin")), corpus)


def test_train_and_test(task_file, corpus, tmp_path):
    task = load(task_file(TOKEN), corpus)
    assert len(task.train.sentences) == len(task.test.sentences) == 4
    with pytest.raises(TaskFileError, match="field 'test': is missing; give 'train' and 'test'"):
        read_task_file(task_file(with_(TOKEN, test=...)))
    with pytest.raises(MissingDataError, match=r"t\.yaml: field 'train': data file "
                                               r"'toy/nope.conllu' not found \(looked for "):
        load(task_file(with_(TOKEN, train="toy/nope.conllu")), corpus)
    # Beside the task file first, then in the data directory.
    beside = tmp_path / "tasks" / "toy" / "toy.conllu"
    beside.parent.mkdir(parents=True)
    beside.write_text(CONLLU.replace("runs", "walks"))
    assert "walks" in load(task_file(TOKEN), corpus).train.sentences[0]


def test_file_and_split(task_file, corpus):
    one = with_(TOKEN, train=..., test=..., file="toy/toy.conllu", split={"train": 0.5})
    task = load(task_file(one), corpus)
    assert task.train.sentence_ids == ("s1", "s2") and task.test.sentence_ids == ("s3", "s4")
    seeded = load(task_file(with_(one, split={"train": 0.5, "seed": 3})), corpus)
    again = load(task_file(with_(one, split={"train": 0.5, "seed": 3}), "u.yaml"), corpus)
    assert seeded.train.sentence_ids == again.train.sentence_ids
    assert set(seeded.train.sentence_ids) | set(seeded.test.sentence_ids) == {"s1", "s2", "s3", "s4"}
    with pytest.raises(TaskFileError, match="field 'train': give either 'train' and 'test', "
                                            "or 'file'"):
        read_task_file(task_file(with_(one, train="toy/toy.conllu")))


@pytest.mark.parametrize("split, message", [
    (None, "field 'split': is missing; with 'file'"),
    ({"train": 1.5}, "field 'split': 'train' must be a fraction .* Got 1.5"),
    ({"train": 0.8, "seeds": 1}, "field 'split': unknown key 'seeds'. Did you mean 'seed'"),
    ({"train": 0.8, "seed": -1}, "field 'split': 'seed' must be an int >= 0"),
])
def test_split_bad(task_file, split, message):
    one = with_(TOKEN, train=..., test=..., file="toy/toy.conllu")
    if split is not None:
        one["split"] = split
    with pytest.raises(TaskFileError, match=message):
        read_task_file(task_file(one))
    with pytest.raises(TaskFileError, match="field 'split': applies to 'file' only"):
        read_task_file(task_file(with_(TOKEN, split={"train": 0.5})))


def test_min_count(task_file, corpus):
    task = load(task_file(with_(TOKEN, min_count=2)), corpus)
    assert set(task.labels) == {"DT", "NN", "NNS", "VBD"}  # each seen at least twice
    assert task.info["filtered_labels"] == {".": 1, "VBP": 1, "VBZ": 1}
    with pytest.raises(TaskFileError, match="field 'min_count': must be a positive int. Got 0"):
        read_task_file(task_file(with_(TOKEN, min_count=0)))


def test_drop_labels(task_file, corpus):
    task = load(task_file(with_(SENTENCE, drop_labels=["HUM"])), corpus)
    assert task.labels == ("DESC", "LOC")
    with pytest.raises(TaskFileError, match=r"field 'drop_labels': must be a list of labels"):
        read_task_file(task_file(with_(SENTENCE, drop_labels="HUM")))


def test_caps(task_file, corpus):
    capped = with_(TOKEN, max_train_sentences=2, max_test_sentences=3)
    task = load(task_file(capped), corpus)
    assert (len(task.train.sentences), len(task.test.sentences)) == (2, 3)
    # The smaller of the task file's cap and the tier's applies.
    task = load(task_file(capped), corpus, max_train_sentences=1, max_test_sentences=4)
    assert (len(task.train.sentences), len(task.test.sentences)) == (1, 3)
    for cap in ("max_train_sentences", "max_test_sentences"):
        with pytest.raises(TaskFileError, match=f"field '{cap}': must be a positive int. Got -1"):
            read_task_file(task_file(with_(TOKEN, **{cap: -1})))


def test_partners(task_file, corpus):
    from harness.tiers import get_tier

    other = task_file(with_(SENTENCE, name="toy-other"), "other.yaml")
    path = task_file(with_(TOKEN, partners={"related": "pos", "opposing": "other.yaml"}))
    tier = get_tier("tiny").with_selection(tasks=[str(path)])
    assert tier.tasks == ("toy-xpos",)
    assert tier.cross_task["toy-xpos"] == ("toy-xpos", "pos", "toy-other")
    assert task_kind("toy-other") == "sentence"  # the partner file is registered too
    assert tier.data_options["toy-xpos"] == {"max_train_sentences": 200, "max_test_sentences": 200}
    assert tier.data_options["toy-other"]["max_train_sentences"] == 500
    assert other.is_file()
    with pytest.raises(TaskFileError, match="field 'partners': unknown relation 'relted'. "
                                            "Did you mean 'related'"):
        read_task_file(task_file(with_(TOKEN, partners={"relted": "pos"})))
    with pytest.raises(TaskFileError, match="field 'partners': 'related' must be a task name"):
        read_task_file(task_file(with_(TOKEN, partners={"related": 3})))


# ---- the file as a whole ---------------------------------------------------------------------
def test_unknown_field_suggests_the_nearest(task_file):
    with pytest.raises(TaskFileError, match=r"t\.yaml: unknown field 'lable'. Did you mean "
                                            r"'label'\? Fields: name, kind"):
        read_task_file(task_file(with_(TOKEN, lable="xpos")))


def test_bad_yaml_names_the_line(task_file):
    with pytest.raises(TaskFileError, match=r"t\.yaml:4: not valid YAML \(expected .,. or .\]."):
        read_task_file(task_file("name: a\nkind: token\nlabel: [xpos\nformat: conllu\n"))
    with pytest.raises(TaskFileError, match="a task file is a YAML mapping"):
        read_task_file(task_file("- name\n- kind\n"))


def test_missing_task_file_and_unknown_name():
    with pytest.raises(MissingDataError, match="nope.yaml: task file not found"):
        load_task("nope.yaml")
    with pytest.raises(UnknownNameError, match="Did you mean: pos\\? A task file"):
        task_spec("poss")


def test_registered_name_is_known_to_the_process(task_file, corpus):
    path = task_file(TOKEN)
    assert resolve_task_name(str(path)) == "toy-xpos"
    assert task_kind("toy-xpos") == "token"
    assert load_task("toy-xpos", corpus).name == "toy-xpos"
    clash = task_file(with_(TOKEN, label="upos"), "clash.yaml")
    with pytest.raises(TaskFileError, match="field 'name': 'toy-xpos' is also the name of "):
        register_task_file(clash)


# ---- formats ---------------------------------------------------------------------------------
def test_conllu_plus_and_conllulex(task_file, corpus):
    plus = "# global.columns = ID FORM HEAD MY:TAG\n1\tHi\t0\tx\n2\tyou\t1\ty\n\n1\tOk\t0\tz\n"
    (corpus / "toy" / "toy.conllup").write_text(plus)
    decl = with_(TOKEN, format="conllu-plus", label="my:tag", train="toy/toy.conllup",
                 test="toy/toy.conllup")
    assert load(task_file(decl), corpus).train.labels == ["x", "y", "z"]
    with pytest.raises(DataFormatError, match=r"toy.conllup:1: the label column 'MY:TAGS'.*"
                                              r"Did you mean 'MY:TAG'"):
        load(task_file(with_(decl, name="u", label="my:tags"), "u.yaml"), corpus)
    (corpus / "toy" / "bad.conllup").write_text(plus.split("\n", 1)[1])
    with pytest.raises(DataFormatError, match=r"bad.conllup:1: a CoNLL-U Plus file starts "
                                              r"with '# global.columns"):
        load(task_file(with_(decl, name="v", train="toy/bad.conllup"), "v.yaml"), corpus)
    row = "\t".join(["1", "To", "to", "ADP", "IN", "_", "0", "root", "_", "_", "_", "P", "to",
                     "p.Goal", "p.Goal", "_", "_", "_", "P-p.Goal"])
    (corpus / "toy" / "toy.conllulex").write_text(row + "\n")
    lex = with_(TOKEN, name="w", format="conllulex", label="ss", train="toy/toy.conllulex",
                test="toy/toy.conllulex")
    assert load(task_file(lex, "w.yaml"), corpus).labels == ("p.Goal",)


def test_csv_and_jsonl(task_file, corpus):
    (corpus / "toy" / "toy.csv").write_text('text,label\n"what, then ?",DESC\nwho ?,HUM\n')
    task = load(task_file(with_(SENTENCE, format="csv", text="text", label="label",
                                train="toy/toy.csv", test="toy/toy.csv")), corpus)
    assert task.train.sentences[0] == ("what,", "then", "?")
    lines = [json.dumps({"t": "who ?", "y": "HUM"}), json.dumps({"t": "how many ?", "y": 3})]
    (corpus / "toy" / "toy.jsonl").write_text("\n".join(lines) + "\n")
    task = load(task_file(with_(SENTENCE, name="j", format="jsonl", text="t", label="y",
                                train="toy/toy.jsonl", test="toy/toy.jsonl"), "j.yaml"), corpus)
    assert task.labels == ("3", "HUM")


def test_pair_kind_takes_head_and_modifier(task_file, corpus):
    task = load(task_file(with_(TOKEN, kind="pair", label="deprel")), corpus)
    first = [(e.positions, e.label) for e in task.train.examples if e.sentence == 0]
    assert first == [((1, 0), "det"), ((2, 1), "nsubj"), ((2, 3), "punct")]


# ---- data files that do not match their format: file:line ------------------------------------
@pytest.mark.parametrize("fmt, name, content, message", [
    ("conllu", "x.conllu", "1\tA\ta\tDET\tDT\t_\t0\troot\t_\n",
     r"toy/x.conllu:1: expected 10 tab-separated conllu columns, got 9"),
    ("conllu", "x.conllu", "1\tA\ta\tDET\tDT\t_\t0\troot\t_\t_\n3\tB\tb\tX\tX\t_\t1\tdep\t_\t_\n",
     r"toy/x.conllu:2: word ID 3 out of sequence \(expected 2\)"),
    ("tsv", "x.tsv", "question\tclass\nwho ?\tHUM\nwhat\n", r"toy/x.tsv:3: expected 2 fields"),
    ("tsv", "x.tsv", "question\tclass\n \tHUM\n", r"toy/x.tsv:2: the text field 'question' is blank"),
    ("jsonl", "x.jsonl", '{"question": "who ?", "class": "HUM"}\n{"question": "x"\n',
     r"toy/x.jsonl:2: not valid JSON"),
    ("jsonl", "x.jsonl", '{"question": "who ?", "clas": "HUM"}\n',
     r"toy/x.jsonl:1: no field 'class'.*Did you mean 'clas'"),
])
def test_data_file_errors_name_file_and_line(task_file, corpus, fmt, name, content, message):
    (corpus / "toy" / name).write_text(content)
    base = TOKEN if fmt == "conllu" else SENTENCE
    decl = with_(base, format=fmt, train=f"toy/{name}", test=f"toy/{name}")
    with pytest.raises(DataFormatError, match=message):
        load(task_file(decl), corpus)


def test_pair_kind_checks_the_tree(task_file, corpus):
    (corpus / "toy" / "cyc.conllu").write_text(
        "1\tA\ta\tX\tX\t_\t2\tdep\t_\t_\n2\tB\tb\tX\tX\t_\t1\tdep\t_\t_\n")
    decl = with_(TOKEN, kind="pair", label="deprel", train="toy/cyc.conllu", test="toy/cyc.conllu")
    with pytest.raises(DataFormatError, match=r"toy/cyc.conllu:1: sentence has no root"):
        load(task_file(decl), corpus)


# ---- store keys ------------------------------------------------------------------------------
def _model():
    return SimpleNamespace(spec=SimpleNamespace(name="minilm-l6"), fingerprint="weights")


def rep_key(task):
    return config_key(representation_config(task.name, _model(), "train", [0, 1],
                                            data=task.fingerprint))


def test_keys_hold_the_declaration_and_every_file(task_file, corpus):
    path = task_file(TOKEN)
    task = load(path, corpus)
    fp = task.fingerprint
    assert set(fp["files"]) == {"toy/toy.conllu"} and fp["task_file"]["label"] == "XPOS"
    key = rep_key(task)
    # A comment or a description keys nothing anew; the declaration and the data do.
    path.write_text("# a comment\n" + path.read_text() + "description: toy\n")
    assert rep_key(load(path, corpus)) == key
    path.write_text(path.read_text() + "min_count: 2\n")  # the same file, declaring more
    assert rep_key(load(path, corpus)) != key
    path.write_text(path.read_text().replace("min_count: 2\n", ""))
    (corpus / "toy" / "toy.conllu").write_text(CONLLU.replace("dog", "cow"))
    assert rep_key(load(path, corpus)) != key


# ---- the examples -----------------------------------------------------------------------------
def test_examples_are_there():
    assert {"ewt-xpos.yaml", "pud-pos.yaml", "trec-coarse-tsv.yaml"} <= {
        p.name for p in EXAMPLES.glob("*.yaml")}
    for path in EXAMPLES.glob("*.yaml"):
        read_task_file(path)  # every example is a valid task file


def test_redeclared_pud_pos_is_the_builtin(real_data_dir):
    path = EXAMPLES / "pud-pos.yaml"
    assert resolve_task_name(str(path)) == "pos"
    builtin = load_task("pos", real_data_dir, max_train_sentences=200)
    from_file = load_task(str(path), real_data_dir, max_train_sentences=200)
    assert from_file.name == "pos"
    assert from_file.train == builtin.train and from_file.test == builtin.test
    assert from_file.labels == builtin.labels
    assert from_file.fingerprint == builtin.fingerprint
    assert rep_key(from_file) == rep_key(builtin)
    # The file's own reader, under the file's declaration, reads the same examples too.
    read = load_declared("pos", real_data_dir, declaration=read_task_file(path),
                         max_train_sentences=200)
    assert (read.train, read.test, read.labels) == (builtin.train, builtin.test, builtin.labels)


def test_a_builtin_name_declaring_another_task_is_refused(task_file):
    text = (EXAMPLES / "pud-pos.yaml").read_text().replace("label: upos", "label: xpos")
    with pytest.raises(TaskFileError, match=r"field 'name': 'pos' is a built-in task, and this "
                                            r"file declares another one \(field 'label' is "
                                            r"'XPOS'; the built-in has 'UPOS'\)"):
        register_task_file(task_file(text))
    with pytest.raises(TaskFileError, match="'trec-50' is a built-in task.*cannot be declared"):
        register_task_file(task_file(with_(SENTENCE, name="trec-50"), "trec.yaml"))


def test_ewt_xpos_example(real_data_dir):
    with pytest.warns(HarnessWarning):  # capped: a few test tags never occur in train
        task = load_task(str(EXAMPLES / "ewt-xpos.yaml"), real_data_dir,
                         max_train_sentences=200, max_test_sentences=200)
    assert task.name == "ewt-xpos" and task.kind == "token"
    assert {"NN", "NNP", "VBZ", "-LRB-"} <= set(task.labels) and "NOUN" not in task.labels
    assert all(n < 5 for n in task.info["filtered_labels"].values())
    assert set(task.fingerprint["files"]) == {"ud_english_ewt/en_ewt-ud-train.conllu.gz",
                                              "ud_english_ewt/en_ewt-ud-test.conllu"}


def write_trec_tsv(real_data_dir, out_dir):
    """The TSV files of examples/tasks/trec-coarse-tsv.yaml, from TREC (not committed):
    ``trec-tsv/{train,test}.tsv`` with a header ``question<TAB>class``."""
    for split, source in (("train", "train_5500.label"), ("test", "TREC_10.label")):
        lines = (real_data_dir / "trec" / source).read_bytes().decode("latin-1").splitlines()
        rows = ["question\tclass"] + [f"{q}\t{label.split(':')[0]}"
                                      for label, q in (line.split(" ", 1) for line in lines)]
        path = out_dir / "trec-tsv" / f"{split}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(rows) + "\n")
    return out_dir


@pytest.fixture
def toy_tsv_dir(real_data_dir, tmp_path):
    return write_trec_tsv(real_data_dir, tmp_path / "data")


def test_trec_coarse_tsv_example(toy_tsv_dir, real_data_dir):
    task = load_task(str(EXAMPLES / "trec-coarse-tsv.yaml"), toy_tsv_dir)
    builtin = load_task("trec-6", real_data_dir)
    assert task.kind == "sentence" and task.labels == ("DESC", "ENTY", "HUM", "LOC", "NUM")
    assert task.train.sentences == builtin.train.sentences
    assert task.info["filtered_labels"] == {"ABBR": 86}


# ---- the command line ---------------------------------------------------------------------------
def test_cli_takes_a_task_file(capsys, task_file, corpus):
    from harness.cli import main

    assert main(["data", "stats", "--data-dir", str(corpus), "--tasks", str(task_file(TOKEN))]) == 0
    assert "toy-xpos  token  train" in capsys.readouterr().out
    bad = task_file(with_(TOKEN, kind="tokn"), "bad.yaml")
    assert main(["data", "stats", "--data-dir", str(corpus), "--tasks", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.yaml: field 'kind'" in err[0] and "Did you mean 'token'" in err[0]
