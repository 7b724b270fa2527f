"""Report helpers: the labels Fig. 2 draws."""

import numpy as np

from harness.report.figures import extreme_labels


def test_extreme_labels_skip_labels_without_distance():
    change = np.array([np.nan, 0.5, -0.2, np.nan, 3.0, 1.0, 0.1, 2.0])
    assert extreme_labels(change) == [4, 7, 5, 2, 6, 1]


def test_extreme_labels_lists_each_label_once():
    assert extreme_labels([1.0, np.nan, 2.0]) == [2, 0]
    assert extreme_labels([np.nan, np.nan]) == []
