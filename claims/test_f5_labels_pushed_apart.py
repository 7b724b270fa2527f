"""F5 (section 4.3): fine-tuning pushes labels apart.

Paper: "We track the minimum distance of each label to all other labels during
fine-tuning. We find that all the minimum distances are increasing." (Fig. 2, last layer
of BERT-base; curves may dip on the way, e.g. PS-role "Stuff"). Footnote 8 excludes
TREC-50 because it is non-linear: the minimum distances are tracked on one cluster per
label, which exists only for a linear representation.

Measured per (model, task, layer) for the four linear tasks: the one-cluster-per-label
clustering of the original layer's training set is kept fixed, and every label's minimum
hull distance to the other labels is measured at update 0 and in the final snapshot (the
authors' convention: a snapshot where that clustering no longer separates every pair of
labels gets zeros; Fig. 2 draws every snapshot). Labels with fewer than
``min_cluster_size`` training points have no distance (the authors drop clusters of 5
points or fewer) and are listed, not compared; cross-label duplicate vectors (dropped by
DirectProbe) are left out too. Paper scope: the last layer; other layers are extensions.
Precondition: the original layer is linear. A label that has a cluster but no finite
minimum distance (a failed hull-distance solve) fails the cell, naming the label.
"""

import numpy as np
import pytest

from claims._framework import Evidence, cells, decide, settle
from harness.analyses import snapshot_geometry

CLAIM = "F5"
LINEAR_TASKS = ("pos", "dep", "ps-role", "ps-fxn")
HEADLINE = "{n_grew} of {n_compared} grow"
RULE = "every label's minimum distance is larger at the end than at update 0"


def rule_min_distances_grow(start, end):
    """Every compared label's minimum distance is larger at the end than at update 0
    ("all the minimum distances are increasing"; strictly larger, no margin, only the
    two ends: the curves may dip on the way). At least one label must be compared."""
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    return bool(len(start)) and bool(np.all(end > start)), RULE


def check_min_distances_grow(ws, cell, seed):
    curve = snapshot_geometry.min_distance_curve(ws, cell.model, cell.task, cell.layer,
                                        updates=["first", "last"], seed=seed)
    ev = Evidence(CLAIM, cell, headline=HEADLINE)
    if not curve["linear_start"]:
        return ev.inapplicable(
            f"the original layer is not linear ({curve['n_clusters_start']} clusters for "
            f"{curve['n_labels']} labels): no one-cluster-per-label distances, as in the paper",
            rule=RULE, clusters_start=curve["n_clusters_start"],
            n_labels=curve["n_labels"])
    start, end = np.asarray(curve["min_distance"][0]), np.asarray(curve["min_distance"][-1])
    labels = np.asarray(curve["labels"])
    defined = has_distance(ws, cell)
    not_a_number = defined & ~(np.isfinite(start) & np.isfinite(end))
    if not_a_number.any():
        # Such a label has clusters on both sides, so a NaN is a failed measurement: left
        # out, it would read as one label fewer.
        raise ValueError(f"{CLAIM}[{cell.id}]: the minimum distance of "
                         f"{labels[not_a_number].tolist()} is not a number at update 0 or at "
                         "the end, though each label has a cluster")
    grew = end[defined] > start[defined]
    holds, rule = rule_min_distances_grow(start[defined], end[defined])
    return ev.decide(
        holds, rule, n_labels=len(labels), n_compared=int(defined.sum()),
        n_grew=int(grew.sum()), labels_not_grown=labels[defined][~grew].tolist(),
        labels_without_distance=labels[~defined].tolist(),
        min_start=float(start[defined].min()) if defined.any() else None,
        min_end=float(end[defined].min()) if defined.any() else None,
        mean_change=float((end[defined] - start[defined]).mean()) if defined.any() else None,
        separates_end=curve["separates"][-1], linear_end=curve["linear_end"])


def has_distance(ws, cell):
    """Per label of the fixed clustering: whether it has a minimum distance at all, i.e.
    it has a cluster of ``min_cluster_size`` points and so does some other label."""
    _, _, fixed = snapshot_geometry.original_clustering(ws, cell.model, cell.task, cell.layer)
    assignment = np.asarray(fixed["assignment"])
    sizes = np.bincount(assignment[assignment >= 0], minlength=len(fixed["labels"]))
    clustered = sizes >= (ws.tier.min_cluster_size or 1)
    return clustered if clustered.sum() >= 2 else np.zeros_like(clustered)


@pytest.mark.parametrize("cell", cells(CLAIM, tasks=LINEAR_TASKS, per_layer=True,
                                       user_tasks=True))
def test_f5_min_distance_grows(cell, workspaces, evidence_sink):
    settle(decide(check_min_distances_grow, workspaces(cell.tier), cell), evidence_sink)
