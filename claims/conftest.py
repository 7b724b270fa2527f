"""Claim-suite plumbing: tier selection, shared workspaces, evidence collection.

``pytest claims -m tiny`` verifies the tiny tier; ``-m full`` the paper's protocol.
``--models``/``--tasks`` narrow (or, for models, extend) the selection; ``--evidence-out``
writes every decided claim's numbers as JSON for the report (``harness verify`` sets it).
"""

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from claims import _framework
from claims._framework import DEVIATES, FAILS, HOLDS, NOT_APPLICABLE, NOT_RUN, Cell
from claims.deviations import DEVIATIONS
from harness.report.seed_records import json_default

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_addoption(parser):
    group = parser.getgroup("claims")
    group.addoption("--models", nargs="+", default=None,
                    help="models to verify (registry names, directories or hub ids)")
    group.addoption("--tasks", nargs="+", default=None,
                    help="tasks to verify: names or task files (.yaml)")
    group.addoption("--seeds", nargs="+", type=int, default=None,
                    help="fine-tuning seeds to decide on (default: the tier's)")
    group.addoption("--store", default=None, help="run-store root")
    group.addoption("--separability-tol", type=float, default=None,
                    help="separability tolerance of every verdict (default: the tier's)")
    group.addoption("--data-dir", default=None, help="dataset directory")
    group.addoption("--evidence-out", default=None, help="write claim evidence JSON here")
    group.addoption("--seed-records", default=None,
                    help="folder of per-seed records of earlier runs (seed-K.json); their "
                         "seeds vote beside the computed ones (harness verify sets it)")
    group.addoption("--records-only", action="store_true",
                    help="decide every cell from the --seed-records alone: nothing is "
                         "fine-tuned or analysed (harness verify --from-records)")
    group.addoption("--no-progress", action="store_true", help="hide progress bars")
    group.addoption("--cell-log", default=None,
                    help="append one JSON line per decided cell here as it finishes (and "
                         "the number of collected cells first); harness verify shows them")


def pytest_configure(config):
    _framework.SELECTION["models"] = config.getoption("--models")
    _framework.SELECTION["tasks"] = _task_names(config.getoption("--tasks"))
    records_only = config.getoption("--records-only")
    if records_only and not config.getoption("--seed-records"):
        raise pytest.UsageError("--records-only decides from committed seed records: give "
                                "their folder with --seed-records")
    _framework.COMMITTED.update(dir=config.getoption("--seed-records"), by_tier={},
                                records_only=records_only)
    config._claim_records = []


def _task_names(tasks):
    """Task files (``--tasks my-task.yaml``) stand for their declared names."""
    if not tasks:
        return tasks
    from harness.data.taskfile import resolve_task_name

    return [resolve_task_name(t) for t in tasks]


@pytest.fixture(scope="session")
def workspaces(request):
    from harness.analyses import Workspace
    from harness.store import RunStore
    from harness.tiers import get_tier

    store = RunStore(request.config.getoption("--store"))
    cache = {}

    def get(tier_name):
        if tier_name not in cache:
            tier = get_tier(tier_name).with_selection(_framework.SELECTION["models"],
                                                      _framework.SELECTION["tasks"],
                                                      request.config.getoption("--seeds"))
            tau = request.config.getoption("--separability-tol")
            if tau is not None:
                tier = replace(tier, separability_tol=tau)
            cache[tier_name] = Workspace(tier, store=store,
                                         data_dir=request.config.getoption("--data-dir"),
                                         progress=not request.config.getoption("--no-progress"))
        return cache[tier_name]

    return get


@pytest.fixture
def evidence_sink(request):
    """Tests append their :class:`Evidence` here; the report hook reads it."""
    sink = []
    request.node._claim_evidence = sink
    return sink


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # Every collected cell gets one record: from its call, or from its setup when that
    # was skipped ("not run") or raised (a fixture error: "fails").
    if report.when == "call" or (report.when == "setup" and not report.passed):
        cell = item.callspec.params.get("cell") if hasattr(item, "callspec") else None
        if cell is not None and not isinstance(cell, Cell):
            return  # an empty parameter set (no task file given): no cell, no record
        for ev in getattr(item, "_claim_evidence", []) or [None]:
            record = _record(item, report, cell, ev)
            item.config._claim_records.append(record)
            _log_cell(item.config, {k: record.get(k) for k in (
                "claim", "cell_id", "scope", "verdict", "headline", "reason", "seconds")})


def pytest_collection_finish(session):
    _log_cell(session.config, {"collected": len(session.items)})


def _log_cell(config, line):
    """One JSON line in ``--cell-log`` (flushed at once: another process follows it)."""
    path = config.getoption("--cell-log")
    if path:
        with open(path, "a") as fh:
            fh.write(json.dumps(line, default=str) + "\n")


def _record(item, report, cell, ev):
    """One evidence.json record: the cell, its verdict, and the numbers it was decided on."""
    claim = ev.claim if ev else _framework_claim(item)
    deviation = DEVIATIONS.get((claim, cell.id)) if cell else None
    status = "xfailed" if hasattr(report, "wasxfail") else report.outcome
    reason = getattr(report, "wasxfail", "") or (
        str(report.longrepr[-1]) if report.skipped and isinstance(report.longrepr, tuple) else "")
    if report.failed:
        reason = str(report.longrepr.reprcrash.message if hasattr(report.longrepr, "reprcrash")
                     and report.longrepr.reprcrash else report.longrepr).splitlines()[0][:2000]
    record = {"test": item.nodeid, "claim": claim, "cell": vars(cell) if cell else {},
              "cell_id": cell.id if cell else "", "scope": cell.scope if cell else "paper",
              "status": status, "verdict": _verdict(status, ev), "reason": reason,
              "seconds": report.duration}
    if ev is not None:
        record.update(holds=ev.holds, rule=ev.rule, numbers=ev.numbers,
                      numbers_std=ev.numbers_std, seeds=ev.seeds, headline=ev.summary(),
                      not_applicable=ev.not_applicable, not_run=ev.not_run)
    if deviation is not None:
        record["deviation"] = {"expect": deviation.describe(), "tolerance": deviation.tolerance,
                               "note": deviation.note,
                               "problems": (ev.envelope_problems if ev else None) or []}
    return record


def _framework_claim(item):
    module = getattr(item, "module", None)
    return getattr(module, "CLAIM", item.name.split("[")[0])


def _verdict(status, ev):
    if status == "passed":
        return HOLDS
    if status == "xfailed":
        return DEVIATES
    if status == "skipped":
        return NOT_APPLICABLE if ev is not None and ev.not_applicable and not ev.not_run \
            else NOT_RUN
    return FAILS


def pytest_sessionfinish(session, exitstatus):
    out = session.config.getoption("--evidence-out")
    if out:
        from harness.store import usage

        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {"records": session.config._claim_records, "store": usage()}
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(document, indent=1, default=json_default))
        tmp.replace(path)


