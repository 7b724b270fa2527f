"""File helpers shared by the loaders: locating files, reading text, building splits.

Every loader reads a whole file, validates it, and only then returns; a bad line raises
:class:`~harness.exceptions.DataFormatError` naming ``file:line`` and no partial dataset
is ever produced.
"""

import codecs
import gzip
import logging
import warnings
import zlib
from collections import Counter
from pathlib import Path

from ..exceptions import DataFormatError, HarnessWarning
from .base import Example, Split, TaskData

logger = logging.getLogger(__name__)

HOW_TO_GET_DATA = (
    "Run `harness data download` (add --data-dir DIR to choose where), or point "
    "--data-dir / HARNESS_DATA_DIR at a directory that holds the files."
)
_MAX_LABELS_SHOWN = 8  # keep the warning to one readable line; info has them all


class MissingDataError(DataFormatError, FileNotFoundError):
    """A data file the task needs does not exist.

    It is a :class:`~harness.exceptions.DataFormatError` (so "bad input" is one family)
    and a :class:`FileNotFoundError` (so ``except OSError`` works too).
    """

    def __str__(self):  # OSError would format (errno, strerror); show the message
        return str(self.args[0]) if self.args else ""


def find_file(data_dir, candidates, what):
    """Return the first existing path among ``candidates`` (relative to ``data_dir``).

    Parameters
    ----------
    data_dir : pathlib.Path
    candidates : sequence of str
        Relative paths in order of preference.
    what : str
        What the file is, for the error message ("STREUSLE 4.2 train").

    Raises
    ------
    MissingDataError
        None of the candidates exists; the message lists the paths and how to get them.
    """
    data_dir = Path(data_dir)
    for rel in candidates:
        path = data_dir / rel
        if path.is_file():
            return path
    tried = ", ".join(str(data_dir / rel) for rel in candidates)
    raise MissingDataError(f"{what}: file not found (looked for {tried}). {HOW_TO_GET_DATA}")


def file_key(path):
    """Return a hashable key that changes when the file does (for in-process caches)."""
    path = Path(path)
    st = path.stat()
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


# Leading bytes of the compressed formats someone may hand us instead of a text file.
# (Binary magics only: a text file could start with bzip2's "BZh".)
_COMPRESSED_MAGIC = {b"\x1f\x8b": "gzip", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip",
                     b"(\xb5/\xfd": "zstd"}


def read_bytes(path):
    """The content of a data file, decompressed when its name ends in ``.gz``.

    Raises
    ------
    DataFormatError
        The ``.gz`` file is damaged or truncated; the message names it and how to fix it.
    """
    path = Path(path)
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise DataFormatError(
            f"{path}: damaged gzip file ({err}). Replace it: `harness data download --force` "
            f"fetches the official file, or decompress a good copy to {path.with_suffix('')}."
        ) from None


def read_lines(path, encoding="utf-8"):
    """Read a (possibly gzip-compressed) text file as a list of lines without newlines.

    A ``.gz`` suffix is decompressed transparently; a leading UTF-8 byte-order mark is
    dropped (as the ``utf-8-sig`` codec does). Decoding errors become
    :class:`DataFormatError` naming the line; a compressed file without the ``.gz``
    suffix (or in another format) and a damaged ``.gz`` are named as such.
    """
    path = Path(path)
    data = read_bytes(path)
    if data.startswith(codecs.BOM_UTF8) and encoding.replace("-", "").lower() == "utf8":
        # A byte-order mark (some editors write one) is not text: read as utf-8-sig does,
        # or it would become part of the first label or column.
        data = data[len(codecs.BOM_UTF8):]
    for magic, fmt in _COMPRESSED_MAGIC.items():
        if data.startswith(magic):
            if path.suffix == ".gz":
                fix = "it was compressed twice; decompress it once more."
            elif fmt == "gzip":
                fix = f"decompress it, or name it {path.name}.gz to have it read as is."
            else:
                fix = "decompress it."
            raise DataFormatError(f"{path}: the file is {fmt}-compressed, not text: {fix}")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataFormatError(f"{path}:{line}: not valid {encoding} ({err.reason}).") from None
    return text.split("\n")


def display_path(path, data_dir):
    """``path`` relative to ``data_dir`` when possible (shorter ``source`` strings)."""
    try:
        return str(Path(path).relative_to(data_dir))
    except ValueError:
        return str(path)


def check_cap(value, name):
    """Validate a sentence cap: None or a positive int."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"The {name!r} parameter of load_task must be a positive int or None. "
            f"Got {value!r} instead."
        )
    return value


def cap_records(records, cap):
    """The first ``cap`` records (all when ``cap`` is None): deterministic, order kept."""
    return records if cap is None else records[:cap]


def build_split(records, examples_of):
    """Build a :class:`Split` from parsed sentence records.

    Parameters
    ----------
    records : sequence
        Parsed sentences; each has ``words`` and ``sent_id`` attributes.
    examples_of : callable
        ``examples_of(record, sentence_index) -> iterable of Example``.
    """
    sentences = tuple(r.words for r in records)
    sentence_ids = tuple(r.sent_id for r in records)
    examples = tuple(ex for k, r in enumerate(records) for ex in examples_of(r, k))
    return Split(sentences=sentences, examples=examples, sentence_ids=sentence_ids)


def finalize_task(name, kind, train, test, info, *, train_source, test_source):
    """Check the splits, fix the label inventory and apply the unseen-label policy.

    The label inventory is the sorted set of train labels. Test examples whose label
    never occurs in train cannot be predicted by any probe trained on train, so they are
    dropped; the drop is recorded in ``info["dropped_test_labels"]`` (label -> count) and
    announced with a :class:`~harness.exceptions.HarnessWarning`, never silently.

    Raises
    ------
    DataFormatError
        A split has no examples.
    """
    for split_name, split, source in (("train", train, train_source), ("test", test, test_source)):
        if not split.examples:
            raise DataFormatError(
                f"{source}: the {split_name} split of task {name!r} is empty "
                f"({len(split.sentences)} sentences, 0 examples)."
            )
    labels = tuple(sorted(set(train.labels)))
    known = set(labels)
    dropped = Counter(e.label for e in test.examples if e.label not in known)
    info = dict(info)
    info["dropped_test_labels"] = dict(sorted(dropped.items()))
    info["n_dropped_test_examples"] = sum(dropped.values())
    if dropped:
        kept = tuple(e for e in test.examples if e.label in known)
        test = Split(sentences=test.sentences, examples=kept, sentence_ids=test.sentence_ids)
        shown = sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0]))[:_MAX_LABELS_SHOWN]
        summary = ", ".join(f"{lab} x{n}" for lab, n in shown)
        if len(dropped) > _MAX_LABELS_SHOWN:
            summary += f", ... {len(dropped) - _MAX_LABELS_SHOWN} more labels"
        warnings.warn(
            f"Task {name!r}: dropped {sum(dropped.values())} test example(s) whose label "
            f"does not occur in train ({summary}); see TaskData.info['dropped_test_labels'].",
            HarnessWarning,
            stacklevel=4,  # finalize_task <- loader <- load_task <- caller
        )
        if not test.examples:
            raise DataFormatError(
                f"{test_source}: the test split of task {name!r} is empty after dropping "
                f"labels unseen in train."
            )
    logger.debug("task %s: %d train / %d test examples, %d labels",
                 name, len(train), len(test), len(labels))
    return TaskData(name=name, kind=kind, labels=labels, train=train, test=test, info=info)


def make_example(sentence, positions, label, source):
    """Small alias that keeps loaders readable."""
    return Example(sentence=sentence, positions=tuple(positions), label=label, source=source)


def sentence_blocks(lines):
    """Group CoNLL-style lines into sentences: lists of ``(line_no, text)``, 1-based,
    separated by blank lines (shared by the CoNLL-U and conllulex readers)."""
    block = []
    for line_no, text in enumerate(lines, start=1):
        if text.strip():
            block.append((line_no, text))
        elif block:
            yield block
            block = []
    if block:
        yield block
