"""Which label pairs of a real representation separate at tolerances 1e-4, 1e-6 and 1e-9.

For each layer given (``.npy`` points and labels, e.g. from ``paper_tier_budgets.py
--prepare``), the one-cluster-per-label clustering's pairs are decided with
:func:`harness.geometry.pairwise_separable` at each tolerance ``tau`` (hull distance
above ``tau * R``, R the data's radius); a pair that does not separate is listed with the
solver's certified upper bound on its distance, relative to R. Each (layer, tau) runs in a
child process with a wall-clock limit: at 1e-9 a pair whose distance is within rounding of
the tolerance goes to the LP, whose cost on nearly touching hulls is unbounded
(``> limit`` is recorded). Usage::

    python benchmarks/separability_tolerance.py --inputs /tmp/budget-inputs \\
        --sets pos-L0-u0 pos-L3-u0 pos-L6-u0 --json docs/paper-tier-logs/tolerance.json
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

TOLERANCES = (1e-4, 1e-6, 1e-9)


def child(name, inputs, tau):
    import numpy as np
    from threadpoolctl import threadpool_limits

    from harness.geometry import hull_distance, pairwise_separable

    X = np.load(Path(inputs) / f"{name}.X.npy").astype(np.float64)
    y = np.load(Path(inputs) / f"{name}.y.npy")
    labels = sorted(set(y.tolist()))
    groups = np.searchsorted(labels, y)
    R = float(np.linalg.norm(X - X.mean(0), axis=1).max())
    started = time.process_time()
    with threadpool_limits(1):
        S = pairwise_separable(X, groups, tol=tau)
        closed = []
        for i in range(len(labels)):
            for j in range(i + 1, len(labels)):
                if not S[i, j]:
                    res = hull_distance(X[groups == i], X[groups == j], tol_lp=tau)
                    closed.append({"pair": [labels[i], labels[j]],
                                   "upper_bound_over_R": res.upper_bound / R})
    return {"n_pairs": len(labels) * (len(labels) - 1) // 2, "not_separable": closed,
            "linear": not closed, "cpu_s": time.process_time() - started}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=Path, required=True)
    parser.add_argument("--sets", nargs="+", default=[])
    parser.add_argument("--tolerances", nargs="+", type=float, default=list(TOLERANCES))
    parser.add_argument("--limit", type=float, default=300.0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.inputs, float(args.child[1]))))
        return
    results = {}
    for name in args.sets:
        for tau in args.tolerances:
            cmd = [sys.executable, __file__, "--child", name, repr(tau), "--inputs",
                   str(args.inputs)]
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.limit)
                record = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 \
                    else {"error": out.stderr.strip().splitlines()[-1:]}
            except subprocess.TimeoutExpired:
                record = {"timed_out": True, "limit_s": args.limit}
            results[f"{name}@{tau:g}"] = record
            print(json.dumps({"set": name, "tau": tau, **record}), flush=True)
            if args.json:
                args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
