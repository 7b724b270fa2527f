"""Geometry kernels: separability, hull distances (and clustering)."""

from .hull_distance import (
    HullDistance,
    PairwiseHullInfo,
    hull_distance,
    pairwise_hull_distances,
    pairwise_separable,
    svc_compat_distance,
)
from .separability import are_separable, certified_gap, separating_hyperplane
