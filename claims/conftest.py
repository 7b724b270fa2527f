"""Claim-suite plumbing: tier selection, shared workspaces, evidence collection.

``pytest claims -m tiny`` verifies the tiny tier; ``-m full`` the paper's protocol.
``--models``/``--tasks`` narrow (or, for models, extend) the selection; ``--evidence-out``
writes every decided claim's numbers as JSON for the report (``harness verify`` sets it).
"""

import json
import os
from pathlib import Path

import pytest

from claims import _framework

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_addoption(parser):
    group = parser.getgroup("claims")
    group.addoption("--models", nargs="+", default=None,
                    help="models to verify (registry names, directories or hub ids)")
    group.addoption("--tasks", nargs="+", default=None, help="tasks to verify")
    group.addoption("--store", default=None, help="run-store root")
    group.addoption("--data-dir", default=None, help="dataset directory")
    group.addoption("--evidence-out", default=None, help="write claim evidence JSON here")
    group.addoption("--no-progress", action="store_true", help="hide progress bars")


def pytest_configure(config):
    _framework.SELECTION["models"] = config.getoption("--models")
    _framework.SELECTION["tasks"] = config.getoption("--tasks")
    config._claim_records = []


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
                                                      _framework.SELECTION["tasks"])
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
    if report.when == "call" or (report.when == "setup" and report.skipped):
        cell = item.callspec.params.get("cell") if hasattr(item, "callspec") else None
        for ev in getattr(item, "_claim_evidence", []) or [None]:
            status = report.outcome
            if hasattr(report, "wasxfail"):
                status = "xpassed" if report.passed else "xfailed"
            record = {"test": item.nodeid, "claim": ev.claim if ev else item.name.split("[")[0],
                      "cell": vars(cell) if cell else {}, "cell_id": cell.id if cell else "",
                      "status": status,
                      "verdict": _verdict(status),
                      "holds": ev.holds if ev else None, "rule": ev.rule if ev else "",
                      "numbers": ev.numbers if ev else {},
                      "reason": getattr(report, "wasxfail", "") or (
                          str(report.longrepr[-1]) if report.skipped and isinstance(
                              report.longrepr, tuple) else ""),
                      "seconds": report.duration}
            item.config._claim_records.append(record)


def _verdict(status):
    return {"passed": "holds", "xfailed": "deviates (known)", "skipped": "not run",
            "failed": "FAILS", "xpassed": "holds (was a known deviation)"}.get(status, status)


def pytest_sessionfinish(session, exitstatus):
    out = session.config.getoption("--evidence-out")
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(session.config._claim_records, indent=1, default=_jsonable))


def _jsonable(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)
