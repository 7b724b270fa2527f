"""Progress lines: log-friendly off a terminal, cell verdicts as the claim run writes them."""

import io
import json
import time

from harness.commands.verify import _CellFollower, cell_line
from harness.progress import StageProgress


def test_off_a_terminal_progress_is_plain_lines_with_counts_and_eta():
    out = io.StringIO()
    progress = StageProgress(out, log_every=3600)
    assert not progress.live  # a StringIO is no terminal
    progress.add_total("fine-tune", 10)
    progress.advance("fine-tune", 4)  # first report of the stage: a line
    progress.advance("fine-tune", 3)  # within log_every: quiet
    progress.advance("fine-tune", 3)  # done: a line
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in out.getvalue()
    # The rate needs two reports: the first line gives no ETA.
    assert lines[0].startswith("[fine-tune] 4/10 upd (") and "ETA" not in lines[0]
    assert lines[1].startswith("[fine-tune] 10/10 upd (") and lines[1].endswith("done)")


def test_eta_from_the_rate_since_the_first_report(monkeypatch):
    out, clock = io.StringIO(), [100.0]
    monkeypatch.setattr("harness.progress.time.monotonic", lambda: clock[0])
    progress = StageProgress(out, log_every=0)
    progress.add_total("distances", 100)
    progress.advance("distances", 40)  # e.g. found stored: not part of the rate
    clock[0] += 60
    progress.advance("distances", 10)  # 10 units a minute: 50 left, 5 minutes
    assert out.getvalue().splitlines()[-1] == "[distances] 50/100 unit (1:00 elapsed, ETA 5:00)"


def test_disabled_progress_prints_nothing():
    out = io.StringIO()
    progress = StageProgress(out, enabled=False)
    progress.add_total("probes", 2)
    progress.advance("probes", 2)
    progress.write("hello")
    assert out.getvalue() == "" and progress.done["probes"] == 2


def test_cells_are_shown_as_the_claim_run_appends_them(tmp_path):
    path, out = tmp_path / "cells.jsonl", io.StringIO()
    progress = StageProgress(out)
    follower = _CellFollower(path, progress)
    follower.poll()  # no file yet
    cell = {"claim": "F3", "cell_id": "tiny-minilm-l6-pos-L6", "scope": "paper",
            "verdict": "holds", "headline": "25 → 17 clusters (17 labels)", "seconds": 12.3}
    path.write_text(json.dumps({"collected": 2}) + "\n" + json.dumps(cell) + "\n"
                    + '{"claim": "F5", "cell_id"')  # the second line is still being written
    follower.poll()
    assert progress.totals["claims"] == 2 and progress.done["claims"] == 1
    assert "F3" in out.getvalue() and "holds" in out.getvalue() and "F5" not in out.getvalue()
    with open(path, "a") as fh:
        fh.write(': "tiny-minilm-l6-pos-L5", "scope": "extension", "verdict": "fails", '
                 '"reason": "F5[x] does not hold: ...", "seconds": 1}\n')
    follower.poll()
    assert progress.done["claims"] == 2
    assert "(extension)" in out.getvalue() and "does not hold" in out.getvalue()


def test_cell_line_names_claim_cell_verdict_and_headline():
    line = cell_line({"claim": "F1", "cell_id": "tiny-minilm-l6-pos", "verdict": "deviates",
                      "headline": "90.1 → 89.0", "seconds": 3})
    assert line.split()[:3] == ["F1", "tiny-minilm-l6-pos", "deviates"]
    assert line.endswith("90.1 → 89.0  (3 s)")


def test_a_unit_that_reports_nothing_is_said_to_be_running_until_it_ends():
    out = io.StringIO()
    progress = StageProgress(out, log_every=0.05)
    progress.add_total("probes", 2)
    with progress.working("probes", "probes/minilm-l6/pos/seed0"):
        time.sleep(0.3)  # a probe grid that says nothing for a while
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2, lines
    assert all(line.startswith("[probes] 0/2 probe") and "; on probes/minilm-l6/pos/seed0 for "
               in line for line in lines)
    time.sleep(0.15)
    assert out.getvalue().splitlines() == lines  # nothing once the unit has ended


def test_a_disabled_progress_says_nothing_of_running_units():
    out = io.StringIO()
    with StageProgress(out, enabled=False, log_every=0.01).working("probes", "u"):
        time.sleep(0.05)
    assert out.getvalue() == ""
