"""PS-role and PS-fxn tasks from STREUSLE 4.2 (preposition supersenses, SNACS).

Targets follow Liu et al. (2019, ``contextual-repr-analysis``) and the paper: a target is
a *single-word* lexical unit (col 11 ``SMWE == "_"``) whose supersense ``ss`` (col 14)
starts with ``p.``. This includes possessives (lexcat ``PRON.POSS``/``POSS``) and
infinitival ``to`` (``INF.P``). Units labelled ``??`` or `` `$ `` are not targets.

* ``ps-role``: label = ``ss`` (col 14), the scene role.
* ``ps-fxn``:  label = ``ss2`` (col 15), the function (``== ss`` without construal).

Both are kind ``"token"`` with ``positions=(i,)``, ``i`` the 0-based index among the
sentence's integer-ID tokens; ellipsis nodes (``8.1``) are skipped.

Splits: train = ``train/streusle.ud_train.conllulex`` (the official file; when absent, the
validated reconstruction ``train/streusle.ud_train.reconstructed.conllulex``, whose
``ss``/``ss2``/SMWE columns are exact, see the data README), test =
``test/streusle.ud_test.conllulex`` (or dev with ``eval_split="dev"``).

Test labels never seen in train (the role ``p.InsteadOf``, once) are dropped from test,
recorded in ``TaskData.info["dropped_test_labels"]`` and announced with a
:class:`~harness.exceptions.HarnessWarning`.
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
    sentence_blocks,
)

N_COLUMNS = 19
COL_ID, COL_FORM, COL_SMWE, COL_SS, COL_SS2 = 0, 1, 10, 13, 14

# The SNACS 2.x hierarchy used by STREUSLE 4.x (50 preposition supersenses), so that a
# typo or a non-p.* value in a target's ss/ss2 fails loudly instead of becoming a label.
SNACS_LABELS = frozenset("p." + s for s in (
    # Circumstance
    "Circumstance Temporal Time StartTime EndTime Frequency Duration Interval Locus Source "
    "Goal Path Direction Extent Means Manner Explanation Purpose "
    # Participant
    "Participant Causer Agent Co-Agent Theme Co-Theme Topic Stimulus Experiencer Originator "
    "Recipient Cost Beneficiary Instrument "
    # Configuration
    "Configuration Identity Species Gestalt Possessor Whole Characteristic Possession "
    "PartPortion Stuff Accompanier InsteadOf ComparisonRef RateUnit Quantity Approximator "
    "SocialRel OrgRole"
).split())

TRAIN_FILES = (
    "streusle/train/streusle.ud_train.conllulex",
    "streusle/train/streusle.ud_train.reconstructed.conllulex",
)
EVAL_FILES = {
    "test": ("streusle/test/streusle.ud_test.conllulex",),
    "dev": ("streusle/dev/streusle.ud_dev.conllulex",),
}
TARGETS = {"role": 0, "function": 1}

_ID_INT = re.compile(r"^[1-9][0-9]*$")
_ID_SKIP = re.compile(r"^([0-9]+\.[1-9][0-9]*|[1-9][0-9]*-[1-9][0-9]*)$")


@dataclass(frozen=True)
class PSSentence:
    """One STREUSLE sentence: its words and its preposition-supersense targets."""

    sent_id: str
    words: Tuple[str, ...]
    targets: Tuple[Tuple[int, str, str, int], ...]  # (word index, ss, ss2, file line)


def read_conllulex(path, display=None):
    """Parse and validate a ``.conllulex`` file into :class:`PSSentence` s.

    Raises
    ------
    DataFormatError
        ``file:line: problem`` for a row without 19 columns, a bad or out-of-sequence ID,
        or a target whose ss/ss2 is not a SNACS ``p.*`` supersense.
    """
    return _read_conllulex_cached(file_key(path), display or str(path))


@functools.lru_cache(maxsize=8)
def _read_conllulex_cached(key, display):
    return tuple(_parse_block(block, display) for block in sentence_blocks(read_lines(key[0])))


def _parse_block(block, display):
    sent_id = None
    words, targets = [], []
    for line_no, text in block:
        if text.startswith("#"):
            key, sep, value = text[1:].partition("=")
            if sep and key.strip() == "sent_id":
                sent_id = value.strip()
            continue
        cols = text.split("\t")
        if len(cols) != N_COLUMNS:
            raise DataFormatError(
                f"{display}:{line_no}: expected {N_COLUMNS} tab-separated conllulex columns, "
                f"got {len(cols)}."
            )
        tid = cols[COL_ID]
        if _ID_SKIP.match(tid):
            continue  # ellipsis nodes carry no lexical-semantic annotation
        if not _ID_INT.match(tid):
            raise DataFormatError(f"{display}:{line_no}: ID {tid!r} is not an integer.")
        if int(tid) != len(words) + 1:
            raise DataFormatError(
                f"{display}:{line_no}: token ID {tid} out of sequence (expected {len(words) + 1})."
            )
        if cols[COL_SMWE] == "_" and cols[COL_SS].startswith("p."):
            role, fxn = cols[COL_SS], cols[COL_SS2]
            for col, value in ((14, role), (15, fxn)):
                if value not in SNACS_LABELS:
                    raise DataFormatError(
                        f"{display}:{line_no}: column {col} value {value!r} of a single-word p.* "
                        "target is not a SNACS preposition supersense."
                    )
            targets.append((len(words), role, fxn, line_no))
        words.append(cols[COL_FORM])
    if not words:
        raise DataFormatError(f"{display}:{block[0][0]}: sentence block has no tokens.")
    return PSSentence(sent_id or f"{display}:{block[0][0]}", tuple(words), tuple(targets))


def _examples(display, which):
    def examples_of(sent, k):
        for i, role, fxn, line_no in sent.targets:
            yield make_example(k, (i,), (role, fxn)[which], f"{display}:{line_no}")

    return examples_of


def load_streusle(name, data_dir, *, target, max_train_sentences=None, max_test_sentences=None,
                  eval_split="test"):
    """Load ``ps-role`` (``target="role"``) or ``ps-fxn`` (``target="function"``).

    Parameters
    ----------
    name : str
    data_dir : pathlib.Path
    target : {"role", "function"}
    max_train_sentences, max_test_sentences : int, optional
        Keep only the first n sentences of each split (tiny tier).
    eval_split : {"test", "dev"}, default="test"
        Which official file becomes ``TaskData.test``.

    Returns
    -------
    TaskData
        ``info["train_file_is_reconstruction"]`` says whether the rebuilt train file was used.
    """
    if target not in TARGETS:
        raise ValueError(f"The 'target' parameter of load_task must be one of {sorted(TARGETS)}. "
                         f"Got {target!r} instead.")
    if eval_split not in EVAL_FILES:
        raise ValueError(f"The 'eval_split' parameter of load_task must be one of "
                         f"{sorted(EVAL_FILES)}. Got {eval_split!r} instead.")
    train_path = find_file(data_dir, TRAIN_FILES, "STREUSLE 4.2 train")
    test_path = find_file(data_dir, EVAL_FILES[eval_split], f"STREUSLE 4.2 {eval_split}")
    train_display = display_path(train_path, data_dir)
    test_display = display_path(test_path, data_dir)
    train = cap_records(read_conllulex(train_path, train_display),
                        check_cap(max_train_sentences, "max_train_sentences"))
    test = cap_records(read_conllulex(test_path, test_display),
                       check_cap(max_test_sentences, "max_test_sentences"))
    which = TARGETS[target]
    info = {
        "corpus": "STREUSLE",
        "version": "4.2",
        "files": {"train": train_display, "test": test_display},
        "train_file_is_reconstruction": "reconstructed" in train_path.name,
        "label_column": ("ss (col 14)", "ss2 (col 15)")[which],
        "split": f"official train / official {eval_split}",
        "max_train_sentences": max_train_sentences,
        "max_test_sentences": max_test_sentences,
    }
    return finalize_task(
        name, "token",
        build_split(train, _examples(train_display, which)),
        build_split(test, _examples(test_display, which)),
        info, train_source=train_display, test_source=test_display,
    )
