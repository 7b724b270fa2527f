"""Every collected claim cell reaches evidence.json, whatever happens to it (issue 21).

A small claim module runs in a fresh pytest with the claims plugin (``claims/conftest.py``)
and ``--evidence-out``: its cells hold, fail in a fixture, and fail inside a deviation's
envelope check; one test has no cells at all (an empty parameter set). The report's counts come from that file, so a cell missing from it
would make REPORT.md disagree with pytest's exit status.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]

CLAIM_MODULE = r'''
import pytest

from claims import _framework
from claims._envelope import Deviation
from claims._framework import Cell, Evidence, settle

CLAIM = "FT"
CALLS = {calls!r}


class EnvelopeThatRaises(Deviation):
    def problems(self, evidence):
        with open(CALLS, "a") as fh:
            fh.write("called\n")
        raise TypeError("the envelope compares a list with a number")


@pytest.fixture
def broken_store():
    raise RuntimeError("the run store is unreadable\nsecond line of the error")


def cell(name):
    return pytest.param(Cell("tiny", "m", name), id=name)


@pytest.mark.parametrize("cell", [cell("holds")])
def test_holds(cell, evidence_sink):
    settle(Evidence(CLAIM, cell).decide(True, "rule", x=1.0), evidence_sink)


@pytest.mark.parametrize("cell", [cell("setup-error")])
def test_setup_error(cell, evidence_sink, broken_store):
    settle(Evidence(CLAIM, cell).decide(True, "rule", x=1.0), evidence_sink)


@pytest.mark.parametrize("cell", [cell("envelope-error")])
def test_envelope_error(cell, evidence_sink, monkeypatch):
    monkeypatch.setitem(_framework.DEVIATIONS, (CLAIM, cell.id),
                        EnvelopeThatRaises(expect={{"x": 1.0}}, tolerance="exact"))
    settle(Evidence(CLAIM, cell).decide(False, "rule", x=2.0), evidence_sink)


# No cells at all (the user-task claims when no task file is given): pytest collects one
# item with an empty parameter set and skips it; it is not a cell and has no record.
@pytest.mark.parametrize("cell", [])
def test_no_cells(cell, evidence_sink):
    settle(Evidence(CLAIM, cell).decide(True, "rule"), evidence_sink)
'''


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The claim module's run: pytest's exit status, the records by cell (task), the envelope
    check's call count."""
    root = tmp_path_factory.mktemp("claims-run")
    calls = root / "calls.txt"
    (root / "test_ft.py").write_text(CLAIM_MODULE.format(calls=str(calls)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(PROJECT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "claims.conftest", "-p", "no:cacheprovider",
         "--rootdir", str(root), "--evidence-out", str(root / "evidence.json"), "-q",
         str(root / "test_ft.py")],
        cwd=root, env=env, capture_output=True, text=True, timeout=300)
    records = json.loads((root / "evidence.json").read_text())["records"]
    n_calls = len(calls.read_text().splitlines()) if calls.exists() else 0
    return done, {r["cell"]["task"]: r for r in records}, n_calls


def test_the_run_fails_without_an_internal_error(run):
    done, _, _ = run
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "INTERNALERROR" not in done.stdout + done.stderr


def test_every_collected_cell_has_one_record(run):
    _, records, _ = run
    assert sorted(records) == ["envelope-error", "holds", "setup-error"]
    assert records["holds"]["verdict"] == "holds"


def test_a_setup_error_is_a_failed_cell_with_a_one_line_reason(run):
    record = run[1]["setup-error"]
    assert record["verdict"] == "fails" and record["status"] == "failed"
    assert record["reason"] == "RuntimeError: the run store is unreadable"


def test_an_error_in_the_envelope_check_fails_its_cell_once(run):
    _, records, n_calls = run
    record = records["envelope-error"]
    assert record["verdict"] == "fails"
    assert record["reason"] == "TypeError: the envelope compares a list with a number"
    assert record["deviation"]["problems"] == []
    assert n_calls == 1  # settle's; the report reads the result, never calls it again
