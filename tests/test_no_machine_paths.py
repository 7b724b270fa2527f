"""No tracked file names a path of the machine it was made on (issue 15).

Home and workspace roots (``/home/``, ``/Users/``, ``/root/``, ``/work/``, ``/opt/``,
``/mnt/``) are never right in the repository: a clone elsewhere has none of them. A
*record* (benchmark results, reports, logs, evidence: what a run wrote) must not hold
``/tmp/`` either, since it describes one machine's run; instructions in docs and scripts
may name a ``/tmp/`` scratch folder for the reader to create.
"""

import re
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
MACHINE_ROOTS = re.compile(r"(?<![\w.~-])/(home|Users|root|work|opt|mnt)/")
SCRATCH = re.compile(r"(?<![\w.~-])/tmp/")
RECORDS = re.compile(r"^(benchmarks/results/|reports/|docs/[^/]*-logs/)|\.(json|log)$")
THIS_FILE = "tests/test_no_machine_paths.py"  # names the patterns it looks for


def _tracked_text_files():
    try:
        names = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT, capture_output=True,
                               check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    for name in filter(None, names):
        path = PROJECT / name
        if name == THIS_FILE or not path.is_file():
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


@pytest.mark.parametrize("line, bad", [
    ("rootdir: /work/main", True), ("python /home/me/x.py", True), ("~/.cache/harness", False),
    ("see ../shared/data", False), ("https://example.invalid/work/x", False)])
def test_the_pattern_finds_machine_roots_only(line, bad):
    assert bool(MACHINE_ROOTS.search(line)) is bad
