"""Quick micro-benchmarks of the geometry kernels (pytest-benchmark).

``make bench-quick`` times them, saves the run in ``.benchmarks/`` and compares it with
the previous saved run: the per-change ratio. ``make test`` (CI) runs each once with
``--benchmark-disable``, so the asserts keep the kernels correct and the timed code
working. The inputs are the asv cases (c) and (d) and its two small DirectProbe sets
(``benchmarks/benchmarks/``), a few seconds in all; asv keeps the history.
"""

import numpy as np
import pytest

from harness.geometry import cluster_labels, hull_distance, pairwise_hull_distances
from harness.geometry import pairwise_separable

from bench_inputs import common, geometry_clustering

CASES = ["c-3000x128x10-sep", "d-1000x16x3-ovl"]


@pytest.fixture(scope="module", params=CASES)
def case(request):
    X, labels = common.make_case(request.param)
    return request.param, X, labels


def test_pairwise_verdicts(benchmark, case):
    name, X, labels = case
    verdicts = benchmark(pairwise_separable, X, labels)
    k = len(np.unique(labels))
    off_diagonal = verdicts[~np.eye(k, dtype=bool)]
    assert off_diagonal.all() if name.endswith("-sep") else not off_diagonal.any()


def test_pairwise_distances(benchmark, case):
    name, X, labels = case
    D, info = benchmark(pairwise_hull_distances, X, labels)
    iu = np.triu_indices(len(info.labels), 1)
    if name.endswith("-sep"):  # certified: the bounds agree to 1e-6 relative
        up, lo = info.upper_bound[iu], info.lower_bound[iu]
        assert (D[iu] > 0).all() and np.max((up - lo) / up) <= 1e-6
    else:
        assert np.all(D[iu] == 0)


def test_hull_distance_one_pair(benchmark):
    X, labels = common.make_case("c-3000x128x10-sep")
    A, B = X[labels == 0], X[labels == 1]
    result = benchmark(hull_distance, A, B)
    assert 0 < result.distance < np.linalg.norm(A.mean(0) - B.mean(0))


@pytest.mark.parametrize("dataset, linear", [("separable", True), ("overlapping", False)])
def test_directprobe(benchmark, dataset, linear):
    X, y = geometry_clustering.DATASETS[dataset]()
    result = benchmark.pedantic(cluster_labels, (X, y), rounds=3, iterations=1)
    assert (result.n_clusters == len(np.unique(y))) is linear
    for cluster in range(result.n_clusters):  # every cluster is label-pure
        assert len(set(y[result.assignment == cluster].tolist())) == 1
