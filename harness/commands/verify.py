"""``harness verify``: precompute a tier, run its claim suite, write its report.

Three steps, each with progress a person can follow (:mod:`harness.progress`):

1. the executor (``--executor serial|ray``) computes the tier's artifacts into the store:
   one live line per stage (fine-tuning updates, snapshot extraction, DirectProbe,
   distances, probes) with elapsed time and ETA (:mod:`harness.executor`);
2. the claim run, ``pytest claims -m TIER`` in a subprocess, reads them warm; each cell
   is printed with its verdict as it finishes, pytest's own output goes to
   ``reports/TIER/claims.log``;
3. the report (``REPORT.md``, figures, ``evidence.json``), then a summary.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..exceptions import HarnessError
from ._common import (Interval, add_data_dir, add_store, add_tier, known_tier, task_names,
                      writable_output, writable_store)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: The claims' five verdicts (claims/_framework.py), in the order the summary lists them.
VERDICT_ORDER = ("holds", "deviates", "not applicable", "not run", "fails")


#: Takes the rest of the command line (``--pytest-args -k F3``); ``harness.cli`` also
#: accepts the ``--pytest-args=-k F3`` spelling, which argparse refuses for such an option.
PYTEST_ARGS = "--pytest-args"


def register(subparsers):
    parser = subparsers.add_parser(
        "verify", help="verify the paper's claims on a tier (pytest claims -m TIER) and write "
                       "reports/TIER/REPORT.md with figures")
    add_tier(parser, "tiny (CPU, CI), paper (the paper's protocol on minilm-l6) or full (the "
                     "paper's five BERTs)")
    parser.add_argument("--models", nargs="+", default=None,
                        help="models to verify instead of the tier's: registry names, hub ids "
                             "(org/name; weights looked for when a cell runs) or model "
                             "directories (relative to the current directory)")
    parser.add_argument("--tasks", nargs="+", default=None,
                        help="tasks to verify (default: the tier's five paper tasks): names "
                             "or task files (.yaml, docs/own-task.md)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None,
                        help="fine-tuning seeds (default: the tier's; the paper tier has 0-4)")
    parser.add_argument("--executor", choices=["serial", "ray"], default=None,
                        help="where the tier's artifacts are computed before the claims read "
                             "them: serial (this process; default for tiny) or ray (default "
                             "for the other tiers; needs the [ray] extra)")
    parser.add_argument("--address", default=None,
                        help="ray: join this cluster ('auto', host:6379, ray://host:10001) "
                             "instead of starting a local runtime; every node must see the "
                             "same --store path (docs/paper-tier.md)")
    parser.add_argument("--num-cpus", type=int, default=None,
                        help="ray: CPUs of the local runtime (default: the machine's)")
    parser.add_argument("--out", default=None, help="report folder (default reports/TIER)")
    parser.add_argument("--separability-tol", type=Interval(float, 0, 1, closed="neither").parse,
                        default=None, metavar="TAU",
                        help="decide separability at TAU times the data's radius instead of the "
                             "tier's (1e-6, docs/claims.md); part of the protocol, so the seed "
                             "records of another TAU need their own --out")
    parser.add_argument("--from-records", action="store_true",
                        help="decide every cell from the per-seed records committed in "
                             "OUT/seeds alone and write the report: nothing is fine-tuned or "
                             "analysed; the tables and figures show what the store holds")
    parser.add_argument(PYTEST_ARGS, nargs=argparse.REMAINDER, default=[],
                        help="the rest of the line goes to pytest, e.g. --pytest-args -k F3 "
                             "(put it last)")
    add_data_dir(parser)
    add_store(parser)
    parser.set_defaults(func=run)


def run(args):
    from ..data.check import check_data

    if args.from_records:
        return run_from_records(args)
    # The data first (before torch is imported): without it every claim would fail, one
    # by one, minutes from now.
    check_data(args.data_dir, download_if_missing=True, quiet=True, out=sys.stderr)

    from ..analyses import Workspace
    from ..executor import precompute
    from ..models import resolve_model
    from ..progress import StageProgress
    from ..report import seed_records
    from ..report.markdown import write_report
    from ..store import environment, usage

    claims_dir = PROJECT_ROOT / "claims"
    if not claims_dir.is_dir():
        raise HarnessError(f"verify needs the project checkout (no {claims_dir}); run it from "
                           "a clone of the repository.")
    # Check every option before anything runs.
    known_tier(args.tier)
    for model in args.models or ():
        resolve_model(model)  # unknown names and missing directories fail here
    tasks = task_names(args.tasks)  # task files: registered, then named by their name
    if args.seeds is not None and any(s < 0 for s in args.seeds):
        raise HarnessError(f"--seeds: seeds are integers >= 0. Got {args.seeds} instead.")
    if args.num_cpus is not None and args.num_cpus < 1:
        raise HarnessError(f"--num-cpus: must be >= 1. Got {args.num_cpus} instead.")
    _check_seeds(args.seeds)
    executor = args.executor or ("serial" if args.tier == "tiny" else "ray")
    _check_executor_options(executor, args)
    store = writable_store(args.store)
    out = Path(args.out or PROJECT_ROOT / "reports" / args.tier).resolve()
    _not_inside_inputs(out, store.root, args.data_dir, args.models or ())
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise HarnessError(f"--out {out}: cannot create the report folder ({err.strerror}).") from None
    writable_output(out / "REPORT.md", "--out")
    # pytest runs from the project root: paths the caller gave are made absolute first.
    models = [_absolute_if_directory(m) for m in args.models] if args.models else None
    data_dir = None if args.data_dir is None else str(Path(args.data_dir).expanduser().resolve())
    tier = _at_tolerance(known_tier(args.tier).with_selection(models, tasks, args.seeds),
                         args.separability_tol)
    # Seeds committed by earlier runs: checked now (a record of another protocol is
    # refused before hours of work), read again by the claim run.
    committed = seed_records.committed_records(out, tier.to_dict())
    previous = seed_records.previous_provenance(out)
    progress = StageProgress(sys.stderr)
    progress.write(f"verify tier {tier.name}: models {', '.join(tier.models)}; tasks "
                   f"{', '.join(tier.tasks)}; seeds {', '.join(map(str, tier.seeds))}; "
                   f"executor {executor}; store {store.root}")
    # Provenance of the code that runs, taken before the run writes its evidence into
    # the (tracked) report directory, which would mark the checkout dirty.
    env = environment()
    started = time.time()
    with progress:
        summary = precompute(tier, executor=executor, store=store, data_dir=data_dir,
                             progress=progress, address=args.address, num_cpus=args.num_cpus)
        progress.write(summary.line())
        for uid, why in list(summary.failed.items())[:20]:
            progress.write(f"  failed: {uid}: {why[:300]}")
        cmd = pytest_command(args, tier, store, out, models, data_dir)
        code, wall = _claim_run(cmd, out, progress)
    records, claims_usage = _read_evidence(out, code)
    written = write_seed_records(out, records, tier, env, summary, committed, previous)
    ws = Workspace(tier, store=store, data_dir=data_dir, progress=False)
    # What the claim run (the pytest process) reused and computed; the report's own use
    # of the store (figures, tables) is added after it is written.
    provenance = {"tier": tier.to_dict(), "command": portable_command(sys.argv),
                  "pytest_exit": code,
                  "claims_wall_s": wall, "precompute": vars(summary),
                  "store_artifacts_reused": claims_usage["artifacts_reused"],
                  "store_artifacts_computed": claims_usage["artifacts_computed"],
                  "seed_records": {"written": written, "committed_before": sorted(committed)},
                  "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), **env}
    print("report: drawing the figures and tables ...", file=sys.stderr, flush=True)
    report = write_report(ws, records, out, provenance)
    print(_summary(records, summary, wall, time.time() - started, report, code,
                   claims_usage, usage()))
    return code


def run_from_records(args):
    """``--from-records``: the claims decided by the committed seed records alone, and the
    report. Nothing is computed: no data, fine-tuning or analysis is needed, so a report
    can be rewritten on any machine (or after the claims' deviations changed) from what
    earlier runs committed. Report sections that read the store show what it holds
    (:class:`~harness.report.stored.StoredWorkspace`)."""
    from ..executor import Summary
    from ..models import resolve_model
    from ..progress import StageProgress
    from ..report import seed_records
    from ..report.markdown import write_report
    from ..report.stored import StoredWorkspace
    from ..store import RunStore, environment, usage

    given = [flag for flag, value in (("--seeds", args.seeds), ("--executor", args.executor),
                                      ("--address", args.address),
                                      ("--num-cpus", args.num_cpus)) if value is not None]
    if given:
        raise HarnessError(f"--from-records computes nothing: {', '.join(given)} "
                           "do not apply (the seeds are those recorded in OUT/seeds).")
    known_tier(args.tier)
    for model in args.models or ():
        resolve_model(model)
    tasks = task_names(args.tasks)
    out = Path(args.out or PROJECT_ROOT / "reports" / args.tier).resolve()
    models = [_absolute_if_directory(m) for m in args.models] if args.models else None
    tier = _at_tolerance(known_tier(args.tier).with_selection(models, tasks, None),
                         args.separability_tol)
    committed = seed_records.committed_records(out, tier.to_dict())
    if not committed:
        raise HarnessError(f"--from-records: no seed records in {out / 'seeds'} (seed-K.json, "
                           f"written by harness verify --tier {args.tier} --seeds K).")
    writable_output(out / "REPORT.md", "--out")
    tier = tier.with_selection(models, tasks, sorted(committed))
    store = RunStore(args.store)
    data_dir = None if args.data_dir is None else str(Path(args.data_dir).expanduser().resolve())
    progress = StageProgress(sys.stderr)
    progress.write(f"verify tier {tier.name} from the seed records in {out / 'seeds'}: seeds "
                   f"{', '.join(map(str, tier.seeds))}; tasks {', '.join(tier.tasks)}")
    env = environment()
    started = time.time()
    summary = Summary(executor="none (from the seed records)")
    with progress:
        cmd = pytest_command(args, tier, store, out, models, data_dir) + ["--records-only"]
        code, wall = _claim_run(cmd, out, progress)
    records, claims_usage = _read_evidence(out, code)
    provenance = {"tier": tier.to_dict(), "command": portable_command(sys.argv),
                  "pytest_exit": code, "claims_wall_s": wall,
                  "from_seed_records": {
                      str(seed): {"git_commit": r.get("git_commit"),
                                  "analysis_code": r.get("analysis_code")}
                      for seed, r in sorted(committed.items())},
                  "store_artifacts_reused": claims_usage["artifacts_reused"],
                  "store_artifacts_computed": claims_usage["artifacts_computed"],
                  "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), **env}
    print("report: drawing the figures and tables from what the store holds ...",
          file=sys.stderr, flush=True)
    ws = StoredWorkspace(tier, store=store, data_dir=data_dir,
                         seed=seed_records.report_seed(committed))
    report = write_report(ws, records, out, provenance)
    print(_summary(records, summary, wall, time.time() - started, report, code,
                   claims_usage, usage()))
    return code


def _at_tolerance(tier, tau):
    """``tier`` with the separability tolerance ``tau`` (None: the tier's own)."""
    from dataclasses import replace

    return tier if tau is None else replace(tier, separability_tol=tau)


def _read_evidence(out, code):
    """The claim run's records and store use, from ``out/evidence.json``."""
    evidence = out / "evidence.json"
    if not evidence.is_file():
        raise HarnessError(f"the claim run wrote no evidence (pytest exit {code}), so there is "
                           f"no report; its output in {out / 'claims.log'} says why.")
    document = json.loads(evidence.read_text())
    return document["records"], document["store"]


def write_seed_records(out, records, tier, env, summary, committed, previous):
    """Write ``out/seeds/seed-K.json`` for every seed this run computed; returns their
    paths relative to ``out``.

    A seed's cost is what this run spent on its units. When this run found all of them
    in the store, the cost measured by the run that computed them is kept: the seed's
    earlier record, else the report that run left in ``out`` (``previous``, its
    provenance). Otherwise the cost is stated as not measured, never as zero. The cells
    that seed's committed record holds for tasks this run did not select are kept.
    """
    from ..report import seed_records

    written = []
    for seed in tier.seeds:
        cost = seed_records.cost_of_seed(vars(summary), seed, tier.seeds)
        if cost is not None:
            cost["measured_by"] = {"git_commit": env.get("git_commit"),
                                   "executor": summary.executor,
                                   "precompute_wall_s": summary.wall_s,
                                   "seeds_in_that_run": list(tier.seeds)}
        elif seed in committed and committed[seed].get("cost"):
            cost = committed[seed]["cost"]
        elif previous and previous.get("precompute") and seed_records.cost_of_seed(
                previous["precompute"], seed, previous.get("tier", {}).get("seeds", ())):
            pre = previous["precompute"]
            cost = seed_records.cost_of_seed(pre, seed, previous["tier"]["seeds"])
            cost["measured_by"] = {"git_commit": previous.get("git_commit"),
                                   "executor": pre.get("executor"),
                                   "precompute_wall_s": pre.get("wall_s"),
                                   "seeds_in_that_run": list(previous["tier"]["seeds"]),
                                   "read_from": "the report that run left in this folder"}
        else:
            cost = {"not_measured": "every artifact of this seed was found in the store; "
                                    "the run that computed them left no record of its cost"}
        record = seed_records.build_record(seed, records, tier.to_dict(), env, cost)
        if seed in committed:
            record = seed_records.keep_other_tasks(record, committed[seed], tier.tasks)
        path = seed_records.write_record(out, record)
        written.append(str(path.relative_to(out)))
    return written


def portable_command(argv):
    """The command line as a reader can repeat it from the project root: ``python -m
    harness`` for the module's path, and paths inside the project relative to it (a
    report is committed, and no path of the machine it was made on belongs in it)."""
    def portable(arg, first):
        path = Path(arg)
        if first and path.name == "__main__.py" and path.parent.name == "harness":
            return "python -m harness"
        if path.is_absolute():
            try:
                return str(path.resolve().relative_to(PROJECT_ROOT))
            except ValueError:
                return arg
        return arg

    return " ".join(portable(arg, i == 0) for i, arg in enumerate(argv))


def _check_seeds(seeds):
    """Refuse a seed given twice: the claims decide by a majority over seeds, and a
    repeated seed would vote twice (``--seeds 0 0 1`` would hold where ``0 1`` does not)."""
    if seeds is None:
        return
    twice = sorted({s for s in seeds if seeds.count(s) > 1})
    if twice:
        raise HarnessError(f"--seeds: seed {twice[0]} is given more than once; each seed "
                           f"counts once in the claims' majority, so give distinct seeds. "
                           f"Got {' '.join(map(str, seeds))}.")


def _check_executor_options(executor, args):
    """Refuse the Ray-only options with the serial executor (they would be ignored), and
    check before any work that a Ray ``--address`` answers (one line, not a hang)."""
    ray_only = [flag for flag, value in (("--address", args.address),
                                         ("--num-cpus", args.num_cpus)) if value is not None]
    if executor == "serial" and ray_only:
        default = "" if args.executor else f" (the default for --tier {args.tier})"
        raise HarnessError(f"{' and '.join(ray_only)} appl{'y' if len(ray_only) > 1 else 'ies'}"
                           f" to --executor ray only; got --executor serial{default}.")
    if executor == "ray" and args.address and args.num_cpus is not None:
        raise HarnessError("--num-cpus sizes a local Ray runtime; with --address the "
                           "cluster's own resources are used. Give one of them.")
    if executor == "ray" and args.address:
        from ..executor.ray_executor import check_address

        check_address(args.address)


def _not_inside_inputs(out, store_root, data_dir, models):
    """Raise when the report folder ``out`` is (or is inside) the store, the data directory
    or a model directory: the report's files would be written among the inputs."""
    from ..settings import data_dir as resolve_data_dir

    inputs = [("the store", Path(store_root)), ("the data directory", resolve_data_dir(data_dir))]
    inputs += [(f"model directory {m}", Path(m).expanduser()) for m in models
               if Path(m).expanduser().is_dir()]
    for what, folder in inputs:
        folder = folder.resolve()
        if out == folder or folder in out.parents:
            raise HarnessError(f"--out {out}: is inside {what} ({folder}); the report would "
                               "be written among the inputs. Give another folder.")


def pytest_command(args, tier, store, out, models, data_dir):
    """The claim run's command line (paths already absolute: pytest runs from the project
    root)."""
    cmd = [sys.executable, "-m", "pytest", str(PROJECT_ROOT / "claims"), "-m", args.tier,
           "-p", "no:cacheprovider", "-rA", "--no-progress",
           "--evidence-out", str(out / "evidence.json"), "--store", str(store.root),
           "--cell-log", str(out / ".cells.jsonl"), "--seeds", *map(str, tier.seeds),
           "--seed-records", str(out / "seeds")]
    if models:
        cmd += ["--models", *models]
    if args.tasks:
        cmd += ["--tasks", *tier.tasks]
    if args.separability_tol is not None:
        cmd += ["--separability-tol", repr(args.separability_tol)]
    if data_dir:
        cmd += ["--data-dir", data_dir]
    return cmd + args.pytest_args


def _absolute_if_directory(model):
    path = Path(model).expanduser()
    return str(path.resolve()) if path.is_dir() else model


def _claim_run(cmd, out, progress):
    """pytest over the tier's claims, its output in ``claims.log``; each cell shown as it
    finishes. Returns ``(exit code, wall seconds)``.

    pytest runs in its own session so that Ctrl-C reaches only this process, which then
    ends it: its own interrupt report would bury the one line that matters. The store
    keeps what was done (a killed run resumes from its checkpoint).
    """
    log_path, cells = out / "claims.log", out / ".cells.jsonl"
    cells.unlink(missing_ok=True)
    progress.write(f"claims: {' '.join(cmd[1:])}\n  (pytest output: {log_path})")
    started = time.time()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=os.environ.copy(), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        follower = _CellFollower(cells, progress)
        try:
            while proc.poll() is None:
                follower.poll()
                time.sleep(0.5)
        except KeyboardInterrupt:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            raise
        follower.poll()
    cells.unlink(missing_ok=True)
    return proc.returncode, time.time() - started


class _CellFollower:
    """Reads the cell log the claim run appends to and prints each new cell's verdict."""

    def __init__(self, path, progress):
        self.path, self.progress, self.offset = Path(path), progress, 0

    def poll(self):
        if not self.path.is_file():
            return
        with open(self.path) as fh:
            fh.seek(self.offset)
            text = fh.read()
        complete = text[:text.rfind("\n") + 1]  # a line being written waits for next time
        self.offset += len(complete)
        for line in complete.splitlines():
            entry = json.loads(line)
            if "collected" in entry:
                self.progress.add_total("claims", entry["collected"])
                continue
            self.progress.advance("claims")
            self.progress.write(cell_line(entry))


def cell_line(entry):
    """``F3  tiny-minilm-l6-pos-L6  holds  3 → 1 clusters  (12 s)`` for one finished cell."""
    scope = "" if entry.get("scope", "paper") == "paper" else " (extension)"
    detail = entry.get("headline") or ""
    if entry.get("verdict") in ("fails", "not run") and entry.get("reason"):
        detail = entry["reason"].splitlines()[0][:160]
    return (f"  {entry.get('claim', '?'):<3} {entry.get('cell_id', ''):<32} "
            f"{entry.get('verdict', '?'):<15}{scope} {detail}  ({entry.get('seconds') or 0:.0f} s)")


def _summary(records, summary, claims_wall, total_wall, report, code, claims_usage, report_usage):
    """The closing lines: verdict counts (paper scope, then extensions) and where things are."""
    def counts(scope):
        chosen = [r for r in records if r.get("scope", "paper") == scope]
        found = {v: sum(r["verdict"] == v for r in chosen) for v in VERDICT_ORDER}
        return ", ".join(f"{n} {v}" for v, n in found.items() if n) or "none"

    lines = [
        "",
        f"summary: {len(records)} claim cells; paper scope: {counts('paper')}; extensions: "
        f"{counts('extension')}",
        f"  {summary.line()}",
        f"  claim run {claims_wall:.0f} s (pytest exit {code}; store: "
        f"{claims_usage['artifacts_reused']} artifacts reused, "
        f"{claims_usage['artifacts_computed']} computed by the claim run); total "
        f"{total_wall:.0f} s",
        f"  report: {report} (store use of this process, the serial executor's work "
        f"included: {report_usage})",
    ]
    failing = [r for r in records if r["verdict"] == "fails"]
    for r in failing[:20]:
        lines.append(f"  FAILS {r['claim']} {r['cell_id']}: {(r.get('reason') or '')[:200]}")
    return "\n".join(lines)
