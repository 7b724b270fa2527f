"""Per-seed records (harness.report.seed_records): written, read, checked, and voted with.

A paper-tier seed outlives its store as a small JSON record; a later run's claims decide
over the committed seeds and the computed ones. These tests build records from evidence
as the claim run writes it, and check each way a record can be refused.
"""

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from claims import _framework
from claims._framework import Cell, Evidence, decide
from harness.commands.verify import write_seed_records
from harness.exceptions import HarnessError
from harness.executor import Summary, Unit
from harness.report import seed_records
from harness.report.markdown import _seed_mark, seeds_line
from harness.report.seed_records import PROJECT_ROOT
from harness.tiers import get_tier

TIER = get_tier("paper")
CELL = Cell("paper", "minilm-l6", "pos")
ENV = {"git_commit": "abc123", "versions": {"numpy": "2"}, "machine": {"cpu_count": 2}}


def _evidence(holds, value, applicable=True):
    ev = Evidence("F9", CELL, headline="{value}")
    if not applicable:
        return ev.inapplicable("linear already", rule="value > 0", value=value)
    return ev.decide(holds, "value > 0", value=value)


def _claim_records(per_seed, seeds):
    """evidence.json records as the claim run writes them, for one cell."""
    ev = _framework.combine(per_seed, seeds)
    return [{"claim": ev.claim, "cell": vars(CELL), "cell_id": CELL.id, "seeds": ev.seeds}]


def _record(seed, holds=True, value=1.0, tier=TIER, cost=None):
    per = [_evidence(holds, value)]
    return seed_records.build_record(seed, _claim_records(per, (seed,)), tier.to_dict(), ENV,
                                     cost)


def _commit(folder, record):
    return seed_records.write_record(folder, record)


# ---- writing and reading -----------------------------------------------------------------------
def test_a_record_keeps_every_number_of_the_seed_and_its_provenance(tmp_path):
    record = _record(3, holds=False, value=-2.5, cost={"stages": {"probes": {"seconds": 9}}})
    path = _commit(tmp_path, record)
    assert path == tmp_path / "seeds" / "seed-3.json"
    back = seed_records.read_record(path)
    cell = back["cells"][f"F9|{CELL.id}"]
    assert cell["holds"] is False and cell["numbers"] == {"value": -2.5}
    assert cell["verdict"] == "does not hold" and cell["rule"] == "value > 0"
    assert back["git_commit"] == "abc123" and back["versions"] == {"numpy": "2"}
    assert back["analysis_code"] == seed_records.analysis_code_fingerprint()
    assert back["protocol"]["separability_tol"] == TIER.separability_tol
    assert "seeds" not in back["protocol"] and "tasks" not in back["protocol"]
    assert back["cost"] == {"stages": {"probes": {"seconds": 9}}}
    assert not list((tmp_path / "seeds").glob(".*"))  # no temporary file left


def test_only_seeds_computed_by_the_run_are_recorded():
    # A seed read from an earlier record is that record's, not this run's.
    records = _claim_records([_evidence(True, 1.0)], (0,))
    records[0]["seeds"].append({**records[0]["seeds"][0], "seed": 1, "source": "record"})
    assert seed_records.build_record(1, records, TIER.to_dict(), ENV, None)["cells"] == {}
    assert list(seed_records.build_record(0, records, TIER.to_dict(), ENV, None)["cells"])


@pytest.mark.parametrize("edit, message", [
    (lambda r: r.pop("cells"), "field 'cells'"),
    (lambda r: r.update(seed="0"), "field 'seed'"),
    (lambda r: r.update(format=99), "record format 99"),
    (lambda r: r.update(seed=4), "holds seed 4"),
    (lambda r: r["cells"][f"F9|{CELL.id}"].update(holds="yes"), "is malformed"),
    (lambda r: r["cells"][f"F9|{CELL.id}"].pop("numbers"), "is malformed"),
])
def test_a_malformed_record_is_refused_naming_its_file(tmp_path, edit, message):
    record = _record(0)
    edit(record)
    path = tmp_path / "seeds" / "seed-0.json"
    path.parent.mkdir()
    path.write_text(json.dumps(record))
    with pytest.raises(HarnessError, match=message) as err:
        seed_records.committed_records(tmp_path, TIER.to_dict())
    assert str(path) in str(err.value)


def test_an_unreadable_record_is_refused_naming_its_file(tmp_path):
    path = tmp_path / "seeds" / "seed-0.json"
    path.parent.mkdir()
    path.write_text('{"seed": 0,')
    with pytest.raises(HarnessError, match="not a readable seed record") as err:
        seed_records.committed_records(tmp_path, TIER.to_dict())
    assert str(path) in str(err.value)


def test_a_record_of_another_protocol_is_refused_saying_what_differs(tmp_path):
    from dataclasses import replace

    _commit(tmp_path, _record(0, tier=replace(TIER, separability_tol=1e-9)))
    with pytest.raises(HarnessError, match="differs in separability_tol"):
        seed_records.committed_records(tmp_path, TIER.to_dict())


def test_a_record_with_other_data_caps_for_a_shared_task_is_refused(tmp_path):
    from dataclasses import replace

    capped = replace(TIER, data_options={**TIER.data_options, "pos": {"max_train_sentences": 9}})
    _commit(tmp_path, _record(0, tier=capped))
    with pytest.raises(HarnessError, match=r"differs in data_options\[pos\]"):
        seed_records.committed_records(tmp_path, TIER.to_dict())


def test_the_selection_is_no_part_of_the_protocol(tmp_path):
    _commit(tmp_path, _record(0, tier=TIER.with_selection(None, ["pos"], [0])))
    mine = TIER.with_selection(None, ["dep", "trec-50"], [1, 2]).to_dict()
    assert list(seed_records.committed_records(tmp_path, mine)) == [0]
    assert seed_records.committed_records(tmp_path / "nothing", mine) == {}


# ---- deciding over committed seeds ---------------------------------------------------------------
@pytest.fixture
def committed(tmp_path, monkeypatch):
    """Commit records into tmp_path; the claims read them as under --seed-records."""
    monkeypatch.setattr(_framework, "COMMITTED", {"dir": str(tmp_path / "seeds"), "by_tier": {},
                                                  "analysis_code": None})
    monkeypatch.setattr(_framework, "require_weights", lambda model: None)
    return lambda record: _commit(tmp_path, record)


def _decide(seeds, votes):
    ws = SimpleNamespace(tier=TIER.with_selection(None, None, seeds))
    return decide(lambda ws, cell, seed: _evidence(votes[seed], float(seed)), ws, CELL)


def test_committed_seeds_vote_beside_the_computed_ones(committed):
    committed(_record(0, holds=False, value=0.0))
    committed(_record(1, holds=False, value=1.0))
    ev = _decide((2,), {2: True})
    assert [s["seed"] for s in ev.seeds] == [2, 0, 1]
    assert [s["source"] for s in ev.seeds] == ["computed", "record", "record"]
    assert ev.holds is False and "1 of 3 hold" in ev.rule  # the records outvote seed 2
    assert ev.numbers["value"] == pytest.approx(1.0)
    assert all(s["same_code"] for s in ev.seeds[1:])


def test_a_computed_seed_replaces_its_committed_record(committed):
    committed(_record(0, holds=False, value=-7.0))
    ev = _decide((0,), {0: True})
    assert ev.holds is True and [s["source"] for s in ev.seeds] == ["computed"]
    assert ev.numbers == {"value": 0.0}


def test_a_record_without_the_cell_does_not_vote(committed):
    record = _record(0)
    record["cells"] = {}
    committed(record)
    assert [s["seed"] for s in _decide((1,), {1: True}).seeds] == [1]


def test_a_record_of_other_analysis_code_is_flagged(committed):
    record = _record(0)
    record["analysis_code"] = "0123456789ab"
    committed(record)
    ev = _decide((1,), {1: True})
    assert ev.seeds[1]["same_code"] is False and ev.seeds[1]["analysis_code"] == "0123456789ab"
    entry = {"verdict": "holds", "headline": "1", "seeds": ev.seeds}
    assert _seed_mark(entry) == " (2 seeds) †"
    line = seeds_line(TIER.with_selection(None, None, [1]), [entry])
    assert "2 fine-tuning seeds (1, 0)" in line and "other analysis code" in line


def test_a_report_from_records_draws_the_first_seed_this_code_recorded():
    # Analyses are stored under their code's fingerprint: a seed recorded by other code
    # has no arrays the report could read, so the figures come from a seed this code wrote.
    old, new, partly = _record(0), _record(1), _record(2)
    old["analysis_code"] = "0123456789ab"
    assert seed_records.report_seed({0: old, 1: new}) == 1
    # A cell kept from an earlier run by other code makes the seed a mixed one.
    partly["cells"] = {name: {**cell, "recorded_by": {"analysis_code": "0123456789ab"}}
                       for name, cell in partly["cells"].items()}
    assert seed_records.report_seed({0: old, 2: partly}) == 0  # none current: the lowest
    assert seed_records.report_seed({0: old, 1: new, 2: partly}) == 1


def test_without_seed_records_only_the_computed_seeds_decide(monkeypatch):
    monkeypatch.setattr(_framework, "COMMITTED", {"dir": None, "by_tier": {},
                                                  "analysis_code": None})
    monkeypatch.setattr(_framework, "require_weights", lambda model: None)
    assert [s["seed"] for s in _decide((0, 1), {0: True, 1: True}).seeds] == [0, 1]


# ---- the records alone (harness verify --from-records) ---------------------------------------
def _never(ws, cell, seed):
    raise AssertionError("a records-only claim run computed a seed")


@pytest.fixture
def recorded(committed, monkeypatch):
    # A check names its claim by its module's CLAIM, as the claim modules do.
    monkeypatch.setattr(sys.modules[__name__], "CLAIM", "F9", raising=False)
    return committed


def test_the_committed_records_alone_decide_and_nothing_is_computed(recorded, monkeypatch):
    monkeypatch.setitem(_framework.COMMITTED, "records_only", True)
    recorded(_record(0, holds=False, value=0.0))
    recorded(_record(1, holds=True, value=1.0))
    recorded(_record(2, holds=True, value=2.0))
    ws = SimpleNamespace(tier=TIER.with_selection(None, None, (0,)))
    ev = decide(_never, ws, CELL)
    assert [(s["seed"], s["source"]) for s in ev.seeds] == [(0, "record"), (1, "record"),
                                                          (2, "record")]
    assert ev.holds is True and "2 of 3 hold" in ev.rule
    assert ev.numbers["value"] == pytest.approx(1.0)


def test_a_cell_no_record_holds_is_not_run_from_the_records(recorded, monkeypatch):
    monkeypatch.setitem(_framework.COMMITTED, "records_only", True)
    record = _record(0)
    record["cells"] = {}
    recorded(record)
    ev = decide(_never, SimpleNamespace(tier=TIER), CELL)
    assert ev.holds is None and "no committed seed record holds this cell" in ev.not_run


def test_one_recorded_seed_keeps_its_headline_when_the_claim_has_no_template(recorded,
                                                                            monkeypatch):
    # F4 and F6 build their headline per cell; from one record it is that seed's.
    monkeypatch.setitem(_framework.COMMITTED, "records_only", True)
    recorded(_record(0, value=3.5))
    assert decide(_never, SimpleNamespace(tier=TIER), CELL).summary() == "3.5"
    recorded(_record(1, value=1.5))
    monkeypatch.setitem(_framework.COMMITTED, "by_tier", {})
    # Over two seeds one seed's headline would stand for the mean: none is shown.
    assert decide(_never, SimpleNamespace(tier=TIER), CELL).summary() == ""


# ---- cost per stage ----------------------------------------------------------------------------
def _unit(kind, **kwargs):
    return Unit(f"{kind}/{kwargs}", kind, kwargs)


def test_the_summary_splits_cost_by_seed_and_skips_what_was_found():
    summary = Summary("serial")
    summary.record(_unit("finetune", seed=0), {"seconds": 100.0, "cpu_s": 190.0})
    summary.record(_unit("cluster", seed=0, update="first"), {"seconds": 5.0, "cpu_s": 5.0})
    summary.record(_unit("distances", seed=0, update=0), {"seconds": 2.0, "cpu_s": 2.0})
    summary.record(_unit("probe", seed=1, update="last"), {"seconds": 7.0, "cpu_s": 6.0})
    summary.record(_unit("probe", seed=0, update="last"),
                   {"seconds": 0.1, "cpu_s": 0.1, "computed": False})
    assert summary.by_seed == {
        "0": {"fine-tune": {"units": 1, "seconds": 100.0, "cpu_s": 190.0}},
        "shared": {"directprobe": {"units": 1, "seconds": 5.0, "cpu_s": 5.0},
                   "distances": {"units": 1, "seconds": 2.0, "cpu_s": 2.0}},
        "1": {"probes": {"units": 1, "seconds": 7.0, "cpu_s": 6.0}}}
    cost = seed_records.cost_of_seed(vars(summary), 0, (0, 1))
    assert cost["stages"] == summary.by_seed["0"] and not cost["shared_included"]
    assert cost["shared_stages"] == summary.by_seed["shared"]
    assert seed_records.cost_of_seed(vars(summary), 2, (0, 1, 2)) is None


def test_a_summary_before_by_seed_counts_only_for_a_run_of_one_seed():
    old = {"units": {"fine-tune": 5}, "seconds": {"fine-tune": 10.0}, "cpu_s": {"fine-tune": 19.0}}
    cost = seed_records.cost_of_seed(old, 0, [0])
    assert cost == {"stages": {"fine-tune": {"units": 5, "seconds": 10.0, "cpu_s": 19.0}},
                    "shared_included": True}
    assert seed_records.cost_of_seed(old, 0, [0, 1]) is None
    assert seed_records.cost_of_seed({"units": {}, "seconds": {}}, 0, [0]) is None


def _summary_finding_everything():
    summary = Summary("ray", wall_s=3.0)
    summary.record(_unit("probe", seed=0, update="last"),
                   {"seconds": 0.1, "cpu_s": 0.1, "computed": False})
    return summary


def test_verify_keeps_the_cost_of_the_run_that_computed_the_seed(tmp_path):
    records = _claim_records([_evidence(True, 1.0)], (0,))
    tier = TIER.with_selection(None, None, [0])
    # This run computed it: its own cost.
    summary = Summary("ray", wall_s=50.0)
    summary.record(_unit("finetune", seed=0), {"seconds": 40.0, "cpu_s": 80.0})
    write_seed_records(tmp_path, records, tier, ENV, summary, {}, None)
    cost = seed_records.read_record(seed_records.record_path(tmp_path, 0))["cost"]
    assert cost["stages"]["fine-tune"]["seconds"] == 40.0
    assert cost["measured_by"]["git_commit"] == "abc123"
    # A later run found everything: the committed record's cost stays.
    committed = seed_records.committed_records(tmp_path, tier.to_dict())
    write_seed_records(tmp_path, records, tier, ENV, _summary_finding_everything(),
                       committed, None)
    again = seed_records.read_record(seed_records.record_path(tmp_path, 0))["cost"]
    assert again == cost


def test_verify_reads_the_cost_from_the_report_that_run_left(tmp_path):
    records = _claim_records([_evidence(True, 1.0)], (0,))
    tier = TIER.with_selection(None, None, [0])
    previous = {"git_commit": "999e238", "tier": {"seeds": [0]},
                "precompute": {"executor": "ray", "wall_s": 7000.0,
                               "units": {"probes": 10}, "seconds": {"probes": 900.0},
                               "cpu_s": {"probes": 880.0}}}
    (tmp_path / "REPORT.md").write_text("# report\n\n## Provenance\n\n```json\n"
                                        + json.dumps(previous) + "\n```\n")
    found = seed_records.previous_provenance(tmp_path)
    assert found == previous
    write_seed_records(tmp_path, records, tier, ENV, _summary_finding_everything(), {}, found)
    cost = seed_records.read_record(seed_records.record_path(tmp_path, 0))["cost"]
    assert cost["stages"] == {"probes": {"units": 10, "seconds": 900.0, "cpu_s": 880.0}}
    assert cost["measured_by"]["git_commit"] == "999e238" and cost["shared_included"]


def test_a_cost_nobody_measured_is_said_so_never_zero(tmp_path):
    records = _claim_records([_evidence(True, 1.0)], (0,))
    write_seed_records(tmp_path, records, TIER.with_selection(None, None, [0]), ENV,
                       _summary_finding_everything(), {}, None)
    cost = seed_records.read_record(seed_records.record_path(tmp_path, 0))["cost"]
    assert list(cost) == ["not_measured"]


def test_a_run_over_other_tasks_keeps_the_cells_the_seed_recorded_before(tmp_path):
    pos = TIER.with_selection(None, ["pos"], [0])
    summary = Summary("ray", wall_s=50.0)
    summary.record(_unit("finetune", seed=0), {"seconds": 40.0, "cpu_s": 80.0})
    write_seed_records(tmp_path, _claim_records([_evidence(True, 1.0)], (0,)), pos, ENV,
                       summary, {}, None)
    # A run over DEP alone: seed 0's POS cell stays, saying who recorded it.
    dep_cell = Cell("paper", "minilm-l6", "dep")
    ev = _framework.combine([Evidence("F9", dep_cell, headline="").decide(False, "r", value=2.0)],
                            (0,))
    dep_records = [{"claim": "F9", "cell": vars(dep_cell), "cell_id": dep_cell.id,
                    "seeds": ev.seeds}]
    dep = TIER.with_selection(None, ["dep"], [0])
    committed = seed_records.committed_records(tmp_path, dep.to_dict())
    write_seed_records(tmp_path, dep_records, dep, {**ENV, "git_commit": "def456"},
                       _summary_finding_everything(), committed, None)
    both = seed_records.read_record(seed_records.record_path(tmp_path, 0))
    assert sorted(c["cell"]["task"] for c in both["cells"].values()) == ["dep", "pos"]
    kept = both["cells"][f"F9|{CELL.id}"]
    assert kept["holds"] is True and kept["recorded_by"]["git_commit"] == "abc123"
    assert both["git_commit"] == "def456" and "recorded_by" not in both["cells"][
        f"F9|{dep_cell.id}"]
    assert both["earlier_runs"][0]["tasks"] == ["pos"]
    assert both["earlier_runs"][0]["cost"]["stages"]["fine-tune"]["seconds"] == 40.0
    # A run over POS again replaces POS's cell and keeps DEP's.
    committed = seed_records.committed_records(tmp_path, pos.to_dict())
    write_seed_records(tmp_path, _claim_records([_evidence(False, -1.0)], (0,)), pos, ENV,
                       summary, committed, None)
    again = seed_records.read_record(seed_records.record_path(tmp_path, 0))
    assert again["cells"][f"F9|{CELL.id}"]["holds"] is False
    assert "recorded_by" not in again["cells"][f"F9|{CELL.id}"]
    assert again["cells"][f"F9|{dep_cell.id}"]["recorded_by"]["git_commit"] == "def456"


# ---- end to end: two runs of harness verify, one seed each -----------------------------------------
def _verify(model, store, out, seed):
    done = subprocess.run(
        [sys.executable, "-m", "harness", "verify", "--tier", "tiny", "--models", model,
         "--tasks", "pos", "--seeds", str(seed), "--store", str(store), "--out", str(out),
         "--pytest-args", "-k", "F1"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "evidence.json").read_text())["records"]


@pytest.mark.slow
def test_a_later_run_decides_over_its_seed_and_the_committed_one(bert_tiny_shaped, tmp_path):
    store, out = tmp_path / "store", tmp_path / "report"
    first = _verify(bert_tiny_shaped, store, out, 0)
    record0 = seed_records.read_record(seed_records.record_path(out, 0))
    f1 = [r for r in first if r["claim"] == "F1"]
    assert f1 and set(record0["cells"]) == {f"F1|{r['cell_id']}" for r in f1}
    assert record0["cost"]["stages"]["fine-tune"]["units"] == 1
    assert record0["cost"]["shared_stages"]["probes"]["units"] == 1  # the original's probe

    second = _verify(bert_tiny_shaped, store, out, 1)
    record1 = seed_records.read_record(seed_records.record_path(out, 1))
    # Seed 1's run holds the same pretrained vectors at update 0: named by their content,
    # their analyses are found, not computed again.
    assert "probes" not in record1["cost"]["shared_stages"]
    assert seed_records.read_record(seed_records.record_path(out, 0)) == record0
    for r in (r for r in second if r["claim"] == "F1"):
        assert [(s["seed"], s["source"]) for s in r["seeds"]] == [(1, "computed"),
                                                                    (0, "record")]
        assert r["seeds"][1]["same_code"] is True
        assert r["seeds"][1]["numbers"] == record0["cells"][f"F1|{r['cell_id']}"]["numbers"]
    assert "(2 seeds)" in (out / "REPORT.md").read_text()

    # The committed records alone give the same verdicts and numbers, computing nothing
    # (an empty store), and the report's tables read what they need from the evidence.
    empty = tmp_path / "empty-store"
    done = subprocess.run(
        [sys.executable, "-m", "harness", "verify", "--tier", "tiny", "--models",
         bert_tiny_shaped, "--tasks", "pos", "--from-records", "--store", str(empty), "--out",
         str(out), "--pytest-args", "-k", "F1"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    third = json.loads((out / "evidence.json").read_text())["records"]
    assert ({r["cell_id"]: (r["verdict"], r.get("numbers")) for r in third if r["claim"] == "F1"}
            == {r["cell_id"]: (r["verdict"], r.get("numbers")) for r in second
                if r["claim"] == "F1"})
    assert not any(empty.rglob("manifest.json"))
    report = (out / "REPORT.md").read_text()
    assert "decided from the committed seed records alone" in report
    assert "(ours, from the seed records)" in report  # Appendix C from F1 and F2's evidence


def test_from_records_refuses_options_that_compute(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "harness", "verify", "--tier", "paper", "--from-records",
         "--seeds", "0", "--out", str(tmp_path)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "--from-records computes nothing: --seeds" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "harness", "verify", "--tier", "paper", "--from-records",
         "--out", str(tmp_path)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and f"no seed records in {tmp_path / 'seeds'}" in done.stderr


def test_the_report_names_its_command_without_machine_paths():
    from harness.commands.verify import PROJECT_ROOT, portable_command

    argv = [str(PROJECT_ROOT / "harness" / "__main__.py"), "verify", "--tier", "paper",
            "--out", str(PROJECT_ROOT / "reports" / "paper"), "--seeds", "0"]
    assert portable_command(argv) == ("python -m harness verify --tier paper --out "
                                      "reports/paper --seeds 0")
    assert portable_command([".venv/bin/harness", "verify"]) == ".venv/bin/harness verify"


def test_the_committed_paper_report_follows_from_the_committed_seed_records(tmp_path):
    # reports/paper is rewritten from reports/paper/seeds (harness verify --from-records);
    # a record or a deviation entry changed without rewriting the report fails here.
    committed = PROJECT_ROOT / "reports" / "paper"
    if not (committed / "seeds").is_dir():
        pytest.skip("no committed paper-tier seed records")
    evidence = tmp_path / "evidence.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "claims", "-m", "paper", "-p", "no:cacheprovider", "-q",
         "--no-progress", "--records-only", "--seed-records", str(committed / "seeds"),
         "--store", str(tmp_path / "no-store"), "--evidence-out", str(evidence)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert evidence.is_file(), done.stdout[-3000:] + done.stderr[-3000:]

    def verdicts(path):
        return {(r["claim"], r["cell_id"]): (r["verdict"], r.get("numbers"))
                for r in json.loads(path.read_text())["records"]}

    assert verdicts(evidence) == verdicts(committed / "evidence.json")
    assert not (tmp_path / "no-store").exists()


def test_the_analysis_code_fingerprint_covers_the_kernels(monkeypatch):
    # A record names the code that computed its numbers; the kernels (DirectProbe, the
    # probes, CKA) come in through the analysis modules, not the package's __init__.
    from harness import fingerprints
    from harness.fingerprints import harness_imports

    covered = set()
    for module in seed_records.analysis_modules():
        covered.update(harness_imports(module))
    assert {"harness.analyses.snapshot_geometry", "harness.analyses.probing",
            "harness.analyses.similarity", "harness.geometry.separability",
            "harness.geometry.clustering", "harness.probes.mlp"} <= covered
    # Editing one kernel changes the fingerprint.
    before = seed_records.analysis_code_fingerprint()
    real = fingerprints.code_fingerprint

    def edited(name):
        return real(name) + ("x" if "harness.geometry.separability" in harness_imports(name)
                             else "")

    monkeypatch.setattr(fingerprints, "code_fingerprint", edited)
    assert seed_records.analysis_code_fingerprint() != before
