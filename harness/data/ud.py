"""POS and DEP tasks from Universal Dependencies (English PUD; English EWT at scale).

Tasks
-----
``pos`` / ``pos-ewt``
    kind ``"token"``: one example per word, ``positions=(i,)``, label = UPOS (17 tags).
``dep`` / ``dep-ewt``
    kind ``"pair"``: one example per non-root word, ``positions=(head, modifier)``
    (0-based word indices), label = the modifier's ``deprel`` with its subtype
    (``nmod:poss``); ``root`` is never a label since it has no head word.

"Words" are CoNLL-U lines whose ID is an integer: multiword-token ranges (``3-4``) and
empty nodes (``8.1``) are skipped, so word ``i`` is the line with ID ``i + 1``.

Splits
------
PUD ships one file of 1,000 sentences. The paper made its own split without publishing it;
about 75 updates at batch 32 over 3 epochs implies ~800 training sentences, so we take the
first 800 sentences (file order) as train and the last 200 as test (configurable with
``pud_train_sentences``). EWT uses its official train and test (or dev) files.

The default PUD version is ``r2.9`` (byte-identical to r2.8 of 2021-05, the release
current when the paper was written); ``ud_version="r2.18"`` selects the latest release,
whose deprel inventory differs (``:tmod``/``:npmod`` became ``:unmarked``, plus
``nmod:desc`` and ``advcl:relcl``).
"""

import functools
import re
from dataclasses import dataclass
from typing import Tuple

import conllu

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
    sentence_blocks,
)

UPOS_TAGS = frozenset(
    "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
)
DEPREL_RE = re.compile(r"^[a-z]+(:[a-z]+)?$")
# conllu's default parsers build dicts for FEATS/DEPS/MISC and ints for ID/HEAD. We read
# only the first 8 columns, and ID/HEAD as raw strings so that we validate them ourselves
# with file:line messages; this makes EWT train (200k words) parse ~3x faster.
UD_FIELDS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel")
_RAW_FIELD_PARSERS = {name: (lambda line, i: line[i]) for name in ("id", "head")}

PUD_FILES = {
    "r2.9": "ud_english_pud/r2.9/en_pud-ud-test.conllu",
    "r2.18": "ud_english_pud/en_pud-ud-test.conllu",
}
DEFAULT_UD_VERSION = "r2.9"
PUD_TRAIN_SENTENCES = 800
EWT_FILES = {
    "train": ("ud_english_ewt/en_ewt-ud-train.conllu", "ud_english_ewt/en_ewt-ud-train.conllu.gz"),
    "dev": ("ud_english_ewt/en_ewt-ud-dev.conllu", "ud_english_ewt/en_ewt-ud-dev.conllu.gz"),
    "test": ("ud_english_ewt/en_ewt-ud-test.conllu", "ud_english_ewt/en_ewt-ud-test.conllu.gz"),
}
TARGETS = ("upos", "deprel")

_ID_INT = re.compile(r"^[1-9][0-9]*$")
_ID_RANGE = re.compile(r"^[1-9][0-9]*-[1-9][0-9]*$")
_ID_EMPTY = re.compile(r"^[0-9]+\.[1-9][0-9]*$")
_HEAD = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class UDSentence:
    """The words of one CoNLL-U sentence and their annotations (0-based heads, -1 = root)."""

    sent_id: str
    words: Tuple[str, ...]
    upos: Tuple[str, ...]
    heads: Tuple[int, ...]
    deprels: Tuple[str, ...]
    lines: Tuple[int, ...]  # 1-based file line of each word


def read_conllu(path, display=None):
    """Parse and validate a CoNLL-U file (plain or ``.gz``) into :class:`UDSentence` s.

    Parameters
    ----------
    path : path-like
    display : str, optional
        How to name the file in messages and ``source`` strings (default: the path).

    Returns
    -------
    tuple of UDSentence

    Raises
    ------
    DataFormatError
        ``file:line: problem`` for a row without 10 columns, an ID that is not an
        integer/range/empty node or out of sequence, a head that is not an integer or is
        out of range, a sentence whose heads do not form one tree (no root, two roots,
        a cycle), an unknown UPOS tag or a malformed deprel; a damaged or compressed
        file (see :func:`~harness.data._io.read_lines`).
    """
    return _read_conllu_cached(file_key(path), display or str(path))


@functools.lru_cache(maxsize=16)
def _read_conllu_cached(key, display):
    return tuple(_parse_block(block, display) for block in sentence_blocks(read_lines(key[0])))


def _parse_block(block, display):
    """Validate one sentence block and turn it into a :class:`UDSentence`."""
    start = block[0][0]
    token_lines = []
    for line_no, text in block:
        if text.startswith("#"):
            continue
        n_cols = len(text.split("\t"))
        if n_cols != 10:
            raise DataFormatError(
                f"{display}:{line_no}: expected 10 tab-separated CoNLL-U columns, got {n_cols}."
            )
        token_lines.append(line_no)
    if not token_lines:
        raise DataFormatError(f"{display}:{start}: sentence block has comments but no words.")
    try:
        parsed = conllu.parse_token_and_metadata(
            "\n".join(text for _, text in block),
            fields=UD_FIELDS,
            field_parsers=_RAW_FIELD_PARSERS,
        )
    except conllu.exceptions.ParseException as err:
        raise DataFormatError(f"{display}:{start}: sentence block does not parse: {err}") from None
    if len(parsed) != len(token_lines):
        raise DataFormatError(
            f"{display}:{start}: conllu read {len(parsed)} rows from {len(token_lines)} token lines "
            "(are there runs of two spaces inside a field?)."
        )

    words, upos, heads, deprels, word_lines = [], [], [], [], []
    for token, line_no in zip(parsed, token_lines):
        tid = token["id"]
        if _ID_RANGE.match(tid) or _ID_EMPTY.match(tid):
            continue  # multiword-token ranges and empty nodes are not words
        if not _ID_INT.match(tid):
            raise DataFormatError(f"{display}:{line_no}: ID {tid!r} is not an integer, range or decimal.")
        if int(tid) != len(words) + 1:
            raise DataFormatError(
                f"{display}:{line_no}: word ID {tid} out of sequence (expected {len(words) + 1})."
            )
        head = token["head"]
        if not _HEAD.match(head):
            raise DataFormatError(f"{display}:{line_no}: head {head!r} of word {tid} is not an integer.")
        if token["upos"] not in UPOS_TAGS:
            raise DataFormatError(
                f"{display}:{line_no}: UPOS {token['upos']!r} of word {tid} is not one of the "
                f"17 UD tags ({' '.join(sorted(UPOS_TAGS))})."
            )
        if not DEPREL_RE.match(token["deprel"]):
            raise DataFormatError(
                f"{display}:{line_no}: deprel {token['deprel']!r} of word {tid} does not match "
                f"{DEPREL_RE.pattern}."
            )
        words.append(token["form"])
        upos.append(token["upos"])
        heads.append(int(head) - 1)
        deprels.append(token["deprel"])
        word_lines.append(line_no)
    if not words:
        raise DataFormatError(f"{display}:{start}: sentence has no words (only ranges/empty nodes).")
    for i, (head, line_no) in enumerate(zip(heads, word_lines)):
        if head >= len(words):
            raise DataFormatError(
                f"{display}:{line_no}: head {head + 1} out of range 0..{len(words)} "
                f"(the sentence has {len(words)} words)."
            )
        if head == i:
            raise DataFormatError(f"{display}:{line_no}: word {i + 1} is its own head.")
        if (head < 0) != (deprels[i] == "root"):
            # UD: the deprel `root` belongs to the word with HEAD 0 and to no other word
            # (otherwise DEP would gain a label that no head-modifier pair can have).
            what = (f"has HEAD 0 but deprel {deprels[i]!r}" if head < 0
                    else f"has deprel 'root' but HEAD {head + 1}")
            raise DataFormatError(f"{display}:{line_no}: word {i + 1} {what}; the deprel "
                                  "'root' goes with HEAD 0, and only there.")
    _check_tree(heads, word_lines, display, start)
    sent_id = parsed.metadata.get("sent_id") or f"{display}:{start}"
    return UDSentence(sent_id, tuple(words), tuple(upos), tuple(heads), tuple(deprels), tuple(word_lines))


def _check_tree(heads, word_lines, display, start):
    """Raise unless the 0-based ``heads`` (-1 = root) form one tree: one root, no cycle."""
    roots = [i for i, head in enumerate(heads) if head < 0]
    if not roots:
        raise DataFormatError(f"{display}:{start}: sentence has no root (no word with HEAD 0); "
                              "every sentence needs exactly one.")
    if len(roots) > 1:
        raise DataFormatError(
            f"{display}:{word_lines[roots[1]]}: word {roots[1] + 1} is a second root (word "
            f"{roots[0] + 1} on line {word_lines[roots[0]]} already has HEAD 0).")
    # With one root and every head in range, a word that does not reach the root by
    # following heads lies on a cycle; walking from it at most n steps enters the cycle.
    reaches_root = {roots[0]}
    for i in range(len(heads)):
        path = []
        node = i
        while node not in reaches_root and node not in path:
            path.append(node)
            node = heads[node]
        if node in reaches_root:
            reaches_root.update(path)
            continue
        cycle = path[path.index(node):]
        shown = " -> ".join(str(w + 1) for w in cycle + [node])
        raise DataFormatError(f"{display}:{word_lines[node]}: the HEAD column has a cycle "
                              f"(words {shown}); it must form a tree.")


def pos_examples(display):
    """Return ``examples_of(sentence, k)`` yielding one UPOS example per word."""

    def examples_of(sent, k):
        for i, (tag, line_no) in enumerate(zip(sent.upos, sent.lines)):
            yield make_example(k, (i,), tag, f"{display}:{line_no}")

    return examples_of


def dep_examples(display):
    """Return ``examples_of(sentence, k)`` yielding one (head, modifier) example per non-root word."""

    def examples_of(sent, k):
        for i, (head, rel, line_no) in enumerate(zip(sent.heads, sent.deprels, sent.lines)):
            if head >= 0:
                yield make_example(k, (head, i), rel, f"{display}:{line_no}")

    return examples_of


_EXAMPLES_OF = {"upos": pos_examples, "deprel": dep_examples}
_KIND_OF = {"upos": "token", "deprel": "pair"}


def _check_choice(value, options, param):
    if value not in options:
        raise ValueError(
            f"The {param!r} parameter of load_task must be one of {sorted(options)}. "
            f"Got {value!r} instead."
        )


def load_pud(name, data_dir, *, target, max_train_sentences=None, max_test_sentences=None,
             ud_version=DEFAULT_UD_VERSION, pud_train_sentences=PUD_TRAIN_SENTENCES):
    """Load a PUD task (``pos`` or ``dep``) with the deterministic first-800/last-200 split.

    Parameters
    ----------
    name : str
        Task name recorded in the result.
    data_dir : pathlib.Path
    target : {"upos", "deprel"}
        Which annotation becomes the label (``pos`` or ``dep``).
    max_train_sentences, max_test_sentences : int, optional
        Keep only the first n sentences of each split (tiny tier).
    ud_version : {"r2.9", "r2.18"}, default="r2.9"
    pud_train_sentences : int, default=800
        Sentences (from the top of the file) that form train; the rest form test.

    Returns
    -------
    TaskData
    """
    _check_choice(target, TARGETS, "target")
    _check_choice(ud_version, PUD_FILES, "ud_version")
    path = find_file(data_dir, [PUD_FILES[ud_version]], f"UD English PUD {ud_version}")
    display = display_path(path, data_dir)
    records = read_conllu(path, display)
    if not records:
        raise DataFormatError(f"{display}:1: the file holds no sentences.")
    if isinstance(pud_train_sentences, int) and not isinstance(pud_train_sentences, bool) \
            and pud_train_sentences >= max(1, len(records)):
        # A short file, not a bad option: say what the split needs.
        raise DataFormatError(
            f"{display}: the file holds {len(records)} sentences, fewer than the split needs "
            f"(the first {pud_train_sentences} = train, at least one more = test; the "
            "official file has 1000). Replace it: `harness data download --force`.")
    if isinstance(pud_train_sentences, bool) or not isinstance(pud_train_sentences, int) \
            or not 0 < pud_train_sentences < len(records):
        raise ValueError(
            f"The 'pud_train_sentences' parameter of load_task must be an int in "
            f"1..{len(records) - 1}. Got {pud_train_sentences!r} instead."
        )
    train = cap_records(records[:pud_train_sentences], check_cap(max_train_sentences, "max_train_sentences"))
    test = cap_records(records[pud_train_sentences:], check_cap(max_test_sentences, "max_test_sentences"))
    examples_of = _EXAMPLES_OF[target](display)
    info = {
        "corpus": "UD_English-PUD",
        "ud_version": ud_version,
        "files": {"train": display, "test": display},
        "split": f"first {pud_train_sentences} sentences = train, remaining "
                 f"{len(records) - pud_train_sentences} = test (file order)",
        "max_train_sentences": max_train_sentences,
        "max_test_sentences": max_test_sentences,
    }
    return finalize_task(
        name, _KIND_OF[target], build_split(train, examples_of), build_split(test, examples_of),
        info, train_source=display, test_source=display,
    )


def load_ewt(name, data_dir, *, target, max_train_sentences=None, max_test_sentences=None,
             eval_split="test"):
    """Load an EWT task (``pos-ewt``/``dep-ewt``) from the official r2.16 files.

    The train file may be stored gzip-compressed (``.conllu.gz``); it is read transparently.

    Parameters
    ----------
    name, data_dir, target, max_train_sentences, max_test_sentences
        As for :func:`load_pud`.
    eval_split : {"test", "dev"}, default="test"
        Which official file becomes ``TaskData.test``.
    """
    _check_choice(target, TARGETS, "target")
    _check_choice(eval_split, ("test", "dev"), "eval_split")
    train_path = find_file(data_dir, EWT_FILES["train"], "UD English EWT r2.16 train")
    test_path = find_file(data_dir, EWT_FILES[eval_split], f"UD English EWT r2.16 {eval_split}")
    train_display = display_path(train_path, data_dir)
    test_display = display_path(test_path, data_dir)
    train = cap_records(read_conllu(train_path, train_display), check_cap(max_train_sentences, "max_train_sentences"))
    test = cap_records(read_conllu(test_path, test_display), check_cap(max_test_sentences, "max_test_sentences"))
    info = {
        "corpus": "UD_English-EWT",
        "ud_version": "r2.16",
        "files": {"train": train_display, "test": test_display},
        "split": f"official train / official {eval_split}",
        "max_train_sentences": max_train_sentences,
        "max_test_sentences": max_test_sentences,
    }
    return finalize_task(
        name, _KIND_OF[target],
        build_split(train, _EXAMPLES_OF[target](train_display)),
        build_split(test, _EXAMPLES_OF[target](test_display)),
        info, train_source=train_display, test_source=test_display,
    )
