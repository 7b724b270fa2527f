r"""Label distances of the fine-tuning paper, on top of a DirectProbe clustering.

Zhou & Srikumar (ACL 2022), Sec. 2-4, and the authors' analysis code:

* the label-pair distance matrix: the mean hull distance over the cluster pairs of two
  labels (:func:`label_distance_matrix`); with one cluster per label, the hull distance
  between the labels;
* the distance vector: its upper triangle (``i < j``) in one fixed label order, the
  layout of :func:`scipy.spatial.distance.pdist` (:func:`distance_vector`);
* a label's minimum distance: its row minimum (:func:`min_distance_per_label`);
* the fixed-clustering mode across fine-tuning snapshots
  (:func:`fixed_clustering_distances`).

Pure functions: arrays in, arrays (or small tuples) out.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from ._scaling import to_user_units, to_working_scale, working_exponent
from ._validation import check_points
from .separability import SEPARABILITY_TOL
from .pairwise import pairwise_hull_distances, pairwise_separable

__all__ = [
    "label_distance_matrix",
    "distance_vector",
    "min_distance_per_label",
    "fixed_clustering_distances",
    "sorted_label_order",
]

_METHODS = ("exact", "svc-compat")
_MISSING = ("raise", "zero", "drop")


def sorted_label_order(labels):
    """Labels sorted as strings (the authors' order), as a list of the original values."""
    return sorted(np.asarray(labels).tolist(), key=str)


def _check_clustering(X, assignment, cluster_labels, caller):
    X = check_points(X, name="X", caller=caller)
    a = np.asarray(assignment)
    if a.ndim != 1 or a.shape[0] != X.shape[0]:
        raise ValueError(f"The 'assignment' parameter of {caller} must be a 1-D array with one "
                         f"entry per row of X ({X.shape[0]}). Got shape {a.shape}.")
    if cluster_labels is None:
        # Labels given directly: one cluster per label.
        cl, a = np.unique(a, return_inverse=True)
        return X, a.ravel().astype(np.int64), cl
    cl = np.asarray(cluster_labels)
    if a.dtype.kind not in "iu":
        raise ValueError(f"The 'assignment' parameter of {caller} must hold integer cluster "
                         f"indices when 'cluster_labels' is given. Got dtype {a.dtype}.")
    if a.size and (a.max() >= cl.shape[0] or a.min() < -1):
        raise ValueError(f"The 'assignment' parameter of {caller} must hold cluster indices in "
                         f"[-1, {cl.shape[0] - 1}] (-1: dropped point). Got range "
                         f"[{a.min()}, {a.max()}].")
    return X, a.astype(np.int64), cl


def label_distance_matrix(X, assignment, cluster_labels=None, labels=None, *,
                          min_cluster_size=None, method="exact", tol=SEPARABILITY_TOL):
    r"""Label-pair distance matrix: mean hull distance over the two labels' cluster pairs.

    .. math::

        D_{ij} = \frac{1}{|C_i|\,|C_j|} \sum_{c \in C_i} \sum_{c' \in C_j}
        \operatorname{dist}(\operatorname{conv} c, \operatorname{conv} c'),

    with :math:`C_i` the clusters of label ``labels[i]`` that have at least
    `min_cluster_size` points. With one cluster per label (the linear case) this is the
    hull distance between the labels.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    assignment : array-like of shape (n_samples,)
        Cluster index per point (``-1``: ignored point), as in
        :class:`~harness.geometry.clustering.ClusteringResult`; or, when
        `cluster_labels` is None, the label of each point (one cluster per label).
    cluster_labels : array-like of shape (n_clusters,), optional
        Label of each cluster.
    labels : sequence, optional
        Row/column order of the output. Default: the distinct cluster labels sorted as
        strings (the authors' order, :func:`sorted_label_order`).
    min_cluster_size : int >= 1, optional
        Drop clusters with fewer points before averaging. The authors drop clusters
        with 5 points or fewer, i.e. ``min_cluster_size=6``. Default None keeps all.
    method : {"exact", "svc-compat"}, default="exact"
        ``"exact"``: certified hull distance (0 only for hulls within the separability
        tolerance); ``"svc-compat"``: the authors' SVC formula (can give 0 for
        separable hulls).
    tol : float, default=SEPARABILITY_TOL (1e-6)
        The separability tolerance of ``"exact"``, relative to the radius of the kept
        points of ``X`` (:func:`~harness.geometry.pairwise.pairwise_hull_distances`).

    Returns
    -------
    D : ndarray of float64, shape (n_labels, n_labels)
        Symmetric, 0 on the diagonal; ``nan`` where a label has no cluster left.

    Notes
    -----
    Hull distances of all cluster pairs are computed at once with
    :func:`~harness.geometry.hull_distance.pairwise_hull_distances` (same-label pairs
    included, then ignored): cost :math:`O(k^2)` pair solves for ``k`` kept clusters.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
    >>> label_distance_matrix(X, ["a", "a", "b", "b"]).tolist()
    [[0.0, 3.0], [3.0, 0.0]]
    """
    caller = "label_distance_matrix"
    if method not in _METHODS:
        raise ValueError(f"The 'method' parameter of {caller} must be one of {list(_METHODS)}. "
                         f"Got {method!r} instead.")
    if min_cluster_size is not None and (isinstance(min_cluster_size, bool) or not isinstance(
            min_cluster_size, numbers.Integral) or min_cluster_size < 1):
        raise ValueError(f"The 'min_cluster_size' parameter of {caller} must be an int >= 1 "
                         f"or None. Got {min_cluster_size!r} instead.")
    X, a, cl = _check_clustering(X, assignment, cluster_labels, caller)
    scale = working_exponent(X)  # extreme magnitudes: computed at a safe scale (_scaling)
    return to_user_units(_label_distance_matrix(to_working_scale(X, scale), a, cl, labels,
                                                min_cluster_size, method, tol), scale)


def _label_distance_matrix(X, a, cl, labels, min_cluster_size, method, tol):
    """:func:`label_distance_matrix` on checked inputs of a safe magnitude."""
    caller = "label_distance_matrix"
    order = sorted_label_order(np.unique(cl)) if labels is None else list(labels)
    pos = {lab: i for i, lab in enumerate(order)}
    unknown = sorted({str(v) for v in cl.tolist()} - {str(v) for v in order})
    if unknown and labels is not None and any(v not in pos for v in cl.tolist()):
        missing = [v for v in cl.tolist() if v not in pos]
        raise ValueError(f"The 'labels' parameter of {caller} must list every cluster label. "
                         f"Missing: {sorted(set(map(str, missing)))}.")
    sizes = np.bincount(a[a >= 0], minlength=cl.shape[0])
    keep = sizes >= (min_cluster_size or 1)
    kept = np.flatnonzero(keep)
    n = len(order)
    D = np.full((n, n), np.nan)
    np.fill_diagonal(D, 0.0)
    if kept.size < 2:
        return D
    mask = (a >= 0) & keep[np.maximum(a, 0)]
    Dc, _ = pairwise_hull_distances(X[mask], a[mask], method=method, tol_lp=tol)
    # pairwise_hull_distances orders groups as np.unique(groups) == kept.
    lab_idx = np.array([pos[v] for v in cl[kept].tolist()])
    S = np.zeros((n, n))
    C = np.zeros((n, n))
    ii, jj = np.nonzero(lab_idx[:, None] != lab_idx[None, :])
    np.add.at(S, (lab_idx[ii], lab_idx[jj]), Dc[ii, jj])
    np.add.at(C, (lab_idx[ii], lab_idx[jj]), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        M = S / C
    off = ~np.eye(n, dtype=bool)
    D[off] = np.where(C[off] > 0, M[off], np.nan)
    return D


def fixed_clustering_distances(X_new, assignment, cluster_labels=None, labels=None, *,
                               min_cluster_size=None, method="exact", tol=SEPARABILITY_TOL):
    """Check that a given clustering still separates a new representation; measure it.

    The fine-tuning paper did not recluster every snapshot: it kept one clustering,
    checked that all its cross-label cluster pairs are still linearly separable in the
    snapshot's representation `X_new` (same points, new vectors), and measured the
    label distances; a snapshot where the clustering no longer separates got zeros.
    For linear snapshots this equals rerunning DirectProbe.

    Parameters
    ----------
    X_new : array-like of shape (n_samples, n_features_new)
    assignment, cluster_labels, labels, min_cluster_size, method
        As in :func:`label_distance_matrix`.
    tol : float, default=SEPARABILITY_TOL (1e-6)
        The separability tolerance of the check and of the distances, relative to the
        radius of the assigned points of ``X_new``.

    Returns
    -------
    separates : bool
        Every pair of clusters of different labels is separable at ``tol`` in `X_new`
        (all clusters checked, whatever `min_cluster_size`).
    D : ndarray of shape (n_labels, n_labels)
        :func:`label_distance_matrix` when `separates`, else zeros off the diagonal
        (the authors' convention; ``nan`` where a label has no cluster).
    """
    caller = "fixed_clustering_distances"
    X, a, cl = _check_clustering(X_new, assignment, cluster_labels, caller)
    X = to_working_scale(X, working_exponent(X))  # the distances below scale back
    m = a >= 0
    S = pairwise_separable(X[m], a[m], tol=tol)
    present = np.unique(a[m])
    lab = cl[present]
    cross = lab[:, None] != lab[None, :]
    separates = bool(np.all(S[cross]))
    D = label_distance_matrix(X, a, cl, labels, min_cluster_size=min_cluster_size,
                              method=method, tol=tol) if separates else None
    if D is None:
        order = sorted_label_order(np.unique(cl)) if labels is None else list(labels)
        D = np.zeros((len(order), len(order)))
    return separates, D


def distance_vector(D, labels, label_order=None, *, linear=True, missing="raise"):
    """Upper triangle of a label distance matrix in a fixed label order (pdist layout).

    Entry ``m * i + j - ((i + 2) * (i + 1)) // 2`` holds the pair ``(order[i],
    order[j])``, ``i < j``, ``m = len(order)`` (as :func:`scipy.spatial.distance.pdist`).

    Parameters
    ----------
    D : ndarray of shape (n_labels, n_labels)
    labels : sequence of length n_labels
        The label of each row/column of `D`.
    label_order : sequence, optional
        Order of the vector; default: `labels` sorted as strings. Must be a
        permutation of `labels`.
    linear : bool, default=True
        Whether the clustering behind `D` was linear (one cluster per label). The
        paper defines the distance vector only then; ``linear=False`` raises, because
        a mean over cluster pairs is not comparable with a hull distance.
    missing : {"raise", "zero", "drop"}, default="raise"
        What to do with ``nan`` entries (a label without kept clusters): raise, write
        0 (the authors' choice) or leave ``nan`` (for the caller to drop).

    Returns
    -------
    d : ndarray of float64, shape (m * (m - 1) // 2,)
    """
    if not linear:
        raise ValueError("distance_vector is defined only for linear clusterings (one cluster "
                         "per label); got linear=False. Use the matrix itself, or recluster.")
    if missing not in _MISSING:
        raise ValueError(f"The 'missing' parameter of distance_vector must be one of "
                         f"{list(_MISSING)}. Got {missing!r} instead.")
    D = np.asarray(D, dtype=np.float64)
    labels = list(np.asarray(labels).tolist())
    if D.shape != (len(labels), len(labels)):
        raise ValueError(f"The 'D' parameter of distance_vector must have shape "
                         f"({len(labels)}, {len(labels)}) to match 'labels'. Got {D.shape}.")
    order = sorted(labels, key=str) if label_order is None else list(np.asarray(label_order).tolist())
    if sorted(map(str, order)) != sorted(map(str, labels)) or len(order) != len(labels):
        raise ValueError("The 'label_order' parameter of distance_vector must be a permutation "
                         f"of 'labels'. Got {order!r} for labels {labels!r}.")
    pos = {str(v): i for i, v in enumerate(labels)}
    idx = np.array([pos[str(v)] for v in order], dtype=np.int64)
    P = D[np.ix_(idx, idx)]
    iu = np.triu_indices(len(order), k=1)
    d = P[iu]
    if np.isnan(d).any():
        if missing == "raise":
            raise ValueError("The distance matrix has missing label pairs (nan); pass "
                             "missing='zero' (the authors' choice) or 'drop'.")
        if missing == "zero":
            d = np.nan_to_num(d, nan=0.0)
    return d


def min_distance_per_label(D):
    """Each label's distance to its nearest other label: the row minimum off the diagonal.

    Parameters
    ----------
    D : ndarray of shape (n_labels, n_labels)

    Returns
    -------
    ndarray of shape (n_labels,)
        ``nan`` for a label with no finite distance (or when there is only one label).
    """
    D = np.array(D, dtype=np.float64)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"The 'D' parameter of min_distance_per_label must be a square matrix. "
                         f"Got shape {D.shape}.")
    np.fill_diagonal(D, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan rows -> nan, by design
        return np.nanmin(D, axis=1) if D.shape[0] > 1 else np.full(D.shape[0], np.nan)
