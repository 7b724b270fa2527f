"""F3 (section 4.2): fine-tuning simplifies the space.

Paper: "we observe that the number of clusters decreases after fine-tuning. This tells
us that after fine-tuning, the points associated with different labels are in a simpler
spatial configuration. The same trend holds for TREC-50 (Table 4), even when the final
representation is not linearly separable." Section 1: "For a representation where task
labels are not linearly separable, we find that fine-tuning adjusts it by grouping points
with the same label into a small number of clusters". Appendix C: tiny POS 3936 -> 20,
DEP 653 -> 46, TREC-50 399 -> 51; no count ever grows.

Measured per (model, task, layer): DirectProbe's cluster count on the training set before
and after fine-tuning. Paper scope: the last layer (Table 3, Appendix C); the other layers
are extensions. Identical vectors under different labels are dropped before clustering
and counted.

The finding acts on a non-linear original layer: that is the precondition. On a linear
original the count can only stay (not applicable) or grow, and a growth contradicts "the
number of clusters decreases" too, so it is decided (it does not hold).
"""

import pytest

from claims._framework import Evidence, cells, decide, settle
from harness.analyses import snapshot_geometry

CLAIM = "F3"
HEADLINE = "{clusters_before} → {clusters_after} clusters ({n_labels} labels)"
RULE = "original non-linear: cluster count after fine-tuning < before"


def rule_cluster_count_falls(clusters_before, clusters_after):
    """The cluster count after fine-tuning < before (Appendix C: it falls in every cell
    whose original is non-linear; strictly fewer, no margin)."""
    return clusters_after < clusters_before, RULE


def check_cluster_count_falls(ws, cell, seed):
    ev = Evidence(CLAIM, cell, headline=HEADLINE)
    if cell.layer == 0 and ws.task_data(cell.task).kind == "sentence":
        return ev.inapplicable("layer 0 of a sentence task is the [CLS] input embedding, the "
                               "same vector for every sentence: there is nothing to cluster")
    before = snapshot_geometry.cluster(ws, ws.vectors(cell.model, cell.task, "first", "train", cell.layer,
                                             seed=seed))
    after = snapshot_geometry.cluster(ws, ws.vectors(cell.model, cell.task, "last", "train", cell.layer,
                                            seed=seed))
    numbers = dict(n_labels=before["n_labels"], clusters_before=before["n_clusters"],
                   clusters_after=after["n_clusters"], linear_before=before["linear"],
                   linear_after=after["linear"], dropped_duplicates=before["n_dropped_duplicates"])
    if before["linear"] and after["n_clusters"] <= before["n_clusters"]:
        return ev.inapplicable(
            "the original layer is linear already (one cluster per label): there is no "
            "cluster count to reduce, and it did not grow", rule=RULE,
            **numbers)
    if before["linear"]:
        return ev.decide(False, "original linear: the cluster count must not grow", **numbers)
    holds, rule = rule_cluster_count_falls(before["n_clusters"], after["n_clusters"])
    return ev.decide(holds, rule, **numbers)


@pytest.mark.parametrize("cell", cells(CLAIM, per_layer=True))
def test_f3_cluster_count_falls(cell, workspaces, evidence_sink):
    settle(decide(check_cluster_count_falls, workspaces(cell.tier), cell), evidence_sink)
