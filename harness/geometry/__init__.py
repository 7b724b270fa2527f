"""Geometry kernels: separability, hull distances, DirectProbe clustering, analysis metrics.

Pure functions and small estimators over NumPy arrays; no I/O. The slow, obviously
correct twins they are tested against are not installed: they live with the tests, in
``tests/geometry/geometry_reference.py`` and ``geometry_reference_clustering.py``.
"""

from .clustering import (
    ClusteringResult,
    DirectProbe,
    cluster_labels,
    find_cross_label_duplicates,
    partition_from_merges,
)
from .hull_distance import (
    HullDistance,
    PairwiseHullInfo,
    hull_distance,
    pairwise_hull_distances,
    pairwise_separable,
    svc_compat_distance,
)
from .separability import are_separable, certified_gap, separating_hyperplane
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
