"""F2 (section 4.1): fine-tuning makes the training and test spaces diverge.

Paper: "fine-tuning introduces a divergence between training and test sets, which is not
severe enough to hurt generalization in most cases" (section 1); Appendix C: the
train/test spatial similarity drops after fine-tuning in every cell where both are
linear (lowest 0.44, BERT-small PS-fxn), and is "-" where a clustering is not linear.

Measured per (model, task), paper scope (the last layer): DirectProbe on the training and
on the test set separately, before and after fine-tuning; spatial similarity = Pearson
correlation of the two distance vectors over the label pairs present in both sets.
"""

import pytest

from claims._framework import Evidence, cells, decide, settle
from harness.analyses import snapshot_geometry

CLAIM = "F2"
HEADLINE = "{similarity_before} → {similarity_after}"


def rule_train_test_similarity_drops(similarity_before, similarity_after):
    """Train/test spatial similarity after fine-tuning < before (Appendix C: it drops in
    every linear cell; strictly lower, no margin)."""
    return (similarity_after < similarity_before,
            "train/test spatial similarity after fine-tuning < before")


def check_train_test_similarity_drops(ws, cell, seed):
    before = snapshot_geometry.train_test_similarity(ws, cell.model, cell.task, "first", seed=seed)
    after = snapshot_geometry.train_test_similarity(ws, cell.model, cell.task, "last", seed=seed)
    numbers = {f"{k}_before": v for k, v in before.items()}
    numbers.update({f"{k}_after": v for k, v in after.items()})
    ev = Evidence(CLAIM, cell, headline=HEADLINE)
    if before["similarity"] is None or after["similarity"] is None:
        return ev.inapplicable(
            "a clustering is not linear (the paper's '-'): train "
            f"{before['n_clusters_train']}/{before['n_labels_train']} -> "
            f"{after['n_clusters_train']}/{after['n_labels_train']}, test "
            f"{before['n_clusters_test']}/{before['n_labels_test']} -> "
            f"{after['n_clusters_test']}/{after['n_labels_test']} clusters/labels",
            rule="train/test spatial similarity after fine-tuning < before", **numbers)
    holds, rule = rule_train_test_similarity_drops(before["similarity"], after["similarity"])
    return ev.decide(holds, rule, **numbers)


@pytest.mark.parametrize("cell", cells(CLAIM))
def test_f2_train_test_similarity_drops(cell, workspaces, evidence_sink):
    settle(decide(check_train_test_similarity_drops, workspaces(cell.tier), cell), evidence_sink)
