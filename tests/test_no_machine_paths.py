"""No tracked file names a path of the machine it was made on (issue 15).

Home and workspace roots (the top-level folders ``home``, ``Users``, ``root``, ``work``,
``opt`` and ``mnt``; :data:`MACHINE_ROOTS`) are never right in the repository: a clone
elsewhere has none of them. A *record* (benchmark results, reports, logs, evidence: what a
run wrote) must not hold the top-level ``tmp`` folder either, since it describes one
machine's run; instructions in docs and scripts may name a scratch folder there for the
reader to create. This file spells no such path out, so it is checked like any other.
"""

import re
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
MACHINE_ROOTS = re.compile(r"(?<![\w.~-])/(home|Users|root|work|opt|mnt)/")
SCRATCH = re.compile(r"(?<![\w.~-])/tmp/")
RECORDS = re.compile(r"^(benchmarks/results/|reports/|docs/[^/]*-logs/)|\.(json|log)$")


def _tracked_text_files():
    try:
        names = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT, capture_output=True,
                               check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    for name in filter(None, names):
        path = PROJECT / name
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" not in data[:8192]:  # text, not a figure
            yield name, data.decode("utf-8", errors="replace")


def test_no_tracked_file_names_a_machine_path():
    found = []
    for name, text in _tracked_text_files():
        for number, line in enumerate(text.splitlines(), 1):
            if MACHINE_ROOTS.search(line) or (RECORDS.search(name) and SCRATCH.search(line)):
                found.append(f"{name}:{number}: {line.strip()[:120]}")
    assert not found, "\n".join(found)


def _root(name):
    """``/name/``, assembled so that this file names no machine path itself."""
    return "/" + name + "/"


@pytest.mark.parametrize("line, bad", [
    (f"rootdir: {_root('work')}main", True), (f"python {_root('home')}me/x.py", True),
    ("~/.cache/harness", False), ("see ../shared/data", False),
    (f"https://example.invalid{_root('work')}x", False)])
def test_the_pattern_finds_machine_roots_only(line, bad):
    assert bool(MACHINE_ROOTS.search(line)) is bad
