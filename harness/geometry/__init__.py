"""Geometry kernels: separability, hull distances, DirectProbe clustering, analysis metrics.

Pure functions and small estimators over NumPy arrays; no I/O. The slow, obviously
correct twins they are tested against are not installed: they live with the tests, in
``tests/geometry/geometry_reference.py`` and ``geometry_reference_clustering.py``.
"""

import pkgutil

from .clustering import (
    ClusteringResult,
    DirectProbe,
    cluster_labels,
    find_cross_label_duplicates,
    partition_from_merges,
)
from .certificates import certified_gap
from .hull_distance import HullDistance, hull_distance
from .pairwise import PairwiseHullInfo, pairwise_hull_distances, pairwise_separable
from .separability import are_separable, separating_hyperplane
from .svc_compat import svc_compat_distance
from .similarity import (
    centroid_difference_projection,
    distance_vector,
    fixed_clustering_distances,
    label_centroids,
    label_distance_matrix,
    min_distance_per_label,
    pca_projection,
    sorted_label_order,
    spatial_similarity,
    spatial_similarity_from_matrices,
)

# Every module of this package, by name: the code a cached geometry result depends on
# (harness.analyses fingerprints them). Listed from the package directory, so a new
# module is included without anyone having to remember it.
KERNEL_MODULES = tuple(sorted(f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__)))
