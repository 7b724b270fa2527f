"""F2 (section 4.1): fine-tuning makes the training and test spaces diverge.

Paper: "fine-tuning introduces a divergence between training and test sets, which is not
severe enough to hurt generalization in most cases" (section 1); Appendix C: the
train/test spatial similarity drops after fine-tuning in every cell where both are
linear (lowest 0.44, BERT-small PS-fxn).

Operational test, per (model, task): DirectProbe on the training and on the test set
separately, last layer, before and after fine-tuning; spatial similarity = Pearson
correlation of the two distance vectors over the label pairs present in both sets. The
claim is decided only where all four clusterings are linear (the paper's "-" otherwise:
not run); it holds when the similarity after fine-tuning is lower than before.
"""

import pytest

from claims._framework import Evidence, cells
from harness.analyses import geometry

CLAIM = "F2"


def check_train_test_similarity_drops(ws, cell):
    before = geometry.train_test_similarity(ws, cell.model, cell.task, "first")
    after = geometry.train_test_similarity(ws, cell.model, cell.task, "last")
    numbers = {f"{k}_before": v for k, v in before.items()}
    numbers.update({f"{k}_after": v for k, v in after.items()})
    ev = Evidence(CLAIM, cell)
    if before["similarity"] is None or after["similarity"] is None:
        ev.numbers.update(numbers)
        pytest.skip("train/test spatial similarity undefined (a clustering is not linear: "
                    f"train {before['n_clusters_train']}/{before['n_labels_train']} -> "
                    f"{after['n_clusters_train']}/{after['n_labels_train']} clusters/labels, "
                    f"test {before['n_clusters_test']}/{before['n_labels_test']} -> "
                    f"{after['n_clusters_test']}/{after['n_labels_test']}): not run, as the "
                    "paper's '-'")
    return ev.decide(after["similarity"] < before["similarity"],
                     "train/test spatial similarity after fine-tuning < before", **numbers)


@pytest.mark.parametrize("cell", cells(CLAIM))
def test_f2_train_test_similarity_drops(cell, workspaces, evidence_sink):
    evidence = check_train_test_similarity_drops(workspaces(cell.tier), cell)
    evidence_sink.append(evidence)
    assert evidence.holds, evidence.message()
