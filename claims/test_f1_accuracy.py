"""F1 (section 4.1): fine-tuning improves probe accuracy, with rare exceptions.

Paper: "Indeed, fine-tuning almost always improves task performance. However, rare cases
exist where fine-tuning decreases the performance" (section 5; Appendix C: one exception
in 25 cells, BERT-small on PS-fxn, 86.26 -> 85.08).

Measured per (model, task), paper scope (the last layer, Appendix C): the two-hidden-layer
MLP probe (grid search on a held-out part of the training set, best setting retrained with
the tier's number of initialisations) on the original and on the fine-tuned last layer.
"""

import pytest

from claims._framework import Evidence, cells, decide, settle
from harness.analyses import probing

CLAIM = "F1"
HEADLINE = "{original_acc} → {tuned_acc}"


def rule_probe_accuracy_improves(original_acc, tuned_acc):
    """Mean probe test accuracy of the fine-tuned last layer > that of the original.

    Threshold: strictly greater, no margin: Appendix C compares the two means, and its one
    exception (86.26 -> 85.08) is a drop of the mean.
    """
    return (tuned_acc > original_acc,
            "mean probe test accuracy of the fine-tuned last layer > that of the original")


def check_probe_accuracy_improves(ws, cell, seed):
    result = probing.original_vs_tuned(ws, cell.model, cell.task, seed=seed)
    o, t = result["original"], result["tuned"]
    numbers = dict(original_acc=100 * o["accuracy_mean"], original_std=100 * o["accuracy_std"],
                   original_sizes=o["hidden_sizes"], tuned_acc=100 * t["accuracy_mean"],
                   tuned_std=100 * t["accuracy_std"], tuned_sizes=t["hidden_sizes"])
    holds, rule = rule_probe_accuracy_improves(numbers["original_acc"], numbers["tuned_acc"])
    return Evidence(CLAIM, cell, headline=HEADLINE).decide(holds, rule, **numbers)


@pytest.mark.parametrize("cell", cells(CLAIM))
def test_f1_probe_accuracy_improves(cell, workspaces, evidence_sink):
    settle(decide(check_probe_accuracy_improves, workspaces(cell.tier), cell), evidence_sink)
