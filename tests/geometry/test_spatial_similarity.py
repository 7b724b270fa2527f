"""Spatial similarity: Pearson correlation of aligned label-distance vectors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import pearsonr

from harness.exceptions import HarnessWarning
from harness.geometry.spatial_similarity import (spatial_similarity,
                                                 spatial_similarity_from_matrices)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=30), st.integers(0, 2**31))
def test_spatial_similarity_matches_pearsonr(x, seed):
    x = np.array(x)
    y = x * 0.5 + np.random.default_rng(seed).normal(size=x.size)
    if np.ptp(x) < 1e-6:
        return
    assert spatial_similarity(x, y) == pytest.approx(pearsonr(x, y)[0], abs=1e-10)


def test_spatial_similarity_constant_and_errors():
    with pytest.warns(HarnessWarning, match="constant"):
        assert np.isnan(spatial_similarity([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="same length"):
        spatial_similarity([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="at least 2"):
        spatial_similarity([1.0], [2.0])
    with pytest.raises(ValueError, match="nan"):
        spatial_similarity([1.0, np.nan], [1.0, 2.0])


def test_spatial_similarity_aligns_labels():
    rng = np.random.default_rng(1)
    A = rng.random((4, 4))
    D1 = A + A.T
    np.fill_diagonal(D1, 0)
    l1 = ["a", "b", "c", "d"]
    perm = [2, 0, 3, 1]
    D2 = D1[np.ix_(perm, perm)]
    l2 = [l1[i] for i in perm]
    # Same geometry, rows in another order: correlation 1.
    assert spatial_similarity_from_matrices(D1, l1, D2, l2) == pytest.approx(1.0)
    # A label on one side only: a clear error, or an explicit intersection.
    D3 = np.pad(D2, (0, 1), constant_values=1.0)
    np.fill_diagonal(D3, 0)
    with pytest.raises(ValueError, match=r"only in the second: \['e'\]"):
        spatial_similarity_from_matrices(D1, l1, D3, l2 + ["e"])
    r = spatial_similarity_from_matrices(D1, l1, D3, l2 + ["e"], labels=l1)
    assert r == pytest.approx(1.0)
    with pytest.raises(ValueError, match="absent from one side"):
        spatial_similarity_from_matrices(D1, l1, D3, l2 + ["e"], labels=l1 + ["e"])
