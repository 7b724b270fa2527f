"""asv benchmarks of DirectProbe clustering (:mod:`harness.geometry.clustering`).

Cells (inputs from ``common_clustering.py``, seeded):

* ``separable``: 3,000 x 128, 10 separable Gaussians (the authors' code: 3.5 min);
* ``overlapping``: 1,000 x 16, 3 overlapping Gaussians (the authors' code: 11 min);
* ``trec``: TREC-sized, 5,452 x 384, 50 Zipf-sized labels in a 16-dim subspace,
  overlapping;
* ``pos``: POS-sized non-linear data, 17,000 x 384, 17 tags over 2,500 word types that
  carry 1-3 tags each (:func:`common_clustering.pos_like`).

``trec`` and ``pos`` run only with ``HARNESS_BENCH_FULL=1`` (each takes minutes).
Threads are pinned to 1 (threadpoolctl) so timings are comparable across machines.

Script mode: CPU seconds of DirectProbe on named sets or ``.npz`` files (``X``,
``y``), each run in a fresh process, alternating with a baseline checkout of the
project (``--baseline DIR``, e.g. ``git worktree add /tmp/base 7788ce2``) so that
both sides see the same machine load; the partitions are compared::

    python benchmarks/benchmarks/geometry_clustering.py trec pos real.npz \
        [--mode reference] [--rate 0.01] [--baseline DIR] [--baseline-cpu-limit 1800]
"""

import os
import sys

import numpy as np
from threadpoolctl import threadpool_limits

from harness.geometry.clustering import cluster_labels

try:
    from .common import warm_up_kernels
    from .common_clustering import gaussian_blobs, low_rank_labels, pos_like
except ImportError:  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import warm_up_kernels
    from common_clustering import gaussian_blobs, low_rank_labels, pos_like

FULL = os.environ.get("HARNESS_BENCH_FULL", "") == "1"

DATASETS = {
    "separable": lambda: gaussian_blobs(3000, 128, 10, spread=10.0, seed=0),
    "overlapping": lambda: gaussian_blobs(1000, 16, 3, spread=1.0, seed=0),
    "trec": lambda: low_rank_labels(5452, 384, 50, rank=16, spread=1.0, seed=0),
    "pos": lambda: pos_like(17000, 384, seed=0),
}
BIG = {"trec", "pos"}


class DirectProbeClustering:
    """Full DirectProbe (clustering only) per dataset and mode."""

    params = [list(DATASETS), ["reference", "exact"]]
    param_names = ["dataset", "mode"]
    timeout = 3600

    def setup(self, dataset, mode):
        if dataset in BIG and not FULL:
            raise NotImplementedError("set HARNESS_BENCH_FULL=1 for the TREC/POS-sized cells")
        if dataset in BIG and mode == "exact":
            raise NotImplementedError("exact mode equals reference mode; skipped at this size")
        np.random.default_rng(0)  # inputs are seeded inside the generators
        self.X, self.y = DATASETS[dataset]()
        warm_up_kernels()  # the one-time numba load is not part of any timing
        self._limits = threadpool_limits(1)
        self._result = None

    def teardown(self, dataset, mode):
        self._limits.unregister()

    def _run(self, mode):
        self._result = cluster_labels(self.X, self.y, mode=mode)
        return self._result

    def time_cluster(self, dataset, mode):
        self._run(mode)

    def peakmem_cluster(self, dataset, mode):
        self._run(mode)

    def track_clusters(self, dataset, mode):
        return self._run(mode).n_clusters

    track_clusters.unit = "clusters"

    def track_oracle_calls(self, dataset, mode):
        return self._run(mode).n_oracle_calls

    track_oracle_calls.unit = "oracle calls"


# --------------------------------------------------------------------------- script


def _load(name):
    if name.endswith(".npz"):
        # No pickles from a file given on the command line: save y as a string or int array.
        z = np.load(name, allow_pickle=False)
        return np.asarray(z["X"], dtype=np.float64), z["y"]
    return DATASETS[name]()


def _child(name, mode, rate, out):
    """One timed run in this process: prints a JSON record, saves the partition."""
    import json
    import time

    X, y = _load(name)
    warm_up_kernels()  # the one-time load of the compiled kernels is not timed
    with threadpool_limits(1):
        t0 = time.process_time()
        res = cluster_labels(X, y, mode=mode, rate=rate, on_duplicates="drop")
        cpu = time.process_time() - t0
    np.save(out, res.assignment)
    stats = {k: v for k, v in res.stats.items() if k != "timings"}
    print(json.dumps({"cpu": cpu, "clusters": int(res.n_clusters), "stats": stats},
                     default=str))


def _cpu_limit(seconds):
    """preexec_fn that stops the child after ``seconds`` of CPU (SIGXCPU), or None."""
    if seconds is None:
        return None

    def limit():
        import resource

        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))

    return limit


def _partition(assignment):
    groups = {}
    for i, c in enumerate(assignment):
        if c >= 0:
            groups.setdefault(int(c), []).append(i)
    return sorted(tuple(g) for g in groups.values())


def main(argv=None):
    import argparse
    import json
    import subprocess
    import tempfile

    parser = argparse.ArgumentParser(description="DirectProbe CPU time, ours vs a baseline")
    parser.add_argument("sets", nargs="*", help=f"names ({', '.join(DATASETS)}) or .npz files")
    parser.add_argument("--mode", default="reference", choices=["reference", "exact"])
    parser.add_argument("--rate", type=float, default=0.01)
    parser.add_argument("--baseline", help="directory of a baseline checkout (its harness/)")
    parser.add_argument("--baseline-cpu-limit", type=int, default=1800,
                        help="CPU seconds after which the baseline run is stopped")
    parser.add_argument("--child", nargs=2, metavar=("SET", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child[0], args.mode, args.rate, args.child[1])
    here = os.path.abspath(__file__)
    root = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    sides = [("ours", root)] + ([("baseline", os.path.abspath(args.baseline))]
                                if args.baseline else [])
    print(f"mode={args.mode} rate={args.rate}; CPU seconds of cluster_labels, 1 thread")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            rec = {}
            for side, path in sides:
                out = os.path.join(tmp, f"{side}.npy")
                env = dict(os.environ, PYTHONPATH=path, NUMBA_NUM_THREADS="1",
                           OMP_NUM_THREADS="1")
                cmd = [sys.executable, here, "--mode", args.mode, "--rate", str(args.rate),
                       "--child", os.path.abspath(name) if name.endswith(".npz") else name,
                       out]
                limit = args.baseline_cpu_limit if side != "ours" else None
                proc = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True,
                                      preexec_fn=_cpu_limit(limit))
                line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
                if line:
                    rec[side] = json.loads(line[-1])
                    rec[side]["partition"] = _partition(np.load(out))
                elif limit is not None and proc.returncode < 0:
                    rec[side] = {"stopped": f"> {limit} s CPU (limit reached)"}
                else:
                    rec[side] = {"error": proc.stderr[-400:]}
            ours = rec["ours"]
            msg = f"{os.path.basename(name):22s} ours {ours.get('cpu', float('nan')):8.1f} s " \
                  f"{ours.get('clusters', '?')} clusters"
            if "baseline" in rec:
                base = rec["baseline"]
                if "cpu" in base:
                    same = base["partition"] == ours.get("partition")
                    msg += (f" | baseline {base['cpu']:8.1f} s, {base['clusters']} clusters | "
                            f"ratio {base['cpu'] / ours['cpu']:6.1f} | same partition: {same}")
                else:
                    msg += f" | baseline: {base}"
            print(msg, flush=True)
            print("    stats:", json.dumps(ours.get("stats", ours)), flush=True)


if __name__ == "__main__":
    main()
