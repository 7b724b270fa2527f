"""Benchmarks of the similarity measures (``harness.similarity``) at the paper tier's size.

``n = 17,000`` examples of ``d = 384`` features (minilm-l6's hidden size; about the
number of PUD training words the paper tier compares), float64, BLAS pinned to one
thread (threadpoolctl):

* ``cka`` / ``cka-debiased``: Gram-free linear CKA, :math:`O(n d^2)` time, :math:`O(d^2)`
  extra memory; ``cka-gram`` (``HARNESS_BENCH_FULL=1`` only: two 17k x 17k Gram matrices,
  4.6 GB) is the :math:`O(n^2 d)` form for comparison;
* ``minibatch-cka``: batches of 1,000 examples, the memory-bounded estimator;
* ``procrustes``: the angular shape distance (cross-product, SVD, aligned residual).

RSA is quadratic in ``n``: its RDMs have ``n (n - 1) / 2`` entries (1.4e8 at 17k, 1.2 GB
per float64 RDM, plus ranks). ``RSA`` times it on subsamples of 1,000 and 2,000 examples
(and 4,000 with ``HARNESS_BENCH_FULL=1``); time grows about 4x per doubling, so 17k costs
about 72x (17/2)^2 the 2,000-example time, with memory to match; the script mode prints
that extrapolation, labelled as such.

Run as a script for a timing table::

    python benchmarks/benchmarks/similarity.py
"""

import os
import sys
import time

from threadpoolctl import threadpool_limits

try:
    from .common import is_full, representation_pair
except ImportError:  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import is_full, representation_pair

from harness.similarity import angular_shape_distance, linear_cka, minibatch_cka, rsa

N, D = 17_000, 384
MEASURES = {
    "cka": lambda X, Y: linear_cka(X, Y, method="features"),
    "cka-debiased": lambda X, Y: linear_cka(X, Y, debiased=True, method="features"),
    "cka-gram": lambda X, Y: linear_cka(X, Y, debiased=True, method="gram"),
    "minibatch-cka": lambda X, Y: minibatch_cka(X, Y, batch_size=1000, rng=0),
    "procrustes": angular_shape_distance,
}


class SimilarityMeasures:
    params = [list(MEASURES)]
    param_names = ["measure"]
    timeout = 600

    def setup_cache(self):
        return representation_pair(N, D)

    def setup(self, data, measure):
        if measure == "cka-gram" and not is_full():
            raise NotImplementedError("cka-gram at 17k needs 4.6 GB: HARNESS_BENCH_FULL=1")
        self.limits = threadpool_limits(1)

    def teardown(self, data, measure):
        self.limits.unregister()

    def time_measure(self, data, measure):
        MEASURES[measure](*data)

    def peakmem_measure(self, data, measure):
        MEASURES[measure](*data)


class RSA:
    params = [[1000, 2000, 4000], ["corr", "spearman"]]
    param_names = ["n_subsample", "method"]
    timeout = 600

    def setup(self, n, method):
        if n > 2000 and not is_full():
            raise NotImplementedError("RSA beyond 2,000 examples: HARNESS_BENCH_FULL=1")
        X, Y = representation_pair(N, D)
        self.X, self.Y = X[:n], Y[:n]
        self.limits = threadpool_limits(1)

    def teardown(self, n, method):
        self.limits.unregister()

    def time_rsa(self, n, method):
        rsa(self.X, self.Y, metric="euclidean", method=method)


def _table():
    X, Y = representation_pair(N, D)
    print(f"n={N}, d={D}, float64, 1 BLAS thread")
    with threadpool_limits(1):
        for name, f in MEASURES.items():
            if name == "cka-gram" and not is_full():
                print(f"{name:>16}: skipped (4.6 GB; HARNESS_BENCH_FULL=1)")
                continue
            started = time.perf_counter()
            value = f(X, Y)
            print(f"{name:>16}: {time.perf_counter() - started:8.2f} s  (value {value:.6f})")
        for method in ("corr", "spearman"):
            for n in (1000, 2000):
                started = time.perf_counter()
                rsa(X[:n], Y[:n], method=method)
                seconds = time.perf_counter() - started
                print(f"{'rsa-' + method:>16}: {seconds:8.2f} s  at n={n} (measured)")
            print(f"{'rsa-' + method:>16}: {seconds * (N / 2000) ** 2:8.0f} s  at n={N} "
                  "(extrapolated as n^2 from n=2000, not measured)")


if __name__ == "__main__":
    _table()
