"""Fetch the official data files and check them against a hard-coded manifest.

Every file has a recorded checksum: its sha256 where the data README gives one (TREC, EWT
train), otherwise its git blob id, ``sha1(b"blob <size>\\0" + content)``, which is what a
GitHub tree lists for the file at the pinned commit. The values were computed from the
byte-identical copies in the shared data directory, except:

* EWT train: the official file is the uncompressed ``en_ewt-ud-train.conllu`` (sha256 and
  blob id recorded); a local ``.conllu.gz`` copy verifies by decompressing it.
* STREUSLE train: the official ``streusle.ud_train.conllulex`` is known only by the prefix
  of its blob id (``6cdf4861``), so a download is verified by that 32-bit prefix. The
  shared data holds a validated reconstruction instead, which ``verify`` checks against its
  own full blob id and reports as ``substitute``.

Downloads stream into a temporary file beside the target, are verified, and only then
``os.replace``-d into place, so a failed or corrupt download never leaves a partial file.
"""

import gzip
import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

from ..exceptions import ChecksumError, UnknownNameError
from ..registry import unknown_name_message
from ..settings import data_dir as resolve_data_dir

logger = logging.getLogger(__name__)

_GH = "https://raw.githubusercontent.com"
PUD_R29_COMMIT = "c7cc02b595a06c44e73f24fc89ac1aea8a8478e4"
PUD_R218_COMMIT = "e173a1be1b442faf34e7d5a502189ad5d9d1e197"
EWT_R216_COMMIT = "4c89b5833a70aa5ed3a00bad2f23f57992cc7df8"
STREUSLE_V42_COMMIT = "26e5eaa4000072c2c47bef03ea3926511231184f"
DEFAULT_TIMEOUT = 60.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Substitute:
    """A local stand-in for an official file that is checked by its own checksum.

    ``how`` is ``"gzip"`` (the same bytes, gzip-compressed: the digests apply to the
    decompressed content) or ``"reconstruction"`` (different bytes with their own blob id).
    """

    path: str
    how: str
    git_blob: Optional[str] = None


@dataclass(frozen=True)
class ManifestFile:
    """One official file: where it goes, where it comes from, and how to check it.

    Attributes
    ----------
    path : str
        Destination relative to the data directory.
    url : str
    sha256 : str or None
    git_blob : str or None
        Full 40-hex blob id, or a shorter prefix when only that is known.
    size : int or None
        Bytes (of the uncompressed content).
    substitutes : tuple of Substitute
    """

    path: str
    url: str
    sha256: Optional[str] = None
    git_blob: Optional[str] = None
    size: Optional[int] = None
    substitutes: Tuple[Substitute, ...] = ()


MANIFEST = {
    "ud-pud-r2.9": (
        ManifestFile(
            "ud_english_pud/r2.9/en_pud-ud-test.conllu",
            f"{_GH}/UniversalDependencies/UD_English-PUD/{PUD_R29_COMMIT}/en_pud-ud-test.conllu",
            git_blob="08e87b8f41431c09ed6ca1a7beffceb9e46a6374", size=1_340_998,
        ),
    ),
    "ud-pud-r2.18": (
        ManifestFile(
            "ud_english_pud/en_pud-ud-test.conllu",
            f"{_GH}/UniversalDependencies/UD_English-PUD/{PUD_R218_COMMIT}/en_pud-ud-test.conllu",
            git_blob="f0288b7292bdfebe3eab1bcd012666f5fd83adf0", size=1_386_858,
        ),
    ),
    "ud-ewt-r2.16": (
        ManifestFile(
            "ud_english_ewt/en_ewt-ud-train.conllu",
            f"{_GH}/UniversalDependencies/UD_English-EWT/{EWT_R216_COMMIT}/en_ewt-ud-train.conllu",
            sha256="3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b",
            git_blob="34731d23bafeeff233fdcee18ffc0254b1aa0e28", size=14_203_025,
            substitutes=(Substitute("ud_english_ewt/en_ewt-ud-train.conllu.gz", "gzip"),),
        ),
        ManifestFile(
            "ud_english_ewt/en_ewt-ud-dev.conllu",
            f"{_GH}/UniversalDependencies/UD_English-EWT/{EWT_R216_COMMIT}/en_ewt-ud-dev.conllu",
            git_blob="a994b6990643429070ecc6e236d26ad6a04bfefb", size=1_805_545,
        ),
        ManifestFile(
            "ud_english_ewt/en_ewt-ud-test.conllu",
            f"{_GH}/UniversalDependencies/UD_English-EWT/{EWT_R216_COMMIT}/en_ewt-ud-test.conllu",
            git_blob="c59667960ae967636606f47bc35f132a5557ad39", size=1_804_515,
        ),
    ),
    "streusle-4.2": (
        ManifestFile(
            "streusle/train/streusle.ud_train.conllulex",
            f"{_GH}/nert-nlp/streusle/{STREUSLE_V42_COMMIT}/train/streusle.ud_train.conllulex",
            git_blob="6cdf4861",  # only this prefix of the official blob id is known
            substitutes=(Substitute(
                "streusle/train/streusle.ud_train.reconstructed.conllulex", "reconstruction",
                git_blob="d5d1224bfc86ec9e21d5f3fa0a2a14bad30f81da",
            ),),
        ),
        ManifestFile(
            "streusle/dev/streusle.ud_dev.conllulex",
            f"{_GH}/nert-nlp/streusle/{STREUSLE_V42_COMMIT}/dev/streusle.ud_dev.conllulex",
            git_blob="21c90917d5988c8ad17e688da2329ff4b6daab3a", size=591_685,
        ),
        ManifestFile(
            "streusle/test/streusle.ud_test.conllulex",
            f"{_GH}/nert-nlp/streusle/{STREUSLE_V42_COMMIT}/test/streusle.ud_test.conllulex",
            git_blob="6dedd2acd00090c8743b47fbacc5d145f352f1a1", size=592_649,
        ),
    ),
    "trec": (
        # The cogcomp URLs and sha256 values recorded by HF datasets (datasets/trec).
        ManifestFile(
            "trec/train_5500.label",
            "https://cogcomp.seas.upenn.edu/Data/QA/QC/train_5500.label",
            sha256="9e4c8bdcaffb96ed61041bd64b564183d52793a8e91d84fc3a8646885f466ec3",
            size=335_858,
        ),
        ManifestFile(
            "trec/TREC_10.label",
            "https://cogcomp.seas.upenn.edu/Data/QA/QC/TREC_10.label",
            sha256="033f22c028c2bbba9ca682f68ffe204dc1aa6e1cf35dd6207f2d4ca67f0d0e8e",
            size=23_354,
        ),
    ),
}


def dataset_names():
    """Names accepted by ``--dataset``, sorted."""
    return sorted(MANIFEST)


def _select(datasets):
    if datasets is None:
        return dataset_names()
    if isinstance(datasets, str):
        datasets = [datasets]
    for name in datasets:
        if name not in MANIFEST:
            raise UnknownNameError(unknown_name_message("dataset", name, dataset_names()))
    return list(datasets)


def digests(path, *, gzipped=False):
    """Return ``(size, sha256 hex, git blob id hex)`` of a file's (decompressed) content.

    The blob id needs the size up front, so a gzip file is read twice (sizes are small).
    """
    opener = gzip.open if gzipped else open
    size = 0
    sha256 = hashlib.sha256()
    with opener(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            size += len(chunk)
            sha256.update(chunk)
    blob = hashlib.sha1(b"blob %d\0" % size)
    with opener(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            blob.update(chunk)
    return size, sha256.hexdigest(), blob.hexdigest()


def _mismatch(entry_sha256, entry_blob, got_sha256, got_blob):
    """Return ``(expected, got)`` strings for the first failing checksum, or None."""
    if entry_sha256 and got_sha256 != entry_sha256:
        return f"sha256 {entry_sha256}", f"sha256 {got_sha256}"
    if entry_blob and not got_blob.startswith(entry_blob):
        label = "git blob" if len(entry_blob) == 40 else f"git blob prefix ({len(entry_blob)} hex)"
        return f"{label} {entry_blob}", f"git blob {got_blob}"
    return None


def check_file(entry, root):
    """Check one manifest entry in ``root``; return a plain record.

    Returns
    -------
    dict
        ``path``, ``status`` ("ok", "substitute", "missing" or "mismatch"), ``checked``
        (the file actually read), ``expected`` and ``got`` (for a mismatch) and ``note``.
    """
    root = Path(root)
    candidates = [(entry.path, None)] + [(s.path, s) for s in entry.substitutes]
    for rel, sub in candidates:
        path = root / rel
        if not path.is_file():
            continue
        gzipped = sub is not None and sub.how == "gzip"
        try:
            _, sha256, blob = digests(path, gzipped=gzipped)
        except (gzip.BadGzipFile, EOFError, zlib.error) as err:
            # A damaged copy is a mismatch like any other: report it, do not crash.
            return {"path": entry.path, "checked": rel, "status": "mismatch",
                    "expected": "a readable gzip file", "got": f"damaged gzip ({err})",
                    "note": "replace it with `harness data download --force`"}
        if sub is not None and sub.how == "reconstruction":
            bad = _mismatch(None, sub.git_blob, sha256, blob)
            status, note = "substitute", "validated reconstruction, not the official bytes"
        else:
            bad = _mismatch(entry.sha256, entry.git_blob, sha256, blob)
            status, note = "ok", ("gzip copy of the official file" if gzipped else "")
        record = {"path": entry.path, "checked": rel, "status": status, "note": note}
        if bad:
            record.update(status="mismatch", expected=bad[0], got=bad[1])
        return record
    return {"path": entry.path, "checked": None, "status": "missing", "note": entry.url}


def verify(data_dir=None, datasets=None):
    """Check the files of ``datasets`` (default: all) in the data directory.

    Returns
    -------
    list of dict
        One record per manifest file (see :func:`check_file`), plus ``dataset``.
    """
    root = resolve_data_dir(data_dir)
    records = []
    for name in _select(datasets):
        for entry in MANIFEST[name]:
            records.append({"dataset": name, **check_file(entry, root)})
    return records


def _fetch(entry, root, opener, timeout):
    """Download one file to a temp file, verify it, then move it into place."""
    dest = root / entry.path
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with opener(entry.url, timeout=timeout) as response:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
            except (urllib.error.URLError, OSError) as err:
                raise ConnectionError(
                    f"Could not fetch {entry.url} ({err}). Without network access, copy the "
                    f"file to {dest} by hand, or point --data-dir at a directory that has it."
                ) from err
        size, sha256, blob = digests(tmp)
        bad = _mismatch(entry.sha256, entry.git_blob, sha256, blob)
        if bad:
            raise ChecksumError(
                f"{dest} (from {entry.url}): checksum mismatch: expected {bad[0]}, got {bad[1]} "
                f"({size} bytes). The file was not written."
            )
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    logger.info("downloaded %s (%d bytes, verified)", dest, size)
    return {"path": entry.path, "status": "downloaded", "bytes": size}


def download(data_dir=None, datasets=None, *, opener=None, timeout=DEFAULT_TIMEOUT, force=False):
    """Fetch the official files of ``datasets`` (default: all) and verify their checksums.

    Files already present and verified (or present as a verified substitute) are kept
    unless ``force``.

    Parameters
    ----------
    data_dir : path-like, optional
        Resolved by :func:`harness.settings.data_dir`.
    datasets : str or list of str, optional
        Names from :func:`dataset_names`.
    opener : callable, optional
        ``opener(url, timeout=...)`` returning a binary file-like context manager;
        default :func:`urllib.request.urlopen` (tests pass one that serves local files).
    timeout : float, default=60
        Seconds per connection.
    force : bool, default=False

    Returns
    -------
    list of dict
        One record per file: ``path``, ``status`` ("downloaded", "present", "substitute").

    Raises
    ------
    ChecksumError
        A downloaded file does not match its recorded checksum (nothing is written).
    ConnectionError
        A URL cannot be fetched.
    """
    opener = opener or urllib.request.urlopen
    root = resolve_data_dir(data_dir)
    results = []
    for name in _select(datasets):
        for entry in MANIFEST[name]:
            if not force:
                present = check_file(entry, root)
                if present["status"] in ("ok", "substitute"):
                    results.append({"dataset": name, "path": entry.path, "status":
                                    "present" if present["status"] == "ok" else "substitute"})
                    continue
            results.append({"dataset": name, **_fetch(entry, root, opener, timeout)})
    return results
