"""``harness verify``: run the claim suite for a tier and write its report."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ._common import add_data_dir, add_store

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


def run(args):
    from ..analyses import Workspace
    from ..report.markdown import write_report
    from ..store import RunStore, environment, usage
    from ..tiers import get_tier

    claims_dir = PROJECT_ROOT / "claims"
    if not claims_dir.is_dir():
        print(f"harness verify needs the project checkout (no {claims_dir}).", file=sys.stderr)
        return 2
    out = Path(args.out or PROJECT_ROOT / "reports" / args.tier).resolve()
    out.mkdir(parents=True, exist_ok=True)
    evidence = out / "evidence.json"
    store = RunStore(args.store)
    cmd = [sys.executable, "-m", "pytest", str(claims_dir), "-m", args.tier, "-p",
           "no:cacheprovider", "-rA", "--evidence-out", str(evidence), "--store", str(store.root)]
    if args.models:
        cmd += ["--models", *args.models]
    if args.tasks:
        cmd += ["--tasks", *args.tasks]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    cmd += args.pytest_args
    print("running:", " ".join(cmd), flush=True)
    # Provenance of the code that runs, taken before the run writes its evidence into
    # the (tracked) report directory, which would mark the checkout dirty.
    env = environment()
    started = time.time()
    code = subprocess.call(cmd, cwd=PROJECT_ROOT, env=os.environ.copy())
    wall = time.time() - started
    if not evidence.is_file():
        print(f"the claim run wrote no evidence (pytest exit {code}); no report", file=sys.stderr)
        return code or 1
    document = json.loads(evidence.read_text())
    records, claims_usage = document["records"], document["store"]
    tier = get_tier(args.tier).with_selection(args.models, args.tasks)
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
