"""Ray executor vs serial on the same tier selection, in one invocation, from cold stores.

For each executor (in the given order) a fresh store is filled by ``precompute`` and the
claim run (``pytest claims -m TIER``) then decides the cells from it; the two evidence
files must agree cell by cell (verdict and every deciding number). Prints and writes a
JSON record: wall times per phase, the overhead of Ray relative to serial, the machine's
load average before and after (the machine may be shared), and the comparison.

Usage (the numbers in docs/paper-tier.md come from this)::

    HARNESS_DATA_DIR=... nice python benchmarks/ray_overhead.py --tier tiny --tasks pos \\
        --work /tmp/ray-overhead --json docs/device-logs/ray_overhead.json
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_leg(executor, tier, args, work):
    from harness.executor import precompute
    from harness.progress import StageProgress
    from harness.store import RunStore

    store_root = work / f"store-{executor}"
    shutil.rmtree(store_root, ignore_errors=True)
    store = RunStore(store_root)
    evidence = work / f"evidence-{executor}.json"
    load_before = os.getloadavg()
    started = time.perf_counter()
    summary = precompute(tier, executor=executor, store=store,
                         progress=StageProgress(sys.stderr, log_every=120),
                         num_cpus=args.num_cpus)
    precompute_s = time.perf_counter() - started
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "claims"), "-m", args.tier, "-q",
           "-p", "no:cacheprovider", "--no-progress", "--store", str(store_root),
           "--evidence-out", str(evidence), "--seeds", *map(str, tier.seeds)]
    if args.tasks:
        cmd += ["--tasks", *args.tasks]
    with open(work / f"claims-{executor}.log", "w") as log:
        code = subprocess.call(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    total_s = time.perf_counter() - started
    document = json.loads(evidence.read_text())
    return {"executor": executor, "precompute_s": precompute_s,
            "claims_s": total_s - precompute_s, "total_s": total_s, "pytest_exit": code,
            "summary": vars(summary), "claim_run_store": document["store"],
            "load_before": load_before, "load_after": os.getloadavg(),
            "records": document["records"]}


def compare(a, b):
    """Cells whose verdict or deciding numbers differ between two evidence record lists."""
    def index(records):
        return {(r["claim"], r["cell_id"]): (r["verdict"], r.get("numbers"), r.get("seeds"))
                for r in records}

    ia, ib = index(a), index(b)
    differ = sorted(str(k) for k in set(ia) | set(ib) if ia.get(k) != ib.get(k))
    return {"n_cells": len(ia), "n_differ": len(differ), "differ": differ[:20]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", default="tiny")
    parser.add_argument("--tasks", nargs="+", default=None)
    parser.add_argument("--seeds", nargs="+", type=int, default=None)
    parser.add_argument("--order", default="serial,ray")
    parser.add_argument("--num-cpus", type=int, default=None)
    parser.add_argument("--work", default="/tmp/ray-overhead")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    from harness.tiers import get_tier

    tier = get_tier(args.tier).with_selection(tasks=args.tasks, seeds=args.seeds)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    legs = {}
    for executor in args.order.split(","):
        legs[executor] = run_leg(executor, tier, args, work)
        leg = legs[executor]
        print(f"{executor}: precompute {leg['precompute_s']:.0f} s, claims "
              f"{leg['claims_s']:.0f} s, total {leg['total_s']:.0f} s (load "
              f"{leg['load_before'][0]:.1f} -> {leg['load_after'][0]:.1f})", flush=True)
    result = {"tier": args.tier, "tasks": args.tasks, "seeds": list(tier.seeds),
              "cpu_count": os.cpu_count(),
              "legs": {k: {n: v for n, v in leg.items() if n != "records"}
                       for k, leg in legs.items()}}
    if "serial" in legs and "ray" in legs:
        s, r = legs["serial"], legs["ray"]
        result["ray_overhead"] = {
            "total": r["total_s"] / s["total_s"] - 1,
            "precompute": r["precompute_s"] / s["precompute_s"] - 1}
        result["evidence"] = compare(s["records"], r["records"])
    print(json.dumps({k: v for k, v in result.items() if k != "legs"}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
