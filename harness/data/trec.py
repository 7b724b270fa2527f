"""TREC question classification (Li & Roth 2002): ``trec-50`` and ``trec-6``.

Each line of ``trec/train_5500.label`` (train, 5,452 questions) and ``trec/TREC_10.label``
(test, 500) reads ``COARSE:fine<space>question``. One example per question, kind
``"sentence"``, ``positions=()``; words = the question split on whitespace.

* ``trec-50``: label = ``"COARSE:fine"`` (50 labels in train).
* ``trec-6``:  label = ``"COARSE"`` (ABBR DESC ENTY HUM LOC NUM).

The files are read as bytes and decoded as latin-1: train line 66 holds the single byte
0xF0 (``sister\\xf0city``), which is not valid UTF-8. It decodes to ``"ð"`` and stays
inside its word (HF ``datasets`` replaces it with a space instead, splitting the word).
For TREC the sentence caps count questions.
"""

import functools
import re
from dataclasses import dataclass
from typing import Tuple

from ..exceptions import DataFormatError
from ._io import (
    build_split,
    cap_records,
    check_cap,
    display_path,
    file_key,
    find_file,
    finalize_task,
    make_example,
    read_lines,
)

COARSE_LABELS = frozenset({"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"})
LINE_RE = re.compile(r"^([A-Z]+):([a-z]+) (.+)$")
TRAIN_FILE = "trec/train_5500.label"
TEST_FILE = "trec/TREC_10.label"
GRANULARITIES = ("fine", "coarse")


@dataclass(frozen=True)
class Question:
    """One TREC line."""

    sent_id: str
    words: Tuple[str, ...]
    coarse: str
    fine: str  # "COARSE:fine"
    line: int


def read_trec(path, display=None):
    """Parse and validate a TREC ``.label`` file into :class:`Question` s.

    Raises
    ------
    DataFormatError
        ``file:line: problem`` for a line not matching ``[A-Z]+:[a-z]+ .+`` or a coarse
        label outside {ABBR, DESC, ENTY, HUM, LOC, NUM}.
    """
    return _read_trec_cached(file_key(path), display or str(path))


@functools.lru_cache(maxsize=8)
def _read_trec_cached(key, display):
    lines = read_lines(key[0], encoding="latin-1")
    if lines and lines[-1] == "":
        lines = lines[:-1]  # the newline that ends the last line
    questions = []
    for line_no, text in enumerate(lines, start=1):
        match = LINE_RE.match(text)
        if not match:
            raise DataFormatError(
                f"{display}:{line_no}: line does not match 'COARSE:fine question' "
                f"({LINE_RE.pattern}): {text[:60]!r}."
            )
        coarse, fine, question = match.groups()
        if coarse not in COARSE_LABELS:
            raise DataFormatError(
                f"{display}:{line_no}: coarse label {coarse!r} is not one of "
                f"{' '.join(sorted(COARSE_LABELS))}."
            )
        words = tuple(question.split())
        if not words:
            raise DataFormatError(f"{display}:{line_no}: the question is blank.")
        questions.append(Question(f"{display}:{line_no}", words, coarse, f"{coarse}:{fine}", line_no))
    return tuple(questions)


def _examples(display, granularity):
    def examples_of(q, k):
        yield make_example(k, (), q.fine if granularity == "fine" else q.coarse, f"{display}:{q.line}")

    return examples_of


def load_trec(name, data_dir, *, granularity, max_train_sentences=None, max_test_sentences=None):
    """Load ``trec-50`` (``granularity="fine"``) or ``trec-6`` (``"coarse"``).

    Parameters
    ----------
    name : str
    data_dir : pathlib.Path
    granularity : {"fine", "coarse"}
    max_train_sentences, max_test_sentences : int, optional
        Keep only the first n questions of each file (tiny tier).

    Returns
    -------
    TaskData
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"The 'granularity' parameter of load_task must be one of "
                         f"{list(GRANULARITIES)}. Got {granularity!r} instead.")
    train_path = find_file(data_dir, [TRAIN_FILE], "TREC train (train_5500.label)")
    test_path = find_file(data_dir, [TEST_FILE], "TREC test (TREC_10.label)")
    train_display = display_path(train_path, data_dir)
    test_display = display_path(test_path, data_dir)
    train = cap_records(read_trec(train_path, train_display), check_cap(max_train_sentences, "max_train_sentences"))
    test = cap_records(read_trec(test_path, test_display), check_cap(max_test_sentences, "max_test_sentences"))
    info = {
        "corpus": "TREC (Li & Roth 2002)",
        "files": {"train": train_display, "test": test_display},
        "granularity": granularity,
        "split": "official train_5500 / TREC_10",
        "encoding": "latin-1",
        "max_train_sentences": max_train_sentences,
        "max_test_sentences": max_test_sentences,
    }
    return finalize_task(
        name, "sentence",
        build_split(train, _examples(train_display, granularity)),
        build_split(test, _examples(test_display, granularity)),
        info, train_source=train_display, test_source=test_display,
    )
