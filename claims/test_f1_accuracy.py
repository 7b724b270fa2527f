"""F1 (section 4.1): fine-tuning improves probe accuracy, with rare exceptions.

Paper: "Indeed, fine-tuning almost always improves task performance. However, rare cases
exist where fine-tuning decreases the performance" (section 5; Appendix C: one exception
in 25 cells, BERT-small on PS-fxn, 86.26 -> 85.08).

Operational test, per (model, task): the two-hidden-layer MLP probe (grid search on a
held-out part of the training set, best setting retrained with the tier's number of
initialisations) on the last layer; the claim holds when the mean test accuracy of the
fine-tuned layer is higher than that of the original layer.
"""

import pytest

from claims._framework import Evidence, cells
from harness.analyses import probing

CLAIM = "F1"


def check_probe_accuracy_improves(ws, cell):
    result = probing.original_vs_tuned(ws, cell.model, cell.task)
    o, t = result["original"], result["tuned"]
    return Evidence(CLAIM, cell).decide(
        t["accuracy_mean"] > o["accuracy_mean"],
        "mean probe test accuracy of the fine-tuned last layer > that of the original",
        original_acc=100 * o["accuracy_mean"], original_std=100 * o["accuracy_std"],
        original_sizes=o["hidden_sizes"], tuned_acc=100 * t["accuracy_mean"],
        tuned_std=100 * t["accuracy_std"], tuned_sizes=t["hidden_sizes"])


@pytest.mark.parametrize("cell", cells(CLAIM))
def test_f1_probe_accuracy_improves(cell, workspaces, evidence_sink):
    evidence = check_probe_accuracy_improves(workspaces(cell.tier), cell)
    evidence_sink.append(evidence)
    assert evidence.holds, evidence.message()
