"""The reader of task files (:mod:`harness.data.taskfile`): CoNLL formats and tables.

One loader, :func:`load_declared`, reads what a :class:`~harness.data.taskfile.TaskDeclaration`
names and builds the same :class:`~harness.data.base.TaskData` as the built-in loaders:

========================  =======  ===============================================
format                    kinds    a target is
========================  =======  ===============================================
conllu, conllu-plus,      token    every word whose label column is not ``_`` (for
conllulex                          ``FEATS:Key``/``MISC:Key``: that holds the key)
                          pair     ``(head, modifier)`` for every such non-root word
tsv, csv, jsonl           sentence every row: ``text`` split on whitespace
========================  =======  ===============================================

Words are rows with an integer ID (ranges ``3-4`` and empty nodes ``8.1`` are skipped,
as in :mod:`harness.data.ud`). A relative data path is looked up beside the task file,
then in the data directory. One ``file`` is split by sentences: the first
``round(train * n)`` in file order, or a random subset drawn with ``seed`` (each split
keeps file order). Caps keep the first sentences of each split (the smaller of the task
file's and the tier's). Labels named in ``drop_labels`` and labels with fewer than
``min_count`` training examples are removed from both splits (``info["filtered_labels"]``),
then test labels unseen in train are dropped as for every task.

Every problem in a data file raises :class:`~harness.exceptions.DataFormatError` naming
``file:line``.
"""

import csv
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Tuple

import numpy as np

from ..exceptions import DataFormatError
from ..fingerprints import file_sha256
from ._io import (HOW_TO_GET_DATA, MissingDataError, build_split, cap_records, check_cap,
                  finalize_task, make_example, read_lines, sentence_blocks)
from .base import Split
from .taskfile import CONLLU_COLUMNS, CONLLULEX_COLUMNS, KEYED_COLUMNS, _did_you_mean

_ID_INT = re.compile(r"^[1-9][0-9]*$")
_ID_SKIP = re.compile(r"^([0-9]+\.[1-9][0-9]*|[1-9][0-9]*-[1-9][0-9]*)$")
_HEAD = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class Record:
    """One sentence: words, 0-based heads (-1 root; empty when not read), the label of each
    word (None: no target) or of the sentence, and the file line of each."""

    sent_id: str
    words: Tuple[str, ...]
    labels: Tuple[object, ...]
    lines: Tuple[int, ...]
    heads: Tuple[int, ...] = ()


def load_declared(name, data_dir, *, declaration, max_train_sentences=None,
                  max_test_sentences=None):
    """Load the task a task file declares (see the module docstring).

    Parameters
    ----------
    name : str
    data_dir : pathlib.Path
    declaration : harness.data.taskfile.TaskDeclaration
    max_train_sentences, max_test_sentences : int, optional
        The tier's caps; the smaller of these and the task file's apply.

    Returns
    -------
    TaskData
        ``info["file_sha256"]`` maps each data path as the task file writes it to its
        sha256 (:func:`harness.data.load_task` keys results by it).
    """
    decl = declaration
    caps = {split: _smaller(check_cap(tier_cap, f"max_{split}_sentences"),
                            getattr(decl, f"max_{split}_sentences"))
            for split, tier_cap in (("train", max_train_sentences), ("test", max_test_sentences))}
    if decl.file is not None:
        path = _data_file(decl, decl.file, "file", data_dir)
        records = _read(decl, path, decl.file)
        if len(records) < 2:
            raise DataFormatError(f"{decl.file}: {len(records)} sentence(s); a split needs at "
                                  "least 2.")
        train, test = _split(records, decl.split_train, decl.split_seed)
        sources = {"train": decl.file, "test": decl.file}
        digests = {decl.file: file_sha256(path)}
        split_text = (f"{len(train)} of {len(records)} sentences = train, "
                      + ("the first in file order" if decl.split_seed is None
                         else f"drawn with seed {decl.split_seed}"))
    else:
        paths = {s: _data_file(decl, getattr(decl, s), s, data_dir) for s in ("train", "test")}
        train = _read(decl, paths["train"], decl.train)
        test = _read(decl, paths["test"], decl.test)
        sources = {"train": decl.train, "test": decl.test}
        digests = {getattr(decl, s): file_sha256(p) for s, p in paths.items()}
        split_text = "train file / test file"
    train, test = cap_records(train, caps["train"]), cap_records(test, caps["test"])
    splits = {s: build_split(r, _examples(decl.kind, sources[s]))
              for s, r in (("train", train), ("test", test))}
    splits, filtered = _filter_labels(splits, decl)
    info = {
        "task_file": decl.path,
        "format": decl.format,
        "label_column": decl.label,
        "files": sources,
        "file_sha256": digests,
        "split": split_text,
        "filtered_labels": filtered,
        "max_train_sentences": caps["train"],
        "max_test_sentences": caps["test"],
    }
    return finalize_task(name, decl.kind, splits["train"], splits["test"], info,
                         train_source=sources["train"], test_source=sources["test"])


def _smaller(a, b):
    return b if a is None else a if b is None else min(a, b)


def _data_file(decl, rel, field, data_dir):
    """A data path of the task file: absolute, or beside the task file, or in the data dir."""
    p = Path(rel).expanduser()
    candidates = [p] if p.is_absolute() else [decl.base_dir / p, Path(data_dir) / p]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise MissingDataError(
        f"{decl.path}: field {field!r}: data file {rel!r} not found (looked for "
        f"{', '.join(str(c) for c in candidates)}). A relative path is read beside the task "
        f"file, then in the data directory. {HOW_TO_GET_DATA}")


def _split(records, fraction, seed):
    n = len(records)
    n_train = min(max(int(round(fraction * n)), 1), n - 1)
    if seed is None:
        return records[:n_train], records[n_train:]
    chosen = np.zeros(n, dtype=bool)
    chosen[np.random.default_rng(seed).permutation(n)[:n_train]] = True
    return (tuple(r for r, c in zip(records, chosen) if c),
            tuple(r for r, c in zip(records, chosen) if not c))


def _examples(kind, display):
    def examples_of(rec, k):
        if kind == "sentence":
            yield make_example(k, (), rec.labels[0], f"{display}:{rec.lines[0]}")
            return
        for i, (label, line) in enumerate(zip(rec.labels, rec.lines)):
            if label is None:
                continue
            if kind == "token":
                yield make_example(k, (i,), label, f"{display}:{line}")
            elif rec.heads[i] >= 0:
                yield make_example(k, (rec.heads[i], i), label, f"{display}:{line}")

    return examples_of


def _filter_labels(splits, decl):
    """Remove ``drop_labels`` and labels under ``min_count`` training examples from both
    splits; returns the splits and ``{label: training examples removed}``."""
    counts = Counter(splits["train"].labels)
    dropped = set(decl.drop_labels) | {lab for lab, n in counts.items() if n < decl.min_count}
    if not dropped:
        return splits, {}
    out = {name: Split(sentences=s.sentences, sentence_ids=s.sentence_ids,
                       examples=tuple(e for e in s.examples if e.label not in dropped))
           for name, s in splits.items()}
    return out, {lab: counts.get(lab, 0) for lab in sorted(dropped)}


# ---- file formats ---------------------------------------------------------------------------
def _read(decl, path, display):
    lines = read_lines(path)
    if decl.format in ("tsv", "csv"):
        records = _read_table(decl, lines, display)
    elif decl.format == "jsonl":
        records = _read_jsonl(decl, lines, display)
    else:
        records = _read_conll(decl, lines, display)
    if not records:
        raise DataFormatError(f"{display}:1: the file holds no sentences.")
    return tuple(records)


def _conll_columns(decl, lines, display):
    if decl.format == "conllu":
        return CONLLU_COLUMNS
    if decl.format == "conllulex":
        return CONLLULEX_COLUMNS
    first = lines[0] if lines else ""
    key, sep, value = first.lstrip("#").partition("=")
    if not (first.startswith("#") and sep and key.strip() == "global.columns"):
        raise DataFormatError(f"{display}:1: a CoNLL-U Plus file starts with '# global.columns "
                              f"= ID FORM ...' naming its columns; got {first[:60]!r}.")
    return tuple(c.upper() for c in value.split())


def _read_conll(decl, lines, display):
    columns = _conll_columns(decl, lines, display)
    column, _, key = decl.label.partition(":") if decl.label.split(":")[0] in KEYED_COLUMNS \
        else (decl.label, "", "")
    if column not in columns:
        raise DataFormatError(
            f"{display}:1: the label column {column!r} (task file {decl.path}, field 'label') "
            f"is not among the file's columns ({' '.join(columns)}).{_did_you_mean(column, columns)}")
    for needed in ("ID", "FORM") + (("HEAD",) if decl.kind == "pair" else ()):
        if needed not in columns:
            raise DataFormatError(f"{display}:1: the file has no {needed} column "
                                  f"({' '.join(columns)}); kind {decl.kind!r} needs it.")
    at = {name: columns.index(name) for name in ("ID", "FORM", "HEAD") if name in columns}
    label_at, n_columns = columns.index(column), len(columns)
    return [_conll_block(block, display, at, label_at, key, n_columns, decl)
            for block in sentence_blocks(lines)]


def _conll_block(block, display, at, label_at, key, n_columns, decl):
    sent_id, words, labels, heads, lines = None, [], [], [], []
    for line_no, text in block:
        if text.startswith("#"):
            name, sep, value = text[1:].partition("=")
            if sep and name.strip() == "sent_id":
                sent_id = value.strip()
            continue
        cols = text.split("\t")
        if len(cols) != n_columns:
            raise DataFormatError(f"{display}:{line_no}: expected {n_columns} tab-separated "
                                  f"{decl.format} columns, got {len(cols)}.")
        tid = cols[at["ID"]]
        if _ID_SKIP.match(tid):
            continue
        if not _ID_INT.match(tid):
            raise DataFormatError(f"{display}:{line_no}: ID {tid!r} is not an integer, range "
                                  "or decimal.")
        if int(tid) != len(words) + 1:
            raise DataFormatError(f"{display}:{line_no}: word ID {tid} out of sequence "
                                  f"(expected {len(words) + 1}).")
        if decl.kind == "pair":
            head = cols[at["HEAD"]]
            if not _HEAD.match(head):
                raise DataFormatError(f"{display}:{line_no}: head {head!r} of word {tid} is "
                                      "not an integer.")
            heads.append(int(head) - 1)
        words.append(cols[at["FORM"]])
        labels.append(_value(cols[label_at], key, display, line_no))
        lines.append(line_no)
    if not words:
        raise DataFormatError(f"{display}:{block[0][0]}: sentence block has no words.")
    if heads:
        from .ud import _check_tree

        for i, (head, line_no) in enumerate(zip(heads, lines)):
            if head >= len(words) or head == i:
                raise DataFormatError(f"{display}:{line_no}: head {head + 1} of word {i + 1} "
                                      f"is out of range 0..{len(words)} or the word itself.")
        _check_tree(heads, lines, display, block[0][0])
    return Record(sent_id or f"{display}:{block[0][0]}", tuple(words), tuple(labels),
                  tuple(lines), tuple(heads))


def _value(cell, key, display, line_no):
    """The label in one cell: None for ``_``; with ``key``, that key of ``K=V|K=V``."""
    if cell == "_" or cell == "":
        return None
    if not key:
        return cell
    for pair in cell.split("|"):
        name, sep, value = pair.partition("=")
        if not sep:
            raise DataFormatError(f"{display}:{line_no}: {cell!r} is not Key=Value pairs "
                                  "separated by '|'.")
        if name == key:
            return value
    return None


def _read_table(decl, lines, display):
    if lines and lines[-1] == "":
        lines = lines[:-1]
    delimiter = "\t" if decl.format == "tsv" else ","
    quoting = csv.QUOTE_NONE if decl.format == "tsv" else csv.QUOTE_MINIMAL
    reader = csv.reader(lines, delimiter=delimiter, quoting=quoting, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise DataFormatError(f"{display}:1: the file is empty; it needs a header row naming "
                              f"its fields ({decl.text!r}, {decl.label!r}).") from None
    at = {role: _header_index(header, name, role, decl, display)
          for role, name in (("text", decl.text), ("label", decl.label))}
    records = []
    try:
        for row in reader:
            line_no = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise DataFormatError(f"{display}:{line_no}: expected {len(header)} fields "
                                      f"(the header's), got {len(row)}.")
            records.append(_sentence(row[at["text"]], row[at["label"]], display, line_no, decl))
    except csv.Error as err:
        raise DataFormatError(f"{display}:{reader.line_num}: not valid {decl.format} ({err}).") \
            from None
    return records


def _header_index(header, name, role, decl, display):
    if name not in header:
        raise DataFormatError(
            f"{display}:1: no field {name!r} in the header ({', '.join(header)}); the task "
            f"file's {role!r} names it.{_did_you_mean(name, header)}")
    return header.index(name)


def _read_jsonl(decl, lines, display):
    records = []
    for line_no, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataFormatError(f"{display}:{line_no}: not valid JSON ({err.msg}).") from None
        if not isinstance(row, dict):
            raise DataFormatError(f"{display}:{line_no}: each line must be a JSON object; got "
                                  f"{type(row).__name__}.")
        for role, name in (("text", decl.text), ("label", decl.label)):
            if name not in row:
                raise DataFormatError(
                    f"{display}:{line_no}: no field {name!r} (the task file's {role!r}); the "
                    f"object has {', '.join(row) or 'none'}.{_did_you_mean(name, row)}")
        label = row[decl.label]
        if isinstance(label, bool) or not isinstance(label, (str, int)):
            raise DataFormatError(f"{display}:{line_no}: label {label!r} must be a string or "
                                  "an integer.")
        if not isinstance(row[decl.text], str):
            raise DataFormatError(f"{display}:{line_no}: field {decl.text!r} must be a string.")
        records.append(_sentence(row[decl.text], str(label), display, line_no, decl))
    return records


def _sentence(text, label, display, line_no, decl):
    words = tuple(text.split())
    if not words:
        raise DataFormatError(f"{display}:{line_no}: the text field {decl.text!r} is blank.")
    if not label.strip():
        raise DataFormatError(f"{display}:{line_no}: the label field {decl.label!r} is blank.")
    return Record(f"{display}:{line_no}", words, (label.strip(),), (line_no,))
