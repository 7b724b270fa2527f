"""F3 (section 4.2): fine-tuning simplifies the space.

Paper: "we observe that the number of clusters decreases after fine-tuning. This tells
us that after fine-tuning, the points associated with different labels are in a simpler
spatial configuration. The same trend holds for TREC-50 (Table 4), even when the final
representation is not linearly separable." (Appendix C: tiny POS 3936 -> 20, DEP 653 ->
46, TREC-50 399 -> 51; never an increase.)

Operational test, per (model, task, layer) -- every layer, because the top layer of a
pretrained model is often linear already: DirectProbe cluster count on the training set
before and after fine-tuning. Holds when the count does not grow, and falls wherever the
original layer was not linear. Identical vectors under different labels are dropped
before clustering and counted (the [CLS] input embedding, layer 0 of a sentence task, is
the same vector for every sentence, so that cell is not run).
"""

import pytest

from claims._framework import Evidence, cells
from harness.analyses import geometry

CLAIM = "F3"


def check_cluster_count_falls(ws, cell):
    if cell.layer == 0 and ws.task_data(cell.task).kind == "sentence":
        pytest.skip("layer 0 of a sentence task is the [CLS] input embedding, identical for "
                    "every sentence: no clustering exists; not run")
    before = geometry.cluster(ws, ws.vectors(cell.model, cell.task, "first", "train", cell.layer))
    after = geometry.cluster(ws, ws.vectors(cell.model, cell.task, "last", "train", cell.layer))
    if before["linear"]:
        holds, rule = after["n_clusters"] <= before["n_clusters"], \
            "original linear: cluster count after <= before"
    else:
        holds, rule = after["n_clusters"] < before["n_clusters"], \
            "original non-linear: cluster count after < before"
    return Evidence(CLAIM, cell).decide(
        holds, rule, n_labels=before["n_labels"], clusters_before=before["n_clusters"],
        clusters_after=after["n_clusters"], linear_before=before["linear"],
        linear_after=after["linear"], dropped_duplicates=before["n_dropped_duplicates"])


@pytest.mark.parametrize("cell", cells(CLAIM, per_layer=True))
def test_f3_cluster_count_falls(cell, workspaces, evidence_sink):
    evidence = check_cluster_count_falls(workspaces(cell.tier), cell)
    evidence_sink.append(evidence)
    assert evidence.holds, evidence.message()
