"""Check the data directory before anything else runs, and fetch it when that is possible.

``make verify``, ``make test`` and ``harness verify`` start here: without the data every
claim would fail minutes later, one by one. So the check comes first and either passes,
downloads what is missing (``--download-if-missing``, when the network answers), or stops
with one line that names ``HARNESS_DATA_DIR`` and ``harness data download``.

This module needs only the standard library: the Makefile runs it as ``python3 -m
harness.data.check`` before the virtualenv exists, so that a fresh clone without data
hears about it in a second, not after installing torch.
"""

import argparse
import socket
import sys
import urllib.parse

from ..exceptions import HarnessError
from ..settings import DATA_DIR_ENV, data_dir as resolve_data_dir
from .download import MANIFEST, download, verify

#: Seconds to wait for the data host before deciding there is no network.
PROBE_TIMEOUT = 3.0
_BAD = ("missing", "mismatch")


class DataCheckError(HarnessError, FileNotFoundError):
    """The data directory lacks files (or holds corrupt ones) and nothing could fetch them."""


def network_reachable(timeout=PROBE_TIMEOUT):
    """Whether every host the manifest downloads from accepts a connection in ``timeout`` s.

    A cheap probe, so that an offline machine learns in seconds, not after each file's
    60-second download timeout.
    """
    hosts = {urllib.parse.urlsplit(f.url).hostname for files in MANIFEST.values() for f in files}
    for host in sorted(hosts):
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
        except OSError:
            return False
    return True


def check_data(data_dir=None, *, download_if_missing=False, quiet=False,
               reachable=network_reachable, fetch=download, out=sys.stdout):
    """Verify every manifest file in the data directory; fetch missing ones if allowed.

    Parameters
    ----------
    data_dir : path-like, optional
        Resolved by :func:`harness.settings.data_dir` (``HARNESS_DATA_DIR`` first).
    download_if_missing : bool, default=False
        When files are missing and ``reachable()`` is true, run ``fetch(root)``
        (:func:`harness.data.download.download`, which verifies checksums), then check
        again.
    quiet : bool, default=False
        Say nothing when the data is there (a download is always announced on ``out``).
    reachable, fetch : callables
        Injected by the tests (no network there).

    Returns
    -------
    pathlib.Path
        The data directory, every file present with the recorded checksum.

    Raises
    ------
    DataCheckError
        One line: what is wrong, where, and how to fix it.
    """
    root = resolve_data_dir(data_dir)
    bad = _problems(root)
    if bad and download_if_missing and all(r["status"] == "missing" for r in bad):
        if reachable():
            print(f"data: {len(bad)} file(s) missing in {root}; downloading them "
                  "(checksums verified)", file=out, flush=True)
            try:
                fetch(root)
            except (OSError, HarnessError) as err:  # ConnectionError, ChecksumError
                raise DataCheckError(f"could not download the data into {root}: "
                                     f"{_first_line(err)}") from None
            bad = _problems(root)
    if bad:
        raise DataCheckError(_message(root, bad, download_if_missing))
    if not quiet:
        print(f"data: {sum(len(f) for f in MANIFEST.values())} files verified in {root}",
              file=out)
    return root


def _problems(root):
    return [r for r in verify(root) if r["status"] in _BAD]


def _message(root, bad, tried_download):
    missing = [r for r in bad if r["status"] == "missing"]
    if len(missing) < len(bad):  # a corrupt file is never replaced without being asked
        wrong = next(r for r in bad if r["status"] == "mismatch")
        return (f"{len(bad) - len(missing)} data file(s) in {root} do not match their "
                f"checksums (first: {wrong['checked']}); run `harness data download "
                f"--force`, or set {DATA_DIR_ENV} to a directory with the right files")
    where = "no data directory" if not root.is_dir() else f"{len(missing)} data file(s) missing"
    why = " and the data hosts did not answer" if tried_download else ""
    return (f"{where} at {root} (first: {missing[0]['path']}){why}; set {DATA_DIR_ENV} to a "
            "directory that holds the data, or run `harness data download` where a network "
            "is available")  # no final period: make's one-line error adds one


def _first_line(err):
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


def add_arguments(parser):
    parser.add_argument("--download-if-missing", action="store_true",
                        help="when files are missing and the data hosts answer, download them "
                             "(checksums verified) into the data directory")
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help=f"data directory (default: ${DATA_DIR_ENV}, then ../shared/data, "
                             "then ~/.cache/harness/data)")


def main(argv=None):
    """``python -m harness.data.check``: exit 0 when the data is there, 2 with one line."""
    parser = argparse.ArgumentParser(
        prog="harness data check",
        description="Check the data directory (and download what is missing).")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        check_data(args.data_dir, download_if_missing=args.download_if_missing)
    except DataCheckError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
