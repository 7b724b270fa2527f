"""Task files: a probing task declared in one small YAML file instead of a loader module.

A task file names the task, its kind, its source files and their format, the label
column, the split and the label filters (docs/own-task.md has the whole reference)::

    name: ewt-xpos
    kind: token                  # token | pair | sentence
    format: conllu               # conllu | conllu-plus | conllulex | tsv | csv | jsonl
    label: xpos                  # conllu: upos, xpos, deprel, feats:<Key>, misc:<Key>, ...
    train: ud_english_ewt/en_ewt-ud-train.conllu.gz
    test: ud_english_ewt/en_ewt-ud-test.conllu

A file path is accepted wherever a task name is (``load_task``, ``--task``, ``--tasks``).
:func:`register_task_file` reads the file, checks every field and returns the task's
name; the name is then known to this process and to the processes it starts (the
absolute path is listed in ``HARNESS_TASK_FILES``), so runs, cells and reports carry
the declared name, never a path. Store keys hold the task's canonical declaration
(:meth:`TaskDeclaration.canonical`: every field that changes the data, in a fixed form)
and the sha256 of every data file it names (see :func:`harness.data.load_task`).

A file whose name is a built-in task's must declare exactly that task (same files,
format, label column and split; :data:`BUILTIN_DECLARATIONS`); it then *is* the built-in
task, with its reader and its store keys.

Errors are :class:`~harness.exceptions.TaskFileError`, one line naming the file, the
field and what is wrong, with the nearest field or value names.
"""

import difflib
import functools
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..exceptions import TaskFileError
from .base import TASK_KINDS

#: Environment variable listing the task files registered by this process and its parents
#: (absolute paths joined by ``os.pathsep``): pytest and Ray workers read it.
TASK_FILES_ENV = "HARNESS_TASK_FILES"
SUFFIXES = (".yaml", ".yml")

CONLL_FORMATS = ("conllu", "conllu-plus", "conllulex")
TABLE_FORMATS = ("tsv", "csv", "jsonl")
FORMATS = CONLL_FORMATS + TABLE_FORMATS
#: CoNLL-U's ten columns (https://universaldependencies.org/format.html).
CONLLU_COLUMNS = ("ID", "FORM", "LEMMA", "UPOS", "XPOS", "FEATS", "HEAD", "DEPREL", "DEPS",
                  "MISC")
#: STREUSLE's conllulex: CoNLL-U's ten, then nine lexical-semantic columns (CONLLULEX.md).
CONLLULEX_COLUMNS = CONLLU_COLUMNS + ("SMWE", "LEXCAT", "LEXLEMMA", "SS", "SS2", "WMWE",
                                      "WCAT", "WLEMMA", "LEXTAG")
#: Columns that cannot be labels: the word's position and its head.
NOT_LABELS = ("ID", "HEAD")
#: Columns whose ``Key=Value|...`` content a label may pick one key of (``feats:Tense``).
KEYED_COLUMNS = ("FEATS", "MISC")

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

#: Every field of a task file: (required, what it holds). The order is the docs' order.
FIELDS = {
    "name": (True, "the task's name: lower-case letters, digits, '.', '_', '-'"),
    "kind": (True, f"one of {', '.join(TASK_KINDS)}"),
    "description": (False, "one line for people"),
    "format": (True, f"one of {', '.join(FORMATS)}"),
    "label": (True, "the column (CoNLL formats) or field (tsv, csv, jsonl) holding the label"),
    "text": (False, "tsv, csv, jsonl: the field holding the sentence (split on whitespace)"),
    "train": (False, "the training file (with 'test')"),
    "test": (False, "the test file (with 'train')"),
    "file": (False, "one file to split (with 'split'), instead of 'train' and 'test'"),
    "split": (False, "with 'file': {train: fraction of sentences, seed: int or omitted}"),
    "min_count": (False, "drop labels with fewer training examples (default 1: none)"),
    "drop_labels": (False, "labels to drop from both splits (default none)"),
    "max_train_sentences": (False, "keep the first N training sentences (default all)"),
    "max_test_sentences": (False, "keep the first N test sentences (default all)"),
    "partners": (False, "F6: {related: task, opposing: task}, each a built-in name or a "
                        "task file"),
}
SPLIT_FIELDS = ("train", "seed")
PARTNER_FIELDS = ("related", "opposing")


@dataclass(frozen=True)
class TaskDeclaration:
    """One task file, checked. Fields are those of :data:`FIELDS`.

    ``label`` is normalised: CoNLL columns upper-case (``XPOS``, ``FEATS:Tense``), so that
    ``xpos`` and ``XPOS`` declare the same task. ``path`` is the file (not part of the
    declaration's identity).
    """

    name: str
    kind: str
    format: str
    label: str
    text: str = None
    train: str = None
    test: str = None
    file: str = None
    split_train: float = None
    split_seed: int = None
    min_count: int = 1
    drop_labels: tuple = ()
    max_train_sentences: int = None
    max_test_sentences: int = None
    partners: tuple = ()  # ((relation, task), ...)
    description: str = ""
    path: str = field(default=None, compare=False)

    def canonical(self):
        """What defines the data, as a JSON-able dict: every field but the description and
        the file's own path (store keys hold it; a comment or a moved file keys nothing
        anew)."""
        out = asdict(self)
        for name in ("description", "path", "partners"):
            out.pop(name)
        out["drop_labels"] = sorted(out["drop_labels"])
        return out

    @property
    def base_dir(self):
        return Path(self.path).parent if self.path else Path.cwd()

    def partner(self, relation):
        return dict(self.partners).get(relation)


# ---- reading ------------------------------------------------------------------------------
def is_task_file(name):
    """Whether ``name`` is meant as a task file (a YAML suffix or a path separator)."""
    text = str(name)
    return text.endswith(SUFFIXES) or os.sep in text or "/" in text


def read_task_file(path):
    """Read and check a task file.

    Raises
    ------
    TaskFileError
        One line: ``<file>: field 'x': <what is wrong>`` (with "did you mean" for
        misspelt fields and values), or ``<file>:<line>: not valid YAML``.
    MissingDataError
        The file does not exist.
    """
    from ._io import MissingDataError, file_key

    p = Path(path).expanduser()
    if not p.is_file():
        raise MissingDataError(f"{path}: task file not found"
                               + (" (it is a directory)" if p.is_dir() else "") + ".")
    return _read_cached(file_key(p))


@functools.lru_cache(maxsize=64)
def _read_cached(key):
    import yaml

    path = key[0]
    text = Path(path).read_bytes()
    try:
        document = yaml.safe_load(text.decode("utf-8"))
    except UnicodeDecodeError as err:
        line = text[:err.start].count(b"\n") + 1
        raise TaskFileError(f"{path}:{line}: not valid utf-8 ({err.reason}).") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise TaskFileError(f"{where}: not valid YAML ({problem}).") from None
    return check_declaration(document, path)


def check_declaration(document, path="<task file>"):
    """A :class:`TaskDeclaration` from a parsed task file (a dict); raise on the first
    problem, naming the field."""
    def fail(name, problem):
        raise TaskFileError(f"{path}: field {name!r}: {problem}")

    if not isinstance(document, dict):
        raise TaskFileError(f"{path}: a task file is a YAML mapping of fields ({', '.join(FIELDS)}); "
                            f"got {type(document).__name__}.")
    for name in document:
        if name not in FIELDS:
            raise TaskFileError(f"{path}: unknown field {name!r}.{_did_you_mean(name, FIELDS)} "
                                f"Fields: {', '.join(FIELDS)}.")
    for name, (required, what) in FIELDS.items():
        if required and document.get(name) is None:
            raise TaskFileError(f"{path}: field {name!r} is missing; it holds {what}.")

    name = _string(document, "name", fail)
    if not _NAME_RE.match(name):
        fail("name", f"{name!r} is not a task name ({FIELDS['name'][1]}).")
    kind = _choice(document, "kind", TASK_KINDS, fail)
    fmt = _choice(document, "format", FORMATS, fail)
    if kind == "sentence" and fmt in CONLL_FORMATS:
        fail("format", f"kind 'sentence' needs one text per row: one of "
                       f"{', '.join(TABLE_FORMATS)}; got {fmt!r}.")
    if kind != "sentence" and fmt in TABLE_FORMATS:
        fail("format", f"kind {kind!r} labels words inside sentences: one of "
                       f"{', '.join(CONLL_FORMATS)}; got {fmt!r} (one text per row: kind "
                       "'sentence').")
    label = _label(_string(document, "label", fail), fmt, kind, fail)
    text = document.get("text")
    if fmt in TABLE_FORMATS:
        if text is None:
            fail("text", f"is missing; format {fmt!r} needs the field holding the sentence.")
        text = _string(document, "text", fail)
        if text == label:
            fail("text", f"is the label field {label!r}; they must differ.")
    elif text is not None:
        fail("text", f"applies to {', '.join(TABLE_FORMATS)} only; format {fmt!r} holds words "
                     "in its FORM column.")

    files = {k: document.get(k) for k in ("train", "test", "file")}
    split = document.get("split")
    split_train = split_seed = None
    if files["file"] is not None:
        for other in ("train", "test"):
            if files[other] is not None:
                fail(other, "give either 'train' and 'test', or 'file' with 'split'; not both.")
        if split is None:
            fail("split", "is missing; with 'file', give {train: fraction, seed: int} "
                          "(seed omitted: the first sentences in file order are train).")
        split_train, split_seed = _split(split, fail)
    else:
        if files["train"] is None or files["test"] is None:
            missing = "train" if files["train"] is None else "test"
            fail(missing, "is missing; give 'train' and 'test', or 'file' with 'split'.")
        if split is not None:
            fail("split", "applies to 'file' only; 'train' and 'test' are split already.")
    for k, v in files.items():
        if v is not None:
            files[k] = _string(document, k, fail)

    min_count = _positive_int(document, "min_count", fail, default=1)
    drop = document.get("drop_labels", [])
    if drop is None:
        drop = []
    if not isinstance(drop, list) or not all(isinstance(v, (str, int)) and not isinstance(v, bool)
                                             for v in drop):
        fail("drop_labels", f"must be a list of labels, e.g. [X, GW]. Got {drop!r}.")
    caps = {k: _positive_int(document, k, fail) for k in ("max_train_sentences",
                                                          "max_test_sentences")}
    partners = _partners(document.get("partners"), name, fail)
    description = document.get("description") or ""
    if not isinstance(description, str):
        fail("description", f"must be a string. Got {description!r}.")
    return TaskDeclaration(
        name=name, kind=kind, format=fmt, label=label, text=text, train=files["train"],
        test=files["test"], file=files["file"], split_train=split_train, split_seed=split_seed,
        min_count=min_count, drop_labels=tuple(sorted(str(v) for v in drop)),
        partners=partners, description=description.strip(), path=str(path), **caps)


def _did_you_mean(value, options):
    close = difflib.get_close_matches(str(value), list(options), n=3)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _string(document, name, fail):
    value = document[name]
    if not isinstance(value, str) or not value.strip():
        fail(name, f"must be a non-empty string. Got {value!r}.")
    return value.strip()


def _choice(document, name, options, fail):
    value = _string(document, name, fail)
    if value not in options:
        fail(name, f"must be one of {', '.join(options)}. Got {value!r}."
                   f"{_did_you_mean(value, options)}")
    return value


def _label(value, fmt, kind, fail):
    """The label column, normalised (CoNLL: upper-case, ``FEATS:Key``); table formats keep
    the field name (checked against the file's header when it is read)."""
    if fmt in TABLE_FORMATS:
        return value
    column, sep, key = value.partition(":")
    column = column.upper()
    if fmt == "conllu-plus" and column not in KEYED_COLUMNS:
        # Checked against the file's "# global.columns" line when it is read; CoNLL-U
        # Plus names may hold ':' themselves (PARSEME:MWE).
        column, sep, key = value.upper(), "", ""
    columns = CONLLU_COLUMNS if fmt == "conllu" else CONLLULEX_COLUMNS if fmt == "conllulex" \
        else None
    if columns is not None and column not in columns:
        options = [c.lower() for c in columns if c not in NOT_LABELS]
        fail("label", f"{value!r} is not a {fmt} column; one of {', '.join(options)} (feats "
                      f"and misc with a key: feats:Tense).{_did_you_mean(value.lower(), options)}")
    if column in NOT_LABELS:
        fail("label", f"{value!r} is the word's {'position' if column == 'ID' else 'head'}, "
                      "not a label.")
    if column in KEYED_COLUMNS and not (sep and key):
        fail("label", f"{value!r}: {column.lower()} holds Key=Value pairs; name the key, e.g. "
                      f"{column.lower()}:{'Tense' if column == 'FEATS' else 'SpaceAfter'}.")
    if sep and column not in KEYED_COLUMNS and fmt != "conllu-plus":
        fail("label", f"{value!r}: only feats and misc take a key after ':'.")
    return f"{column}:{key}" if sep else column


def _split(split, fail):
    if not isinstance(split, dict):
        fail("split", f"must be a mapping {{train: fraction, seed: int}}. Got {split!r}.")
    for k in split:
        if k not in SPLIT_FIELDS:
            fail("split", f"unknown key {k!r}.{_did_you_mean(k, SPLIT_FIELDS)} Keys: "
                          f"{', '.join(SPLIT_FIELDS)}.")
    train = split.get("train")
    if isinstance(train, bool) or not isinstance(train, (int, float)) or not 0 < train < 1:
        fail("split", f"'train' must be a fraction of the sentences strictly between 0 and 1. "
                      f"Got {train!r}.")
    seed = split.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        fail("split", f"'seed' must be an int >= 0, or omitted for file order. Got {seed!r}.")
    return float(train), seed


def _positive_int(document, name, fail, default=None):
    value = document.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        fail(name, f"must be a positive int. Got {value!r}.")
    return value


def _partners(value, own_name, fail):
    if value is None:
        return ()
    if not isinstance(value, dict) or not value:
        fail("partners", f"must be a mapping {{related: task, opposing: task}}. Got {value!r}.")
    out = []
    for relation, task in value.items():
        if relation not in PARTNER_FIELDS:
            fail("partners", f"unknown relation {relation!r}."
                             f"{_did_you_mean(relation, PARTNER_FIELDS)} Relations: "
                             f"{', '.join(PARTNER_FIELDS)}.")
        if not isinstance(task, str) or not task.strip():
            fail("partners", f"{relation!r} must be a task name or task file. Got {task!r}.")
        out.append((relation, task.strip()))
    return tuple(sorted(out))


# ---- built-in tasks as declarations -------------------------------------------------------
_PUD = "ud_english_pud/r2.9/en_pud-ud-test.conllu"
_EWT_TRAIN = ("ud_english_ewt/en_ewt-ud-train.conllu", "ud_english_ewt/en_ewt-ud-train.conllu.gz")
_EWT_TEST = ("ud_english_ewt/en_ewt-ud-test.conllu",)

#: The built-in tasks a task file can re-declare, as their declarations (file fields may
#: list the paths the built-in reader accepts). A file named like one of these must match
#: it; it is then that task (its reader, its keys).
BUILTIN_DECLARATIONS = {
    "pos": dict(kind="token", format="conllu", label="UPOS", file=(_PUD,), split_train=0.8),
    "dep": dict(kind="pair", format="conllu", label="DEPREL", file=(_PUD,), split_train=0.8),
    "pos-ewt": dict(kind="token", format="conllu", label="UPOS", train=_EWT_TRAIN,
                    test=_EWT_TEST),
    "dep-ewt": dict(kind="pair", format="conllu", label="DEPREL", train=_EWT_TRAIN,
                    test=_EWT_TEST),
}


def builtin_mismatch(decl):
    """None when ``decl`` declares the built-in task of its name, else what differs."""
    expected = BUILTIN_DECLARATIONS.get(decl.name)
    if expected is None:
        return "it cannot be declared in a file (its reader selects targets a file cannot)"
    defaults = TaskDeclaration(name=decl.name, kind="", format="", label="").canonical()
    for name, value in decl.canonical().items():
        if name == "name":
            continue
        want = expected.get(name, defaults[name])
        if name in ("train", "test", "file") and want is not None:
            if Path(value or "").as_posix() not in want:
                return f"field {name!r} is {value!r}; the built-in reads {want[0]!r}"
        elif value != want and not (isinstance(want, float) and value is not None
                                    and abs(value - want) < 1e-12):
            return f"field {name!r} is {value!r}; the built-in has {want!r}"
    return None


# ---- registration ---------------------------------------------------------------------------
def registered_task_files():
    """The task files registered in this process (and its parents), as absolute paths."""
    return [p for p in os.environ.get(TASK_FILES_ENV, "").split(os.pathsep) if p]


def register_task_file(path):
    """Read and check the task file ``path``, make its name known, and return the name.

    A name that is a built-in task's returns that name when the file declares exactly the
    built-in task (:func:`builtin_mismatch`), and raises otherwise; a name another
    registered file declares differently raises, naming both files.
    """
    from .registry import TASKS

    decl = read_task_file(path)
    if decl.name in TASKS:
        why = builtin_mismatch(decl)
        if why is not None:
            raise TaskFileError(f"{path}: field 'name': {decl.name!r} is a built-in task, and "
                                f"this file declares another one ({why}); choose another name.")
        return decl.name
    absolute = str(Path(path).expanduser().resolve())
    files = registered_task_files()
    for other in files:
        if other == absolute:
            continue
        try:
            known = read_task_file(other)
        except (OSError, ValueError):
            continue
        if known.name == decl.name and known.canonical() != decl.canonical():
            raise TaskFileError(f"{path}: field 'name': {decl.name!r} is also the name of "
                                f"{other}, which declares another task; rename one of them.")
    if absolute not in files:
        os.environ[TASK_FILES_ENV] = os.pathsep.join(files + [absolute])
    for _, partner in decl.partners:  # partners are tasks of the run too
        if is_task_file(partner):
            register_task_file(_partner_path(decl, partner))
    return decl.name


def _partner_path(decl, partner):
    p = Path(partner).expanduser()
    return p if p.is_absolute() else decl.base_dir / p


def resolve_task_name(name):
    """The task name of ``name``: a task file is registered and its declared name
    returned; any other string is returned as it is."""
    return register_task_file(name) if is_task_file(name) else name


def declaration(name):
    """The :class:`TaskDeclaration` of a user task (a task file, or the name of a
    registered one); None for a built-in or unknown name."""
    from .registry import TASKS

    if is_task_file(name):
        decl = read_task_file(name)
        return None if decl.name in TASKS else decl
    if name in TASKS:
        return None
    for path in registered_task_files():
        try:
            decl = read_task_file(path)
        except (OSError, ValueError):
            continue
        if decl.name == name:
            return decl
    return None


def partner_name(decl, relation):
    """The task name of ``decl``'s F6 partner ``relation`` (None when not declared)."""
    partner = decl.partner(relation)
    if partner is None:
        return None
    return register_task_file(_partner_path(decl, partner)) if is_task_file(partner) else partner


def user_task_spec(name):
    """The :class:`~harness.data.registry.TaskSpec` of a task file or registered user task
    (a re-declared built-in: the built-in's); None when ``name`` is neither."""
    from .registry import TASKS, TaskSpec

    if is_task_file(name):
        resolved = register_task_file(name)
        if resolved in TASKS:
            return TASKS.get(resolved)
    decl = declaration(name)
    if decl is None:
        return None
    return TaskSpec(decl.name, decl.kind, "harness.data.declared:load_declared",
                    {"declaration": decl}, decl.description or f"task file {decl.path}")
