r"""Label centroids and their 2-D PCA paths (the paper's Figs. 3 and 5).

Zhou & Srikumar (ACL 2022), Sec. 4: how far and in which direction each label's
centroid moves during fine-tuning, drawn on the first two principal axes.
"""

from __future__ import annotations

import numpy as np

from ._scaling import to_user_units, to_working_scale, working_exponent
from ._validation import check_points

__all__ = ["label_centroids", "pca_projection", "centroid_difference_projection"]


def label_centroids(X, y, labels=None):
    """Mean of each label's points.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    labels : sequence, optional
        Row order of the output; default ``np.unique(y)``. A label without points raises.

    Returns
    -------
    ndarray of shape (n_labels, n_features)
    """
    X = check_points(X, name="X", caller="label_centroids")
    scale = working_exponent(X)  # a mean of 1e300s overflows in the sum: see _scaling
    X = to_working_scale(X, scale)
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"The 'y' parameter of label_centroids must have shape ({X.shape[0]},). "
                         f"Got {y.shape}.")
    labels = np.unique(y) if labels is None else np.asarray(labels)
    out = np.empty((len(labels), X.shape[1]))
    for i, lab in enumerate(labels):
        m = y == lab
        if not m.any():
            raise ValueError(f"label_centroids: label {lab!r} has no points.")
        out[i] = X[m].mean(axis=0)
    return to_user_units(out, scale)


def _pca2(Z):
    """2-D PCA coordinates of the rows of Z (centred SVD; sign: largest loading > 0)."""
    mu = Z.mean(axis=0)
    U, S, Vt = np.linalg.svd(Z - mu, full_matrices=False)
    k = min(2, Vt.shape[0])
    V = Vt[:k]
    # Deterministic signs, as sklearn's svd_flip(u_based_decision=False).
    signs = np.sign(V[np.arange(k), np.argmax(np.abs(V), axis=1)])
    signs[signs == 0] = 1.0
    V = V * signs[:, None]
    out = np.zeros((Z.shape[0], 2))
    out[:, :k] = (Z - mu) @ V.T
    return out


def pca_projection(points_over_time):
    """2-D PCA of centroid paths, fitted jointly on every snapshot.

    Parameters
    ----------
    points_over_time : array-like of shape (n_snapshots, n_labels, n_features)
        Label centroids at each snapshot.

    Returns
    -------
    ndarray of shape (n_snapshots, n_labels, 2)
        Coordinates on the first two principal axes of all snapshots' centroids
        together (so paths are comparable across snapshots). Axis signs are fixed
        (largest-magnitude loading positive).
    """
    P = np.asarray(points_over_time, dtype=np.float64)
    if P.ndim != 3:
        raise ValueError("The 'points_over_time' parameter of pca_projection must have shape "
                         f"(n_snapshots, n_labels, n_features). Got {P.shape}.")
    s, n, d = P.shape
    return _pca2(P.reshape(s * n, d)).reshape(s, n, 2)


def centroid_difference_projection(before, after):
    """2-D PCA of per-label centroid moves (after - before), fitted per layer.

    Parameters
    ----------
    before, after : array-like of shape (n_layers, n_labels, n_features)

    Returns
    -------
    ndarray of shape (n_layers, n_labels, 2)
        Layer ``l`` is the PCA of ``after[l] - before[l]`` (fitted on that layer only;
        PCA does not rescale, so ranges are comparable across layers, as in the
        paper's Figure on lower vs higher layers).
    """
    B = np.asarray(before, dtype=np.float64)
    A = np.asarray(after, dtype=np.float64)
    if A.shape != B.shape or A.ndim != 3:
        raise ValueError("The 'before' and 'after' parameters of centroid_difference_projection "
                         f"must have the same shape (n_layers, n_labels, n_features). Got "
                         f"{B.shape} and {A.shape}.")
    return np.stack([_pca2(A[layer] - B[layer]) for layer in range(A.shape[0])])
