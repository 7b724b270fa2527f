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
"""

import os

import numpy as np
from threadpoolctl import threadpool_limits

from harness.geometry.clustering import cluster_labels

from .common import warm_up_kernels
from .common_clustering import gaussian_blobs, low_rank_labels, pos_like

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
