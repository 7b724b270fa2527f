r"""Spatial similarity: the Pearson correlation of two label-distance vectors.

Zhou & Srikumar (ACL 2022) compare two representation spaces by correlating their
label-pair distances over the same label pairs (train vs test, fine-tuned vs original).
The authors' code does not contain this step; here both sides always use exactly the
same label pairs (:func:`spatial_similarity_from_matrices` aligns them by label).
"""

from __future__ import annotations

import warnings

import numpy as np

from harness.exceptions import HarnessWarning

from ._scaling import unit_scale
from .label_distances import distance_vector

__all__ = ["spatial_similarity", "spatial_similarity_from_matrices"]


def spatial_similarity(d1, d2):
    r"""Pearson correlation of two distance vectors over the same label pairs.

    .. math::

        r = \frac{\sum_k (d_{1k} - \bar d_1)(d_{2k} - \bar d_2)}
        {\|d_1 - \bar d_1\|\, \|d_2 - \bar d_2\|}

    Parameters
    ----------
    d1, d2 : array-like of shape (n_pairs,)
        Aligned: entry ``k`` of both is the same label pair (use
        :func:`spatial_similarity_from_matrices` to align by label).

    Returns
    -------
    float
        In [-1, 1]; ``nan`` with a :class:`HarnessWarning` when either vector is
        constant (``norm(x - mean(x)) < 1e-13 * abs(mean(x))``, or exactly constant),
        as :func:`scipy.stats.pearsonr` does.

    Raises
    ------
    ValueError
        Different lengths, fewer than 2 pairs, or non-finite entries.
    """
    x = np.asarray(d1, dtype=np.float64).ravel()
    y = np.asarray(d2, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"The 'd1' and 'd2' parameters of spatial_similarity must have the same "
                         f"length. Got {x.size} and {y.size}.")
    if x.size < 2:
        raise ValueError(f"spatial_similarity needs at least 2 label pairs. Got {x.size}.")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("spatial_similarity got nan or infinite distances; drop or fill "
                         "missing pairs first.")
    x, y = unit_scale(x), unit_scale(y)  # r ignores scale; squares must not overflow
    xm = x - x.mean()
    ym = y - y.mean()
    nx, ny = np.linalg.norm(xm), np.linalg.norm(ym)
    for v, nv, vec in (("d1", nx, x), ("d2", ny, y)):
        if nv == 0 or nv < 1e-13 * abs(vec.mean()):
            warnings.warn(f"{v} is constant: the correlation is not defined (nan).",
                          HarnessWarning, stacklevel=2)
            return float("nan")
    r = float(np.dot(xm / nx, ym / ny))
    return float(np.clip(r, -1.0, 1.0))  # clip rounding error, as scipy does


def spatial_similarity_from_matrices(D1, labels1, D2, labels2, *, labels=None,
                                     missing="raise"):
    """Spatial similarity of two label distance matrices, aligned by label.

    The correlation runs over the pairs ``i < j`` of one label list in sorted-string
    order, read from both matrices, so both sides use exactly the same label pairs.

    Parameters
    ----------
    D1, D2 : ndarray of shape (n1, n1), (n2, n2)
    labels1, labels2 : sequence
        Labels of the rows of `D1` and `D2`.
    labels : sequence, optional
        Labels to use; must be present on both sides. Default: all labels, which must
        then be the same set on both sides (a label present on one side only raises,
        naming it; pass ``labels=`` with the intersection to compare anyway).
    missing : {"raise", "zero", "drop"}, default="raise"
        Pairs with ``nan`` on either side: raise, count as 0 (authors), or drop the
        pair from both vectors.

    Returns
    -------
    r : float
    """
    l1 = [str(v) for v in np.asarray(labels1).tolist()]
    l2 = [str(v) for v in np.asarray(labels2).tolist()]
    if labels is None:
        only1 = sorted(set(l1) - set(l2))
        only2 = sorted(set(l2) - set(l1))
        if only1 or only2:
            raise ValueError(
                "The two label sets differ (only in the first: "
                f"{only1}; only in the second: {only2}). Pass labels=... (e.g. the "
                "intersection) to correlate over the shared label pairs.")
        use = l1
    else:
        use = [str(v) for v in labels]
        missing_lab = sorted((set(use) - set(l1)) | (set(use) - set(l2)))
        if missing_lab:
            raise ValueError(f"The 'labels' parameter of spatial_similarity_from_matrices lists "
                             f"labels absent from one side: {missing_lab}.")
    use = sorted(set(use))
    i1 = [l1.index(v) for v in use]
    i2 = [l2.index(v) for v in use]
    D1 = np.asarray(D1, dtype=np.float64)[np.ix_(i1, i1)]
    D2 = np.asarray(D2, dtype=np.float64)[np.ix_(i2, i2)]
    inner = "raise" if missing == "raise" else ("zero" if missing == "zero" else "drop")
    d1 = distance_vector(D1, use, use, missing=inner)
    d2 = distance_vector(D2, use, use, missing=inner)
    if missing == "drop":
        ok = ~(np.isnan(d1) | np.isnan(d2))
        d1, d2 = d1[ok], d2[ok]
    return spatial_similarity(d1, d2)
