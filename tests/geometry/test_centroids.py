"""Label centroids and their PCA paths."""

import numpy as np
import pytest

from harness.geometry.centroids import (centroid_difference_projection, label_centroids,
                                        pca_projection)


def test_label_centroids_and_pca():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]])
    assert label_centroids(X, [1, 1, 2]).tolist() == [[1.0, 0.0], [0.0, 4.0]]
    with pytest.raises(ValueError, match="no points"):
        label_centroids(X, [1, 1, 2], labels=[1, 3])
    rng = np.random.default_rng(0)
    P = rng.normal(size=(4, 5, 10))
    Z = pca_projection(P)
    assert Z.shape == (4, 5, 2)
    # Joint fit: the projection preserves the variance along the top-2 axes.
    flat = P.reshape(20, 10) - P.reshape(20, 10).mean(0)
    s = np.linalg.svd(flat, compute_uv=False)
    assert np.allclose(np.sort((Z.reshape(20, 2) ** 2).sum(0))[::-1], s[:2] ** 2)
    # translation invariant, deterministic signs
    assert np.allclose(pca_projection(P + 3.0), Z)
    before = rng.normal(size=(3, 5, 10))
    after = before + rng.normal(size=(3, 5, 10)) * np.array([1, 2, 4])[:, None, None]
    M = centroid_difference_projection(before, after)
    assert M.shape == (3, 5, 2)
    spans = np.ptp(M, axis=1).max(axis=1)
    assert spans[0] < spans[2]  # bigger moves, bigger spread
