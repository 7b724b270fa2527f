"""The paper tier's distances unit on the shape that made it unaffordable (issue 20).

At MiniLM's layers 1, 2, 4 and 5 the POS labels NOUN and PROPN are about 1.3e-9 of the
data's radius apart: hulls that touch within floating-point resolution. A distances unit
first checks that the fixed clustering separates every label pair
(:func:`harness.geometry.fixed_clustering_distances`); the LP behind that check once
spent 20 s to 10 minutes on such a pair. ``TouchingLabelPair`` rebuilds that shape:
``k`` labels of ``n`` points in 384-d, well apart but for one pair whose hulls share a
flat face (60 support points) at ``gap`` times the data's radius, in a random 30-d
subspace, rounded to float32 as the stored representations are. Times one unit (check
and distances) at the shipped tolerance. The shape is milder than the real pair: on it
the previous LP oracle (8034d6c) took 2.0 s CPU at 1.3e-9 R where this code takes 0.47 s
(2026-12-07, loaded 2-core machine); the real units, side by side, are in
``benchmarks/paper_tier_budgets.py`` and ``docs/paper-tier.md``.

Script mode prints the time and the verdict per gap::

    python benchmarks/benchmarks/paper_tier_units.py
"""

import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

try:
    from .common import warm_up_kernels
except ImportError:  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import warm_up_kernels

from harness.geometry import fixed_clustering_distances


def touching_labels(gap, k=6, n=1500, d=384, e=30, face=60, seed=0):
    """Points and labels: label 0 and 1 touch (``gap`` times R apart), the rest apart."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((d, e)))
    blocks = []
    for label in range(k):
        Z = rng.standard_normal((n, e)) * 10.0
        if label < 2:  # the two halves of a slab, faces at +-g/2 along axis 0
            sign = 1.0 if label == 0 else -1.0
            Z[:, 0] = sign * (np.abs(Z[:, 0]) * 0.1)
            Z[:face, 0] = 0.0
        else:
            Z[:, 1] += 120.0 * label
        blocks.append(Z)
    Z = np.vstack(blocks)
    R = np.linalg.norm(Z - Z.mean(0), axis=1).max()
    Z[:n, 0] += gap * R / 2
    Z[n:2 * n, 0] -= gap * R / 2
    X = (Z @ basis.T + 3.0).astype(np.float32).astype(np.float64)
    return X, np.repeat(np.arange(k), n)


class TouchingLabelPair:
    """One distances unit on labels with one pair touching at ``gap`` times R."""

    params = [[1.3e-9, 1e-5]]
    param_names = ["gap"]
    timeout = 900
    number = 1
    repeat = 1

    def setup(self, gap):
        warm_up_kernels()
        self.X, self.y = touching_labels(gap)
        self.labels = np.arange(int(self.y.max()) + 1)

    def time_distances_unit(self, gap):
        with threadpool_limits(1):
            fixed_clustering_distances(self.X, self.y, self.labels, min_cluster_size=6)

    def track_separates(self, gap):
        with threadpool_limits(1):
            return int(fixed_clustering_distances(self.X, self.y, self.labels)[0])


if __name__ == "__main__":
    for gap in TouchingLabelPair.params[0]:
        X, y = touching_labels(gap)
        started = time.process_time()
        with threadpool_limits(1):
            separates, _ = fixed_clustering_distances(X, y, np.arange(6), min_cluster_size=6)
        print(f"gap {gap:g} R: separates={separates}, {time.process_time() - started:.2f} s CPU")
