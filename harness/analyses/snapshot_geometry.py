"""DirectProbe analyses of stored snapshots: clusters, distances, similarities, centroids.

Conventions (the paper's and the authors' analysis code, see ``shared/spec``):

* labels are ordered as sorted strings;
* a representation is *linear* for a task when DirectProbe finds one cluster per label;
* the label-pair distance is the mean exact hull distance over the pairs of clusters of
  the two labels, ignoring clusters smaller than ``tier.min_cluster_size``;
* during fine-tuning one clustering is kept fixed (one cluster per label of the original
  model's layer, when that layer is linear) and its distances are measured in every
  snapshot; a snapshot where it no longer separates every pair of labels gets zeros, the
  authors' convention (:func:`fixed_distances`);
* every function that reads a fine-tuning run takes ``seed`` (default: the tier's first);
  update 0 is the pretrained model, the same for every seed;
* identical vectors under different labels (repeated TREC questions) cannot be
  separated by any clustering: they are dropped before clustering and counted.
"""

import logging
import time

import numpy as np

from ..geometry import clustering as clustering_kernels
from .. import geometry as metrics  # the package re-exports the metric functions
from ..exceptions import BudgetExceeded

logger = logging.getLogger(__name__)


class DirectProbeResult(dict):
    """A :func:`cluster` result. When the run stopped at the tier's time limit
    (``complete`` False) it holds only what the run proved (``linear`` when decided,
    ``n_clusters_at_least``, ``n_clusters_at_most``, ``n_labels``), and reading anything
    else raises :class:`~harness.exceptions.BudgetExceeded`: the claims turn that into
    "not run: budget", never into a number."""

    def __missing__(self, key):
        if not self.get("complete", True):
            raise BudgetExceeded(f"{self['budget_note']}; its {key!r} is not known",
                                 {k: self.get(k) for k in CERTIFIED})
        raise KeyError(key)


#: What a DirectProbe run stopped at its time limit records (``BudgetExceeded.certified``).
CERTIFIED = ("linear", "n_labels", "n_clusters_at_least", "n_clusters_at_most",
             "n_dropped_duplicates", "n_oracle_calls", "phase")


def cluster(ws, vectors):
    """DirectProbe on one set of vectors (cached), within ``tier.directprobe_time_limit``.

    Returns
    -------
    DirectProbeResult
        ``complete`` (True), ``n_clusters``, ``n_labels``, ``linear``, ``labels``,
        ``cluster_labels``, ``n_dropped_duplicates``, ``n_oracle_calls``, ``seconds`` and
        the array ``assignment`` (-1 for dropped duplicates); for a run stopped at the
        limit, ``complete`` False and what it proved (:class:`DirectProbeResult`). A
        stopped run is stored under its limit: a larger limit computes it again.
    """
    tier = ws.tier
    config = {"analysis": "directprobe", "vectors": vectors.source,
              "mode": tier.directprobe_mode, "rate": tier.directprobe_rate,
              "separability_tol": tier.separability_tol}
    if tier.directprobe_time_limit is not None:
        config["time_limit"] = tier.directprobe_time_limit

    def compute():
        started = time.perf_counter()
        try:
            result = clustering_kernels.cluster_labels(
                vectors.X, vectors.y, mode=tier.directprobe_mode, rate=tier.directprobe_rate,
                tol=tier.separability_tol, on_duplicates=tier.directprobe_on_duplicates,
                time_limit=tier.directprobe_time_limit)
        except BudgetExceeded as stop:
            logger.warning("%s: %s", vectors.source, stop)
            proven = {k: v for k, v in stop.certified.items() if v is not None}
            return {"complete": False, **proven, "time_limit": tier.directprobe_time_limit,
                    "budget_note": f"DirectProbe on {vectors.source}: {stop}",
                    "seconds": time.perf_counter() - started,
                    "assignment": np.empty(0, dtype=np.int64)}
        kept_labels = np.unique(vectors.y[result.assignment >= 0])
        return {"complete": True,
                "n_clusters": int(result.n_clusters), "n_labels": int(len(kept_labels)),
                "linear": bool(result.n_clusters == len(kept_labels)),
                "labels": [str(v) for v in result.labels],
                "cluster_labels": [str(v) for v in result.cluster_labels],
                "n_dropped_duplicates": int(len(result.dropped)),
                "n_oracle_calls": int(result.n_oracle_calls),
                "seconds": time.perf_counter() - started,
                "assignment": np.asarray(result.assignment, dtype=np.int64)}

    return DirectProbeResult(ws.cached(config, compute, arrays=("assignment",)))


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
              "clustering": clustering_source, "min_cluster_size": ws.tier.min_cluster_size,
              "separability_tol": ws.tier.separability_tol}

    def compute():
        labels = sorted(set(clustering["cluster_labels"]))
        matrix = metrics.label_distance_matrix(
            vectors.X, np.asarray(clustering["assignment"]),
            np.asarray(clustering["cluster_labels"]), labels,
            min_cluster_size=ws.tier.min_cluster_size, tol=ws.tier.separability_tol)
        return {"labels": labels, "matrix": np.asarray(matrix, dtype=np.float64)}

    return ws.cached(config, compute, arrays=("matrix",))


def fixed_distances(ws, vectors, clustering):
    """Label distances of ``vectors`` under a fixed clustering, the authors' convention (cached).

    The fine-tuning paper tracked one clustering through the snapshots: it checked that
    every pair of clusters of different labels still has disjoint hulls in the snapshot
    (all clusters, whatever ``min_cluster_size``) and measured the label distances; a
    snapshot where the clustering no longer separates got zeros
    (:func:`harness.geometry.fixed_clustering_distances`).

    Returns ``{"labels": [...], "separates": bool, "matrix": (k, k) array}``.
    """
    config = {"analysis": "fixed-clustering-distances", "vectors": vectors.source,
              "clustering": clustering["source"], "min_cluster_size": ws.tier.min_cluster_size,
              "separability_tol": ws.tier.separability_tol}

    def compute():
        labels = sorted(set(clustering["cluster_labels"]))
        separates, matrix = metrics.fixed_clustering_distances(
            vectors.X, np.asarray(clustering["assignment"]),
            np.asarray(clustering["cluster_labels"]), labels,
            min_cluster_size=ws.tier.min_cluster_size, tol=ws.tier.separability_tol)
        return {"labels": labels, "separates": bool(separates),
                "matrix": np.asarray(matrix, dtype=np.float64)}

    return ws.cached(config, compute, arrays=("matrix",))


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


def train_test_similarity(ws, model, task, update, layer=-1, seed=None):
    """Spatial similarity of the train and test spaces (paper section 4.1, F2).

    DirectProbe runs on train and on test separately; when both are linear, the Pearson
    correlation of their distance vectors over the label pairs common to both sets.
    """
    train = ws.vectors(model, task, update, "train", layer, seed=seed)
    test = ws.vectors(model, task, update, "test", layer, seed=seed)
    c_train, c_test = cluster(ws, train), cluster(ws, test)
    record = {"linear_train": c_train["linear"], "linear_test": c_test["linear"],
              "n_clusters_train": c_train.get("n_clusters"),
              "n_clusters_test": c_test.get("n_clusters"),
              "n_labels_train": c_train["n_labels"], "n_labels_test": c_test["n_labels"],
              "similarity": None, "n_common_labels": None, "n_pairs": None}
    if c_train["linear"] and c_test["linear"]:
        fixed_train, fixed_test = label_clustering(train, c_train), label_clustering(test, c_test)
        d_train = label_distances(ws, train, fixed_train, fixed_train["source"])
        d_test = label_distances(ws, test, fixed_test, fixed_test["source"])
        sim, common, n_pairs = _pearson_common(d_train["matrix"], d_train["labels"],
                                               d_test["matrix"], d_test["labels"])
        record.update(similarity=_finite_or_none(sim), n_common_labels=len(common),
                      n_pairs=n_pairs)
    return record


def original_clustering(ws, model, task, layer):
    """The original layer's training vectors, their DirectProbe result, and the
    one-cluster-per-label clustering tracked through the snapshots (meaningful when the
    DirectProbe result is linear)."""
    first = ws.vectors(model, task, 0, "train", layer)
    start = cluster(ws, first)
    # A run stopped at its limit is never linear (else it had finished): no clustering.
    return first, start, label_clustering(first, start if start.get("complete", True) else None)


def _resolve_updates(ws, model, task, updates, seed, layer):
    # Only the snapshots that hold ``layer`` (a schedule may keep some layers sparsely).
    all_updates = ws.updates(model, task, seed=seed, layer=layer, split="train")
    if updates is None:
        return all_updates
    return [{"first": all_updates[0], "last": all_updates[-1]}.get(u, u) for u in updates]


def min_distance_curve(ws, model, task, layer=-1, updates=None, seed=None):
    """Each label's minimum distance over the snapshots (F5, Fig. 2).

    The fixed clustering is one cluster per label of the original layer; it is defined
    when that layer is linear (``linear_start``); otherwise ``min_distance`` is None.
    Distances follow the authors' convention (:func:`fixed_distances`): ``separates[k]``
    says whether snapshot ``k`` still separates every pair of labels (zeros when not).
    ``updates`` selects snapshots (default: every snapshot holding ``layer``; the claim
    needs only the first and last).
    """
    updates = _resolve_updates(ws, model, task, updates, seed, layer)
    _, start, fixed = original_clustering(ws, model, task, layer)
    last = ws.vectors(model, task, "last", "train", layer, seed=seed)
    record = {"updates": updates, "labels": fixed["labels"], "min_distance": None,
              "separates": None, "linear_start": start["linear"],
              "n_clusters_start": start.get("n_clusters"), "n_labels": start["n_labels"],
              "linear_end": cluster(ws, last)["linear"]}
    if not start["linear"]:
        return record
    curves, separates = [], []
    for u in updates:
        d = fixed_distances(ws, ws.vectors(model, task, u, "train", layer, seed=seed), fixed)
        curves.append(metrics.min_distance_per_label(d["matrix"]))
        separates.append(d["separates"])
    record.update(min_distance=np.asarray(curves).tolist(), separates=separates)
    return record


def layer_similarity(ws, model, task, layer, updates=None, seed=None):
    """Spatial similarity of a layer to its own original over snapshots (F7, Fig. 4).

    Defined only when the original layer is linear: the paper's distance vectors need one
    cluster per label. That clustering is kept fixed; its label distances are measured in
    each snapshot (:func:`fixed_distances`) and correlated with the original's over the
    label pairs that have a distance (both sides have the same pairs: the clustering is
    the same). A snapshot where the clustering no longer separates every pair of labels
    gets the authors' zeros, whose correlation is undefined: its similarity is None.
    ``updates`` selects snapshots (default: every snapshot holding ``layer``).
    """
    updates = _resolve_updates(ws, model, task, updates, seed, layer)
    first, start, fixed = original_clustering(ws, model, task, layer)
    record = {"updates": list(updates), "similarity": None, "separates": None,
              "linear_start": start["linear"], "n_clusters_start": start.get("n_clusters"),
              "n_labels": start["n_labels"]}
    if not start["linear"]:
        return record
    d0 = fixed_distances(ws, first, fixed)
    sims, separates = [], []
    for u in updates:
        d = fixed_distances(ws, ws.vectors(model, task, u, "train", layer, seed=seed), fixed)
        separates.append(d["separates"])
        sim = None
        if d["separates"]:
            sim, _, _ = _pearson_common(d0["matrix"], d0["labels"], d["matrix"], d["labels"])
        sims.append(_finite_or_none(sim))
    record.update(similarity=sims, separates=separates)
    return record


def _finite_or_none(x):
    return float(x) if x is not None and np.isfinite(x) else None


def centroids(ws, model, task, update, layer, seed=None):
    vec = ws.vectors(model, task, update, "train", layer, seed=seed)
    labels = sorted(set(vec.y.tolist()))
    return labels, metrics.label_centroids(vec.X, vec.y, labels)


def centroid_shift(ws, model, task, layer, seed=None):
    """Per-label centroid differences (final - original) and their spread (F8, Fig. 5).

    ``spread`` is the root of the total variance of the difference vectors (invariant to
    the PCA rotation); ``pca`` holds the 2-D PCA coordinates and ``pca_range`` their
    bounding box, the quantity the paper reads off its figure.
    """
    labels, before = centroids(ws, model, task, "first", layer, seed=seed)
    _, after = centroids(ws, model, task, "last", layer, seed=seed)
    diff = after - before
    coords = metrics.pca_projection(diff[None])[0]  # one "snapshot" of label vectors
    return {"labels": labels, "spread": float(np.sqrt(diff.var(axis=0).sum())),
            "mean_shift": float(np.linalg.norm(diff, axis=1).mean()),
            "pca": np.asarray(coords).tolist(),
            "pca_range": [float(coords[:, 0].min()), float(coords[:, 0].max()),
                          float(coords[:, 1].min()), float(coords[:, 1].max())]}


def centroid_paths(ws, model, task, layer, labels, seed=None):
    """Centroids of ``labels`` at every snapshot, projected jointly to 2-D (Fig. 3)."""
    updates = ws.updates(model, task, seed=seed, layer=layer, split="train")
    stacked = []
    for u in updates:
        all_labels, c = centroids(ws, model, task, u, layer, seed=seed)
        stacked.append(c[[all_labels.index(label) for label in labels]])
    coords = metrics.pca_projection(np.asarray(stacked))  # (n_updates, n_labels, 2)
    return {"updates": updates, "labels": list(labels), "paths": np.asarray(coords).tolist()}


def cross_task_min_distances(ws, model, probed, tuned_on, layer=-1, seed=None):
    """Change of each ``probed`` label's minimum distance under a model fine-tuned on
    ``tuned_on`` (F6, the paper's Table 5), with the one-cluster-per-label clustering of
    the original representation kept fixed (:func:`fixed_distances`).

    The distances are measured only when the original is linear (``linear_before``);
    ``linear_after`` is DirectProbe's verdict on the fine-tuned representation and
    ``separates_after`` whether the fixed clustering still separates there.
    """
    before = ws.cross_vectors(model, None, probed, "train", layer)
    after = ws.cross_vectors(model, tuned_on, probed, "train", layer, seed=seed)
    clustered_before = cluster(ws, before)
    fixed = label_clustering(before, clustered_before)
    record = {"labels": fixed["labels"], "before": None, "after": None, "n_rose": None,
              "n_fell": None, "n_compared": None, "mean_change": None,
              "n_without_distance": None, "separates_after": None,
              "linear_before": clustered_before["linear"],
              "linear_after": cluster(ws, after)["linear"]}
    if not clustered_before["linear"]:
        return record
    d1 = fixed_distances(ws, after, fixed)
    m0 = metrics.min_distance_per_label(fixed_distances(ws, before, fixed)["matrix"])
    m1 = metrics.min_distance_per_label(d1["matrix"])
    change = np.asarray(m1) - np.asarray(m0)
    defined = np.isfinite(change)  # labels with too few points have no distance
    record.update(before=np.asarray(m0).tolist(), after=np.asarray(m1).tolist(),
                  n_rose=int((change[defined] > 0).sum()),
                  n_fell=int((change[defined] < 0).sum()), n_compared=int(defined.sum()),
                  mean_change=float(change[defined].mean()) if defined.any() else None,
                  n_without_distance=int((~defined).sum()), separates_after=d1["separates"])
    return record
