"""F6 (section 4.4): cross-task fine-tuning moves labels according to task relatedness.

Paper (Table 5, BERT-base, PS-fxn probed): fine-tuning on PS-role (related) raises 27 and
lowers 13 label minimum distances, +1.02 on average, accuracy 87.75 -> 88.53; on POS
(opposing) all 40 fall, -1.68 on average, accuracy 83.24. "fine-tuning on a similar task
also increases the distances between clusters but to a lesser extent. However,
fine-tuning on an 'opposing' task decreases the distances between clusters."

Operational test, per (model, fine-tuned-on task), PS-fxn training set, last layer, one
cluster per PS-fxn label: related (ps-role) holds when the mean change of the labels'
minimum distances is positive and the PS-fxn probe accuracy is higher than the
original's; opposing (pos) holds when the mean change is negative and the accuracy is
lower than the original's.
"""

import pytest

from claims._framework import Evidence, cells
from harness.analyses import geometry, probing

CLAIM = "F6"
PROBED = "ps-fxn"
RELATION = {"ps-role": "related", "pos": "opposing"}


def check_cross_task(ws, cell):
    source = cell.extra
    dist = geometry.cross_task_min_distances(ws, cell.model, PROBED, source)
    original = probing.cross_task_accuracy(ws, cell.model, PROBED, None)
    tuned = probing.cross_task_accuracy(ws, cell.model, PROBED, source)
    numbers = dict(n_rose=dist["n_rose"], n_fell=dist["n_fell"],
                   mean_change=dist["mean_change"],
                   original_acc=100 * original["accuracy_mean"],
                   tuned_acc=100 * tuned["accuracy_mean"],
                   linear_before=dist["linear_before"], linear_after=dist["linear_after"])
    if RELATION[source] == "related":
        holds = dist["mean_change"] > 0 and tuned["accuracy_mean"] > original["accuracy_mean"]
        rule = "related task: mean min-distance change > 0 and PS-fxn accuracy rises"
    else:
        holds = dist["mean_change"] < 0 and tuned["accuracy_mean"] < original["accuracy_mean"]
        rule = "opposing task: mean min-distance change < 0 and PS-fxn accuracy falls"
    return Evidence(CLAIM, cell).decide(holds, rule, **numbers)


@pytest.mark.parametrize("cell", cells(CLAIM, tasks=(PROBED,), extra=("ps-role", "pos")))
def test_f6_cross_task_distances(cell, workspaces, evidence_sink):
    evidence = check_cross_task(workspaces(cell.tier), cell)
    evidence_sink.append(evidence)
    assert evidence.holds, evidence.message()
