"""``harness verify``: run the claim suite for a tier and write its report."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..exceptions import HarnessError
from ._common import (add_data_dir, add_store, existing_data_dir, known_tasks, known_tier,
                      writable_output, writable_store)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def register(subparsers):
    parser = subparsers.add_parser(
        "verify", help="verify the paper's claims on a tier (pytest claims -m TIER) and write "
                       "reports/TIER/REPORT.md with figures")
    parser.add_argument("--tier", default="tiny", help="tiny (CPU, CI) or full (paper protocol)")
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--tasks", nargs="+", default=None)
    parser.add_argument("--out", default=None, help="report folder (default reports/TIER)")
    parser.add_argument("--pytest-args", nargs="*", default=[],
                        help="extra arguments for pytest (e.g. -k F3)")
    add_data_dir(parser)
    add_store(parser)
    parser.set_defaults(func=run)


def pytest_command(args, store, evidence):
    """The claim run's command line. pytest runs from the project root, so every path
    the caller gave (model directories, data directory) is made absolute against the
    caller's working directory first."""
    cmd = [sys.executable, "-m", "pytest", str(PROJECT_ROOT / "claims"), "-m", args.tier, "-p",
           "no:cacheprovider", "-rA", "--evidence-out", str(evidence), "--store", str(store.root)]
    if args.models:
        cmd += ["--models", *(_absolute_if_directory(m) for m in args.models)]
    if args.tasks:
        cmd += ["--tasks", *args.tasks]
    if args.data_dir:
        cmd += ["--data-dir", str(Path(args.data_dir).expanduser().resolve())]
    return cmd + args.pytest_args


def _absolute_if_directory(model):
    path = Path(model).expanduser()
    return str(path.resolve()) if path.is_dir() else model


def run(args):
    from ..analyses import Workspace
    from ..models import resolve_model
    from ..report.markdown import write_report
    from ..store import environment, usage

    claims_dir = PROJECT_ROOT / "claims"
    if not claims_dir.is_dir():
        raise HarnessError(f"verify needs the project checkout (no {claims_dir}); run it from "
                           "a clone of the repository.")
    # Check every option before the claim run starts.
    known_tier(args.tier)
    for model in args.models or ():
        resolve_model(model)  # unknown names and missing directories fail here
    known_tasks(args.tasks or ())
    store = writable_store(args.store)
    existing_data_dir(args.data_dir)
    out = Path(args.out or PROJECT_ROOT / "reports" / args.tier).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise HarnessError(f"--out {out}: cannot create the report folder ({err.strerror}).") from None
    writable_output(out / "REPORT.md", "--out")
    evidence = out / "evidence.json"
    cmd = pytest_command(args, store, evidence)
    print("running:", " ".join(cmd), flush=True)
    # Provenance of the code that runs, taken before the run writes its evidence into
    # the (tracked) report directory, which would mark the checkout dirty.
    env = environment()
    started = time.time()
    code = _run_claims(cmd)
    wall = time.time() - started
    if not evidence.is_file():
        raise HarnessError(f"the claim run wrote no evidence (pytest exit {code}), so there is "
                           "no report; its output above says why.")
    document = json.loads(evidence.read_text())
    records, claims_usage = document["records"], document["store"]
    models = [_absolute_if_directory(m) for m in args.models] if args.models else None
    tier = known_tier(args.tier).with_selection(models, args.tasks)
    ws = Workspace(tier, store=store, data_dir=args.data_dir, progress=False)
    # What the claim run (the pytest process) reused and computed; the report's own use
    # of the store (figures, tables) is added after it is written.
    provenance = {"tier": tier.to_dict(), "command": " ".join(sys.argv), "pytest_exit": code,
                  "claims_wall_s": wall,
                  "store_artifacts_reused": claims_usage["artifacts_reused"],
                  "store_artifacts_computed": claims_usage["artifacts_computed"],
                  "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), **env}
    report = write_report(ws, records, out, provenance)
    print(f"report: {report} ({len(records)} claim cells, claims wall time {wall:.0f} s; "
          f"report stage: {usage()})")
    return code


def _run_claims(cmd):
    """Run the claim suite; on Ctrl-C stop it quietly and let the caller say how to resume.

    pytest runs in its own session so that Ctrl-C reaches only this process, which then
    ends it: its own interrupt report would bury the one line that matters. The store
    keeps what was done (a killed run resumes from its checkpoint).
    """
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=os.environ.copy(), start_new_session=True)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        raise
