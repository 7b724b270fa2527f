"""Benchmarks of all-pairs separability verdicts and exact hull distances.

asv discovers ``PairwiseVerdicts`` and ``PairwiseDistances`` (``time_*``, ``peakmem_*``,
``track_*``). Each class times the harness kernel and its baseline in the same run:

* verdicts: ``fast`` = :func:`harness.geometry.pairwise_separable` vs ``lp-baseline`` =
  one SciPy HiGHS feasibility LP per label pair (interior point; HiGHS' default dual
  simplex often ends in status "Unknown" on these LPs);
* distances: ``exact`` = :func:`harness.geometry.pairwise_hull_distances` vs
  ``svc-baseline`` = one ``SVC(kernel="linear", C=1e6, tol=1e-5, max_iter=50000)`` per pair (the
  authors' method).

By default asv runs cases (c) and (d); ``HARNESS_BENCH_FULL=1`` adds (a) and (b).
BLAS is pinned to one thread (threadpoolctl) in every cell, so that ratios compare
algorithms, not thread counts. Cells that take more than ~5 minutes raise
``NotImplementedError`` in ``setup`` (asv shows them as skipped): the LP baseline on
case (a) (136 LPs of 2,000 points in 384-d, 3-10 s each). The script mode below times a
sample of those pairs instead and extrapolates, and says so.

Run as a script for the ratio table (seconds, ratios, peak memory)::

    python benchmarks/benchmarks/geometry_distance.py [--cases a c d] [--lp-sample 6]
"""

import argparse
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

try:
    from .common import GEOMETRY_CASES, is_full, make_case, warm_up_kernels
except ImportError:  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import GEOMETRY_CASES, is_full, make_case, warm_up_kernels

from scipy.optimize import linprog

from harness.geometry import pairwise_hull_distances, pairwise_separable, svc_compat_distance

N_THREADS = 1
SEPARABLE_CASES = [c for c in GEOMETRY_CASES if c.endswith("-sep")] + ["d-1000x16x3-ovl"]
# asv grid: the big cases (a) and (b) only with HARNESS_BENCH_FULL=1 (minutes per cell).
_ASV_CASES = list(GEOMETRY_CASES) if is_full() else ["c-3000x128x10-sep", "d-1000x16x3-ovl"]
_ASV_DIST_CASES = [c for c in SEPARABLE_CASES if c in _ASV_CASES]
# Baseline cells skipped by asv (> 5 min on the 2-core reference machine).
_SLOW_BASELINE = {("verdicts", "a-pos-17000x384x17-sep")}


def _pairs(labels):
    k = int(labels.max()) + 1
    return [(g, h) for g in range(k) for h in range(g + 1, k)]


def lp_verdict(A, B):
    """Baseline: one plain HiGHS feasibility LP ``A w + b >= 1, B w + b <= -1``."""
    d = A.shape[1]
    A_ub = np.vstack([np.hstack([-A, -np.ones((len(A), 1))]),
                      np.hstack([B, np.ones((len(B), 1))])])
    res = linprog(np.zeros(d + 1), A_ub=A_ub, b_ub=-np.ones(len(A_ub)),
                  bounds=[(None, None)] * (d + 1), method="highs-ipm")
    if res.status not in (0, 2):
        raise RuntimeError(f"LP baseline status {res.status}: {res.message}")
    return res.status == 0


def lp_baseline_verdicts(X, labels, pairs=None):
    pairs = _pairs(labels) if pairs is None else pairs
    return [lp_verdict(X[labels == g], X[labels == h]) for g, h in pairs]


def svc_baseline_distances(X, labels, pairs=None):
    pairs = _pairs(labels) if pairs is None else pairs
    return [svc_compat_distance(X[labels == g], X[labels == h]) for g, h in pairs]


class _Base:
    timeout = 900
    number = 1
    repeat = 1
    warmup_time = 0.0

    def _pin(self):
        warm_up_kernels()  # the one-time numba load is not part of any timing
        self._limits = threadpool_limits(N_THREADS)

    def teardown(self, *params):
        limits = getattr(self, "_limits", None)
        if limits is not None:
            limits.restore_original_limits()


class PairwiseVerdicts(_Base):
    """All label-pair separability verdicts."""

    params = [_ASV_CASES, ["fast", "lp-baseline"]]
    param_names = ["case", "impl"]

    def setup(self, case, impl):
        if impl == "lp-baseline" and ("verdicts", case) in _SLOW_BASELINE:
            raise NotImplementedError("LP baseline takes > 5 min here; see the script")
        self.X, self.labels = make_case(case)
        self._pin()

    def _run(self, impl):
        if impl == "fast":
            return pairwise_separable(self.X, self.labels)
        return lp_baseline_verdicts(self.X, self.labels)

    def time_verdicts(self, case, impl):
        self._run(impl)

    def peakmem_verdicts(self, case, impl):
        self._run(impl)

    def track_n_separable_pairs(self, case, impl):
        res = self._run(impl)
        return int(np.sum(res) // 2) if impl == "fast" else int(np.sum(res))

    track_n_separable_pairs.unit = "pairs"


class PairwiseDistances(_Base):
    """All label-pair hull distances (exact, certified) vs the authors' SVC."""

    params = [_ASV_DIST_CASES, ["exact", "svc-baseline"]]
    param_names = ["case", "impl"]

    def setup(self, case, impl):
        self.X, self.labels = make_case(case)
        self._pin()

    def _run(self, impl):
        if impl == "exact":
            return pairwise_hull_distances(self.X, self.labels)
        return svc_baseline_distances(self.X, self.labels)

    def time_distances(self, case, impl):
        self._run(impl)

    def peakmem_distances(self, case, impl):
        self._run(impl)

    def track_max_relative_gap(self, case, impl):
        """Largest (upper - lower) / upper over separable pairs (exact only)."""
        if impl != "exact":
            return 0.0
        _, info = self._run(impl)
        iu = np.triu_indices(len(info.labels), 1)
        sep = info.separable[iu]
        if not sep.any():
            return 0.0
        up, lo = info.upper_bound[iu][sep], info.lower_bound[iu][sep]
        return float(np.max((up - lo) / up))

    track_max_relative_gap.unit = "relative"


# --------------------------------------------------------------------------- script


def _measure(fn):
    """Run fn() in a forked child: (CPU seconds, peak RSS growth in MiB, result)."""
    import multiprocessing as mp
    import resource

    def child(conn):
        with threadpool_limits(N_THREADS):
            base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            t0 = time.process_time()
            out = fn()
            dt = time.process_time() - t0
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        conn.send((dt, (peak - base) / 1024.0, out))
        conn.close()

    ctx = mp.get_context("fork")
    parent, kid = ctx.Pipe(duplex=False)
    p = ctx.Process(target=child, args=(kid,))
    p.start()
    res = parent.recv()
    p.join()
    return res


def _child(case, task):
    """In a (baseline) interpreter: CPU seconds and results of one fast kernel call."""
    import json

    warm_up_kernels()
    X, labels = make_case(case)
    pairs = _pairs(labels)
    if task == "verdicts":
        t, _, S = _measure(lambda: pairwise_separable(X, labels))
        out = [bool(S[g, h]) for g, h in pairs]
    else:
        t, _, (D, _) = _measure(lambda: pairwise_hull_distances(X, labels))
        out = [float(D[g, h]) for g, h in pairs]
    print(json.dumps({"cpu": t, "out": out}))


def _baseline_note(baseline, case, task, t_ours, ours):
    """Time the same call in a baseline checkout: '; baseline T s (ratio R, results ...)'."""
    if not baseline:
        return ""
    import json
    import subprocess

    env = dict(os.environ, PYTHONPATH=os.path.abspath(baseline))
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", case, task],
                          env=env, capture_output=True, text=True, cwd="/")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return f"; baseline failed: {proc.stderr[-200:]!r}"
    rec = json.loads(lines[-1])
    base, ours = np.array(rec["out"], dtype=float), np.array(ours, dtype=float)
    if task == "verdicts":
        same = f"same verdicts: {bool(np.array_equal(base, ours))}"
    else:
        nz = (base > 0) | (ours > 0)
        dev = float(np.max(np.abs(base - ours)[nz] / np.maximum(base, ours)[nz])) if nz.any() else 0.0
        same = f"max rel. difference {dev:.1e}"
    return f"; previous {rec['cpu']:.2f} s (x{rec['cpu'] / t_ours:.2f} ours), {same}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=["a", "b", "c", "d"],
                        help="case letters (default: all)")
    parser.add_argument("--lp-sample", type=int, default=6,
                        help="pairs of case (a) timed for the extrapolated LP baseline")
    parser.add_argument("--baseline", help="directory of a baseline checkout (e.g. the "
                        "previous commit in a git worktree): its kernels are timed too")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "TASK"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(*args.child)
    # Once per process, before the forked children inherit it (not timed below).
    jit_s, jit_mib = warm_up_kernels()
    rows = []
    for case in GEOMETRY_CASES:
        if case[0] not in args.cases:
            continue
        X, labels = make_case(case)
        pairs = _pairs(labels)
        # Verdicts.
        t_fast, m_fast, S = _measure(lambda: pairwise_separable(X, labels))
        fast_v = [bool(S[g, h]) for g, h in pairs]
        if ("verdicts", case) in _SLOW_BASELINE:
            rng = np.random.default_rng(0)
            sample = [pairs[i] for i in sorted(rng.choice(len(pairs), args.lp_sample,
                                                          replace=False))]
            t_lp, m_lp, lp_v = _measure(lambda: lp_baseline_verdicts(X, labels, sample))
            t_lp *= len(pairs) / len(sample)
            note = f"LP extrapolated from {len(sample)} pairs"
            agree = all(bool(S[g, h]) == v for (g, h), v in zip(sample, lp_v))
        else:
            t_lp, m_lp, lp_v = _measure(lambda: lp_baseline_verdicts(X, labels))
            note = ""
            agree = fast_v == [bool(v) for v in lp_v]
        rows.append((case, "verdicts", t_fast, t_lp, m_fast, m_lp,
                     f"{sum(fast_v)}/{len(pairs)} separable; agree={agree} {note}"
                     + _baseline_note(args.baseline, case, "verdicts", t_fast, fast_v)))
        if case in SEPARABLE_CASES:
            t_ex, m_ex, (D, info) = _measure(lambda: pairwise_hull_distances(X, labels))
            t_svc, m_svc, dsvc = _measure(lambda: svc_baseline_distances(X, labels))
            dex = np.array([D[g, h] for g, h in pairs])
            dsvc = np.array(dsvc)
            iu = np.triu_indices(len(info.labels), 1)
            sep = info.separable[iu]
            gap = (float(np.max((info.upper_bound[iu] - info.lower_bound[iu])[sep]
                                / info.upper_bound[iu][sep])) if sep.any() else 0.0)
            both = (dex > 0) & (dsvc > 0)
            rel = float(np.max(np.abs(dsvc[both] - dex[both]) / dex[both])) if both.any() else 0.0
            rows.append((case, "distances", t_ex, t_svc, m_ex, m_svc,
                         f"max cert gap {gap:.1e}; svc zero on {int(np.sum((dex > 0) & (dsvc == 0)))}"
                         f" separable pairs; max |svc-exact|/exact {rel:.1e}; LPs {info.n_lp}"
                         + _baseline_note(args.baseline, case, "distances", t_ex, dex)))
    print(f"CPU seconds; threads pinned to {N_THREADS}; peak = growth of max RSS during the "
          "call (MiB)")
    print(f"one-time load of the compiled kernels (before the timings): {jit_s:.2f} s, "
          f"{jit_mib:.0f} MiB")
    hdr = f"{'case':26s} {'task':9s} {'fast s':>8s} {'base s':>9s} {'ratio':>7s} {'fast MiB':>9s} {'base MiB':>9s}  notes"
    print(hdr)
    print("-" * len(hdr))
    for case, task, tf, tb, mf, mb, note in rows:
        print(f"{case:26s} {task:9s} {tf:8.2f} {tb:9.2f} {tb / tf:7.1f} {mf:9.1f} {mb:9.1f}  {note}")


if __name__ == "__main__":
    main()
