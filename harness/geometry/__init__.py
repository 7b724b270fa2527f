"""Geometry kernels: separability, hull distances, DirectProbe clustering, label metrics.

Pure functions and small estimators over NumPy arrays; no I/O. One idea per module:

==========================  ==========================================================
module                      what it holds
==========================  ==========================================================
``certificates``            the centring/scaling step; rigorous float64 gaps
                            (``certified_gap`` and its batched twin)
``separability``            the LP oracle: a verified separating plane, or none
``hull_distance``           the certified distance of one pair (driver + certification)
``_active_set``             the primal active-set QP solver of the hull distance
``_active_set_kernels``     its compiled minor cycles (numba)
``_wolfe``                  Wolfe's algorithm on the Minkowski difference (fallback)
``_polish``                 extended-precision polish for nearly touching hulls
``pairwise``                all pairs of groups, batched: distances and verdicts
``svc_compat``              the authors' SVC formula, for comparison
``_agglomeration``          centroid-linkage merge engine (Lance-Williams updates)
``_oracle``                 DirectProbe's exact overlap oracle and its caches
``_phase_search``           DirectProbe's search for the first overlapping state
``_phase_greedy``           DirectProbe's checked greedy phase
``clustering``              ``cluster_labels`` and the ``DirectProbe`` estimator
``label_distances``         label distance matrices and vectors, minimum distances
``spatial_similarity``      correlation of two distance vectors
``centroids``               label centroids and their PCA paths
==========================  ==========================================================

The slow, obviously correct twins the kernels are tested against are not installed:
they live with the tests, in ``tests/geometry/geometry_reference.py`` and
``geometry_reference_clustering.py``.
"""

from .centroids import centroid_difference_projection, label_centroids, pca_projection
from .certificates import certified_gap
from .clustering import (
    ClusteringResult,
    DirectProbe,
    cluster_labels,
    find_cross_label_duplicates,
    partition_from_merges,
)
from .hull_distance import HullDistance, hull_distance
from .label_distances import (
    distance_vector,
    fixed_clustering_distances,
    label_distance_matrix,
    min_distance_per_label,
    sorted_label_order,
)
from .pairwise import PairwiseHullInfo, pairwise_hull_distances, pairwise_separable
from .separability import SEPARABILITY_TOL, are_separable, separating_hyperplane
from .spatial_similarity import spatial_similarity, spatial_similarity_from_matrices
from .svc_compat import svc_compat_distance
