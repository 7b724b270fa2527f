"""The hand-written hull-distance solver against maintained QP solvers, same certificate.

The hull distance is a convex QP. Our solver (:mod:`harness.geometry._active_set`, a
primal active set on the two weight simplices) is timed against library solvers on
the same pairs, in the same run, one BLAS thread:

* ``quadprog`` (Goldfarb-Idnani dual active set, dense), directly;
* ``daqp`` (dual active set), through qpsolvers;
* ``clarabel`` (interior point), through qpsolvers;
* ``highs`` (HiGHS' QP: primal active set), through qpsolvers.

The libraries solve the hard-margin SVM on the pair's centred and scaled points (as
our solver sees them), the form that suits them (``d + 1`` variables, one row per
point; its dual is the nearest-point problem):

.. math::

    \\min_{w, b} \\tfrac12 \\|w\\|^2 + \\tfrac{\\varepsilon}{2} b^2
    \\quad \\text{s.t.} \\quad P w + b \\ge 1, \\quad Q w + b \\le -1,

with :math:`\\varepsilon = 10^{-8}` where a solver needs a positive definite Hessian
(quadprog, DAQP). **Every library result goes through our certificate**: the lower
bound is :func:`~harness.geometry.certificates.certified_gap` along
:math:`w / \\|w\\|`, the upper bound the length of the pair of points given by the
normalised multipliers of the two sides; the relative gap ``(ub - lb) / ub`` is the
certified accuracy (ours: ``rtol = 1e-6`` by construction, ~1e-12 in practice). A pair
whose SVM is infeasible (the hulls intersect) is settled by our LP oracle
(:func:`~harness.geometry.separability.separating_hyperplane`), and its time counts.

The libraries are benchmark-only dependencies (``pip install -e '.[bench-qp]'``);
cells whose solver is not installed are skipped.

Script mode (the table of ``docs/benchmarks.md``)::

    python benchmarks/benchmarks/geometry_qp.py [--cases a b c d] [--sample 12]
        [--real POINTS.npz ...]

``--sample`` caps the pairs timed per case for the libraries (seeded; the table says
so); ours runs on every pair, per pair and batched (``pairwise_hull_distances``).
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

try:
    from .common import GEOMETRY_CASES, make_case, warm_up_kernels
except ImportError:  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import GEOMETRY_CASES, make_case, warm_up_kernels

from harness.geometry import hull_distance, pairwise_hull_distances, separating_hyperplane
from harness.geometry.certificates import center_and_scale, certified_gap

LIBRARIES = ("quadprog", "daqp", "clarabel", "highs")
_EPS_B = 1e-8  # regularisation of the offset for solvers that need a definite Hessian


def _svm_data(A, B):
    (P, Q), _, R = center_and_scale(A, B)
    return P, Q, R


def _certify(P, Q, w, z):
    """Our certificate of a library's answer: (lower, upper) on the scaled data."""
    nw = float(np.linalg.norm(w))
    lb = certified_gap(P, Q, w / nw)[0] if nw > 0 else -np.inf
    z = np.clip(np.asarray(z, float), 0.0, None)
    zp, zq = z[:P.shape[0]], z[P.shape[0]:]
    if zp.sum() <= 0 or zq.sum() <= 0:
        return lb, np.inf
    ub = float(np.linalg.norm((zp / zp.sum()) @ P - (zq / zq.sum()) @ Q))
    return lb, ub


def _quadprog(P, Q):
    import quadprog

    d = P.shape[1]
    H = np.eye(d + 1)
    H[d, d] = _EPS_B
    C = np.hstack([np.vstack([P, -Q]),
                   np.r_[np.ones(len(P)), -np.ones(len(Q))][:, None]]).T.copy()
    try:
        x, _, _, _, lag, _ = quadprog.solve_qp(H, np.zeros(d + 1), C, np.ones(C.shape[1]), 0)
    except ValueError:  # "constraints are inconsistent, no solution"
        return None
    return x[:d], lag


def _qpsolvers(solver):
    def solve(P, Q):
        from qpsolvers import Problem, solve_problem

        d = P.shape[1]
        H = np.eye(d + 1)
        H[d, d] = _EPS_B if solver == "daqp" else 0.0
        G = np.vstack([np.hstack([-P, -np.ones((len(P), 1))]),
                       np.hstack([Q, np.ones((len(Q), 1))])])
        if solver in ("clarabel", "highs"):  # sparse interfaces: pass CSC, as advised
            import scipy.sparse as sp

            H, G = sp.csc_matrix(H), sp.csc_matrix(G)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sol = solve_problem(Problem(H, np.zeros(d + 1), G, -np.ones(G.shape[0])),
                                solver=solver, verbose=False)
        if not sol.found or sol.x is None:
            return None
        return sol.x[:d], sol.z

    return solve


SOLVE = {"quadprog": _quadprog, "daqp": _qpsolvers("daqp"), "clarabel": _qpsolvers("clarabel"),
         "highs": _qpsolvers("highs")}


def available(lib):
    """Whether a library's Python package imports."""
    try:
        __import__("quadprog" if lib == "quadprog" else "qpsolvers")
        if lib != "quadprog":
            from qpsolvers import available_solvers

            return lib in available_solvers
        return True
    except ImportError:
        return False


def library_pair(lib, A, B):
    """One pair through a library and our certificate: (verdict, distance, rel gap)."""
    P, Q, R = _svm_data(A, B)
    out = SOLVE[lib](P, Q)
    if out is None:  # infeasible SVM (or a failure): the LP decides
        plane = separating_hyperplane(A, B)
        if plane is None:
            return False, 0.0, 0.0
        return True, np.nan, np.inf  # separable but the library gave no answer
    lb, ub = _certify(P, Q, *out)
    if not lb > 0:  # no certified positive gap: the LP decides, as for ours
        if separating_hyperplane(A, B, upper_bound=ub * R) is None:
            return False, 0.0, 0.0
        return True, ub * R, np.inf
    return True, ub * R, (ub - lb) / ub


def _pairs(labels):
    k = int(labels.max()) + 1
    return [(g, h) for g in range(k) for h in range(g + 1, k)]


def _cpu(fn):
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


# ----------------------------------------------------------------------------- asv
class HullDistanceQP:
    """One pair per case (the first two labels): ours vs each library, CPU time."""

    params = [["c-3000x128x10-sep", "d-1000x16x3-ovl"], ["ours"] + list(LIBRARIES)]
    param_names = ["case", "impl"]
    timeout = 600
    number = 1
    repeat = 1
    warmup_time = 0.0

    def setup(self, case, impl):
        if impl != "ours" and not available(impl):
            raise NotImplementedError(f"{impl} is not installed (extra 'bench-qp')")
        X, y = make_case(case)
        self.A, self.B = X[y == 0], X[y == 1]
        warm_up_kernels()
        self._limits = threadpool_limits(1)

    def teardown(self, case, impl):
        self._limits.restore_original_limits()

    def _run(self, impl):
        if impl == "ours":
            r = hull_distance(self.A, self.B)
            gap = (r.upper_bound - r.lower_bound) / r.upper_bound if r.separable else 0.0
            return r.separable, r.distance, gap
        return library_pair(impl, self.A, self.B)

    def time_pair(self, case, impl):
        self._run(impl)

    def track_certified_gap(self, case, impl):
        return float(self._run(impl)[2])

    track_certified_gap.unit = "relative"


# -------------------------------------------------------------------------- script
def run_case(name, X, y, libs, sample, rng):
    pairs = _pairs(y)
    rows = []
    t_batch, (D, info) = _cpu(lambda: pairwise_hull_distances(X, y))
    ours_pairs = []
    for g, h in pairs:
        t, r = _cpu(lambda: hull_distance(X[y == g], X[y == h]))
        gap = (r.upper_bound - r.lower_bound) / r.upper_bound if r.separable else 0.0
        ours_pairs.append((t, r.separable, r.distance, gap))
    t_ours = sum(p[0] for p in ours_pairs)
    picked = (list(range(len(pairs))) if sample is None or sample >= len(pairs)
              else sorted(rng.choice(len(pairs), sample, replace=False).tolist()))
    t_ours_s = sum(ours_pairs[i][0] for i in picked)
    sep = [p[1] for p in ours_pairs]
    rows.append((name, "ours (batched)", len(pairs), t_batch, t_batch / len(pairs), None,
                 float(np.nanmax([p[3] for p in ours_pairs])), sum(sep), ""))
    rows.append((name, "ours (per pair)", len(pairs), t_ours, t_ours / len(pairs), 1.0,
                 float(np.nanmax([p[3] for p in ours_pairs])), sum(sep), ""))
    for lib in libs:
        times, gaps, agree, dev = [], [], 0, 0.0
        for i in picked:
            g, h = pairs[i]
            try:
                t, (s, dist, gap) = _cpu(lambda: library_pair(lib, X[y == g], X[y == h]))
            except Exception as err:  # a library failure is a result too
                times.append(np.nan)
                gaps.append(np.inf)
                print(f"  {lib} failed on pair {pairs[i]}: {err!r}", flush=True)
                continue
            times.append(t)
            gaps.append(gap)
            agree += s == ours_pairs[i][1]
            if s and np.isfinite(dist) and ours_pairs[i][2] > 0:
                dev = max(dev, abs(dist - ours_pairs[i][2]) / ours_pairs[i][2])
        t_lib = float(np.nansum(times))
        note = f"verdicts agree {agree}/{len(picked)}; max |dist - ours| / ours {dev:.1e}"
        rows.append((name, lib, len(picked), t_lib, t_lib / len(picked), t_lib / t_ours_s,
                     float(np.max(gaps)) if gaps else np.nan, None, note))
        print(f"  {name} {lib}: {t_lib:.2f} s on {len(picked)} pairs", flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=["a", "b", "c", "d"])
    parser.add_argument("--real", nargs="*", default=[],
                        help=".npz files with X (n, d) and y (n,) labels")
    parser.add_argument("--sample", type=int, default=12,
                        help="pairs per case timed for the libraries (default 12)")
    parser.add_argument("--libs", nargs="*", default=list(LIBRARIES))
    args = parser.parse_args(argv)
    libs = [lib for lib in args.libs if available(lib)]
    missing = sorted(set(args.libs) - set(libs))
    jit_s, _ = warm_up_kernels()
    rng = np.random.default_rng(0)
    rows = []
    with threadpool_limits(1):
        for case in GEOMETRY_CASES:
            if case[0] in args.cases:
                X, y = make_case(case)
                rows += run_case(case, X, y, libs, args.sample, rng)
        for path in args.real:
            # No pickles from a file given on the command line: save y as a string or int array.
            z = np.load(path, allow_pickle=False)
            _, y = np.unique(z["y"], return_inverse=True)
            rows += run_case(os.path.basename(path), np.asarray(z["X"], float), y.ravel(),
                             libs, args.sample, rng)
    print(f"CPU seconds, 1 BLAS thread; compiled kernels loaded first ({jit_s:.2f} s); "
          f"libraries not installed: {missing or 'none'}")
    print("ratio = library / ours per pair, on the same pairs; certified gap = largest "
          "(upper - lower) / upper over separable pairs (inf: no certified answer)")
    hdr = (f"{'case':26s} {'solver':16s} {'pairs':>5s} {'CPU s':>8s} {'s/pair':>8s} "
           f"{'ratio':>6s} {'cert. gap':>9s}  notes")
    print(hdr)
    print("-" * len(hdr))
    for case, lib, n, t, tp, ratio, gap, nsep, note in rows:
        r = "" if ratio is None else f"{ratio:6.1f}"
        extra = note or (f"{nsep}/{n} separable" if nsep is not None else "")
        print(f"{case:26s} {lib:16s} {n:5d} {t:8.2f} {tp:8.4f} {r:>6s} {gap:9.1e}  {extra}")


if __name__ == "__main__":
    main()
