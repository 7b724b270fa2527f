"""DirectProbe-based analyses: clusters, label distances, similarities, centroid moves.

Conventions (the paper's and the authors' analysis code, see ``shared/spec``):

* labels are ordered as sorted strings;
* a representation is *linear* for a task when DirectProbe finds one cluster per label;
* the label-pair distance is the mean exact hull distance over the pairs of clusters of
  the two labels, ignoring clusters smaller than ``tier.min_cluster_size``;
* during fine-tuning one clustering is kept fixed (that of the original model's layer)
  and its distances are measured in every snapshot; a pair of clusters that no longer
  separates has hull distance 0;
* identical vectors under different labels (repeated TREC questions) cannot be
  separated by any clustering: they are dropped before clustering and counted.
"""

import logging
import time

import numpy as np

from ..geometry import KERNEL_MODULES
from ..geometry import clustering as clustering_kernels
from .. import geometry as metrics  # the package re-exports the metric functions
from .workspace import code_fingerprint

logger = logging.getLogger(__name__)

# The code a cached clustering or distance matrix depends on: every module of
# harness.geometry (by module path, since harness.geometry re-exports functions under
# the same names).
GEOMETRY_CODE = code_fingerprint(*KERNEL_MODULES)


def cluster(ws, vectors):
    """DirectProbe on one set of vectors (cached).

    Returns
    -------
    dict
        ``n_clusters``, ``n_labels``, ``linear``, ``labels``, ``cluster_labels``,
        ``n_dropped_duplicates``, ``n_lp_solved``, ``seconds`` and the array
        ``assignment`` (-1 for dropped duplicates).
    """
    tier = ws.tier
    config = {"analysis": "directprobe", "vectors": vectors.source,
              "mode": tier.directprobe_mode, "rate": tier.directprobe_rate}

    def compute():
        started = time.perf_counter()
        result = clustering_kernels.cluster_labels(
            vectors.X, vectors.y, mode=tier.directprobe_mode, rate=tier.directprobe_rate,
            on_duplicates="drop")
        kept_labels = np.unique(vectors.y[result.assignment >= 0])
        return {"n_clusters": int(result.n_clusters), "n_labels": int(len(kept_labels)),
                "linear": bool(result.n_clusters == len(kept_labels)),
                "labels": [str(v) for v in result.labels],
                "cluster_labels": [str(v) for v in result.cluster_labels],
                "n_dropped_duplicates": int(len(result.dropped)),
                "n_lp_solved": int(result.n_oracle_calls),
                "seconds": time.perf_counter() - started,
                "assignment": np.asarray(result.assignment, dtype=np.int64)}

    return ws.cached(config, compute, arrays=("assignment",), code=GEOMETRY_CODE)


def label_clustering(vectors, directprobe=None):
    """The one-cluster-per-label clustering (what a linear DirectProbe result is).

    With ``directprobe`` (a :func:`cluster` result of the same vectors), the points it
    dropped as cross-label duplicates are left out here too (assignment -1): two labels
    sharing a vector would otherwise have hull distance 0 in a space DirectProbe calls
    linear, and every later snapshot measures the same points.
    """
    labels = sorted(set(vectors.y.tolist()))
    index = {label: i for i, label in enumerate(labels)}
    assignment = np.asarray([index[v] for v in vectors.y], dtype=np.int64)
    source = "labels"
    if directprobe is not None:
        dropped = np.asarray(directprobe["assignment"]) < 0
        if dropped.any():
            assignment[dropped] = -1
            source = f"labels-without-duplicates:{vectors.source}"
    return {"assignment": assignment, "cluster_labels": labels, "labels": labels,
            "source": source}


def label_distances(ws, vectors, clustering, clustering_source):
    """Label-pair distance matrix of ``vectors`` under a fixed ``clustering`` (cached).

    Returns ``{"labels": [...], "matrix": (k, k) array}``.
    """
    config = {"analysis": "label-distances", "vectors": vectors.source,
              "clustering": clustering_source, "min_cluster_size": ws.tier.min_cluster_size}

    def compute():
        labels = sorted(set(clustering["cluster_labels"]))
        matrix = metrics.label_distance_matrix(
            vectors.X, np.asarray(clustering["assignment"]),
            np.asarray(clustering["cluster_labels"]), labels,
            min_cluster_size=ws.tier.min_cluster_size)
        return {"labels": labels, "matrix": np.asarray(matrix, dtype=np.float64)}

    return ws.cached(config, compute, arrays=("matrix",), code=GEOMETRY_CODE)


def _pearson_common(d1, labels1, d2, labels2):
    """Pearson correlation over the label pairs defined on both sides.

    A pair enters only when both labels occur in both sets and both distances are finite
    (a label all of whose clusters are smaller than ``min_cluster_size`` has no distance:
    NaN). Returns the correlation, the common labels and the number of pairs used.
    """
    common = sorted(set(labels1) & set(labels2))
    i1 = [labels1.index(label) for label in common]
    i2 = [labels2.index(label) for label in common]
    m1 = np.asarray(d1)[np.ix_(i1, i1)]
    m2 = np.asarray(d2)[np.ix_(i2, i2)]
    iu = np.triu_indices(len(common), k=1)
    v1, v2 = m1[iu], m2[iu]
    keep = np.isfinite(v1) & np.isfinite(v2)
    return metrics.spatial_similarity(v1[keep], v2[keep]), common, int(keep.sum())


def train_test_similarity(ws, model, task, update, layer=-1):
    """Spatial similarity of the train and test spaces (paper section 4.1, F2).

    DirectProbe runs on train and on test separately; when both are linear, the Pearson
    correlation of their distance vectors over the label pairs common to both sets.
    """
    train = ws.vectors(model, task, update, "train", layer)
    test = ws.vectors(model, task, update, "test", layer)
    c_train, c_test = cluster(ws, train), cluster(ws, test)
    record = {"linear_train": c_train["linear"], "linear_test": c_test["linear"],
              "n_clusters_train": c_train["n_clusters"], "n_clusters_test": c_test["n_clusters"],
              "n_labels_train": c_train["n_labels"], "n_labels_test": c_test["n_labels"],
              "similarity": None, "n_common_labels": None, "n_pairs": None}
    if c_train["linear"] and c_test["linear"]:
        fixed_train, fixed_test = label_clustering(train, c_train), label_clustering(test, c_test)
        d_train = label_distances(ws, train, fixed_train, fixed_train["source"])
        d_test = label_distances(ws, test, fixed_test, fixed_test["source"])
        sim, common, n_pairs = _pearson_common(d_train["matrix"], d_train["labels"],
                                               d_test["matrix"], d_test["labels"])
        record.update(similarity=float(sim), n_common_labels=len(common), n_pairs=n_pairs)
    return record


def min_distance_curve(ws, model, task, layer=-1, include_nonlinear=False, updates=None):
    """Each label's minimum distance over the snapshots (F5, Fig. 2).

    The fixed clustering is one cluster per label; it is meaningful when the original
    layer is linear, which ``linear_start`` reports. For a non-linear original layer the
    curves are not computed (``min_distance`` is None) unless ``include_nonlinear``.
    ``updates`` selects snapshots (default all; the claim needs only the first and last).
    """
    all_updates = ws.updates(model, task)
    updates = all_updates if updates is None else [
        {"first": all_updates[0], "last": all_updates[-1]}.get(u, u) for u in updates]
    first = ws.vectors(model, task, all_updates[0], "train", layer)
    last = ws.vectors(model, task, all_updates[-1], "train", layer)
    start = cluster(ws, first)
    fixed = label_clustering(first, start)
    linear_start = start["linear"]
    if not linear_start and not include_nonlinear:
        return {"updates": updates, "labels": fixed["labels"], "min_distance": None,
                "linear_start": False, "linear_end": cluster(ws, last)["linear"]}
    curves = []
    for u in updates:
        vec = ws.vectors(model, task, u, "train", layer)
        d = label_distances(ws, vec, fixed, fixed["source"])
        curves.append(metrics.min_distance_per_label(d["matrix"]))
    return {"updates": updates, "labels": fixed["labels"],
            "min_distance": np.asarray(curves).tolist(),
            "linear_start": linear_start,
            "linear_end": cluster(ws, last)["linear"]}


def layer_similarity(ws, model, task, layer, updates=None):
    """Spatial similarity of a layer to its own original over snapshots (F7, Fig. 4).

    The clustering of the original layer (DirectProbe at update 0 on the training set) is
    kept fixed; its label-pair distance matrix is measured in each snapshot and correlated
    with the original's over all label pairs.
    """
    all_updates = ws.updates(model, task)
    updates = all_updates if updates is None else updates
    first = ws.vectors(model, task, all_updates[0], "train", layer)
    fixed = cluster(ws, first)
    source = f"directprobe:{first.source}"
    d0 = label_distances(ws, first, fixed, source)
    sims = []
    for u in updates:
        d = label_distances(ws, ws.vectors(model, task, u, "train", layer), fixed, source)
        sim, _, _ = _pearson_common(d0["matrix"], d0["labels"], d["matrix"], d["labels"])
        sims.append(float(sim))
    return {"updates": list(updates), "similarity": sims, "linear_start": fixed["linear"],
            "n_clusters_start": fixed["n_clusters"]}


def centroids(ws, model, task, update, layer):
    vec = ws.vectors(model, task, update, "train", layer)
    labels = sorted(set(vec.y.tolist()))
    return labels, metrics.label_centroids(vec.X, vec.y, labels)


def centroid_shift(ws, model, task, layer):
    """Per-label centroid differences (final - original) and their spread (F8, Fig. 5).

    ``spread`` is the root of the total variance of the difference vectors (invariant to
    the PCA rotation); ``pca`` holds the 2-D PCA coordinates and ``pca_range`` their
    bounding box, the quantity the paper reads off its figure.
    """
    labels, before = centroids(ws, model, task, "first", layer)
    _, after = centroids(ws, model, task, "last", layer)
    diff = after - before
    coords = metrics.pca_projection(diff[None])[0]  # one "snapshot" of label vectors
    return {"labels": labels, "spread": float(np.sqrt(diff.var(axis=0).sum())),
            "mean_shift": float(np.linalg.norm(diff, axis=1).mean()),
            "pca": np.asarray(coords).tolist(),
            "pca_range": [float(coords[:, 0].min()), float(coords[:, 0].max()),
                          float(coords[:, 1].min()), float(coords[:, 1].max())]}


def centroid_paths(ws, model, task, layer, labels):
    """Centroids of ``labels`` at every snapshot, projected jointly to 2-D (Fig. 3)."""
    updates = ws.updates(model, task)
    stacked = []
    for u in updates:
        all_labels, c = centroids(ws, model, task, u, layer)
        stacked.append(c[[all_labels.index(label) for label in labels]])
    coords = metrics.pca_projection(np.asarray(stacked))  # (n_updates, n_labels, 2)
    return {"updates": updates, "labels": list(labels), "paths": np.asarray(coords).tolist()}


def cross_task_min_distances(ws, model, probed, tuned_on, layer=-1):
    """Change of each ``probed`` label's minimum distance under a model fine-tuned on
    ``tuned_on`` (F6, the paper's Table 5), with the one-cluster-per-label clustering."""
    before = ws.cross_vectors(model, None, probed, "train", layer)
    after = ws.cross_vectors(model, tuned_on, probed, "train", layer)
    clustered_before = cluster(ws, before)
    fixed = label_clustering(before, clustered_before)
    m0 = metrics.min_distance_per_label(
        label_distances(ws, before, fixed, fixed["source"])["matrix"])
    m1 = metrics.min_distance_per_label(
        label_distances(ws, after, fixed, fixed["source"])["matrix"])
    change = np.asarray(m1) - np.asarray(m0)
    defined = np.isfinite(change)  # labels with too few points have no distance
    return {"labels": fixed["labels"], "before": np.asarray(m0).tolist(),
            "after": np.asarray(m1).tolist(), "n_rose": int((change[defined] > 0).sum()),
            "n_fell": int((change[defined] < 0).sum()),
            "mean_change": float(change[defined].mean()),
            "n_without_distance": int((~defined).sum()),
            "linear_before": clustered_before["linear"],
            "linear_after": cluster(ws, after)["linear"]}
