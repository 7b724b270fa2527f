"""F6 (section 4.4): cross-task fine-tuning moves labels according to task relatedness.

Paper (Table 5, BERT-base, last layer, PS-fxn probed): fine-tuning on PS-fxn itself raises
all 40 label minimum distances (+5.29 on average, accuracy 87.75 -> 89.58); on PS-role
(related) 27 rise and 13 fall, +1.02 on average, accuracy 88.53; on POS (opposing) all 40
fall, -1.68 on average, accuracy 83.24. "fine-tuning on a similar task also increases
the distances between clusters but to a lesser extent. However, fine-tuning on a
'opposing' task decreases the distances between clusters." "Fine-tuning on PS-fxn ...
justifies the highest performance; fine-tuning on PS-role ... leading to a slight
improvement; fine-tuning on POS tags shrinks the gaps ... leading to a decrease in
performance." Footnote 9: "The PS-fxn task is still linearly separable even after
fine-tuning on PS-role or POS tagging tasks."

Measured per (model, fine-tuned-on task), paper scope (the last layer): the PS-fxn
training set's one-cluster-per-label clustering of the original model is kept fixed and
each label's minimum distance is measured under the model fine-tuned on the other task
(authors' convention: zeros if the clustering no longer separates); the MLP probe's PS-fxn
accuracy under each model. Precondition: PS-fxn is linear under the original model (the
fixed one-cluster-per-label clustering needs it). Footnote 9 states that PS-fxn "is
still linearly separable even after fine-tuning on PS-role or POS tagging": that is the
paper's finding, so it is part of the rule, and a cross-tuned model under which PS-fxn
is non-linear does not hold.
"""

import pytest

from claims._framework import Evidence, cells, decide, settle
from harness.analyses import probing, snapshot_geometry

CLAIM = "F6"
PROBED = "ps-fxn"
RELATION = {"ps-role": "related", "pos": "opposing"}
RELATED_RULE = ("related task: PS-fxn stays linear, 0 < mean min-distance change < the "
                "same-task change, and original < PS-fxn probe accuracy < same-task accuracy")
OPPOSING_RULE = ("opposing task: PS-fxn stays linear, mean min-distance change < 0, a majority "
                 "of labels fall, and the PS-fxn probe accuracy falls below the original's")


def rule_related_task(linear_after, mean_change, same_task_mean_change, original_acc,
                      tuned_acc, same_task_acc):
    """Related task (PS-role), Table 5 rows 2-3 and section 4.4:

    * linearity: PS-fxn is linear under the cross-tuned model (footnote 9);
    * distances: ``0 < mean_change < same_task_mean_change`` ("also increases the
      distances ... but to a lesser extent": +1.02 against +5.29);
    * accuracy: ``original_acc < tuned_acc < same_task_acc`` ("slight improvement" over
      87.75, below the "highest performance" of PS-fxn itself: 88.53 < 89.58).

    No margins: the paper compares the means.
    """
    holds = (bool(linear_after) and 0 < mean_change < same_task_mean_change
             and original_acc < tuned_acc < same_task_acc)
    return holds, RELATED_RULE


def rule_opposing_task(linear_after, mean_change, n_fell, n_compared, original_acc, tuned_acc):
    """Opposing task (POS), Table 5 row 4 and section 4.4:

    * linearity: PS-fxn is linear under the cross-tuned model (footnote 9);
    * distances: ``mean_change < 0`` and a strict majority of the compared labels fall
      (``n_fell > n_compared / 2``; the paper: all 40 fall, -1.68 on average);
    * accuracy: ``tuned_acc < original_acc`` ("leading to a decrease in performance":
      83.24 < 87.75).
    """
    holds = (bool(linear_after) and mean_change < 0 and n_fell > n_compared / 2
             and tuned_acc < original_acc)
    return holds, OPPOSING_RULE


def check_cross_task(ws, cell, seed):
    source = cell.extra
    return measure_cross_task(ws, cell, seed, probed=PROBED, source=source,
                              related=RELATION[source] == "related")


def measure_cross_task(ws, cell, seed, *, probed, source, related, **extra_numbers):
    """F6's evidence for ``probed`` under the model fine-tuned on ``source`` (a related or
    an opposing task): the paper's PS-fxn cells here, a task file's declared partners in
    ``claims/test_user_tasks.py``. ``extra_numbers`` are recorded with the measured ones."""
    dist = snapshot_geometry.cross_task_min_distances(ws, cell.model, probed, source, seed=seed)
    headline = "{n_rose} rose / {n_fell} fell, {mean_change}; acc {original_acc} → {tuned_acc}"
    ev = Evidence(CLAIM, cell, headline=headline)
    rule = RELATED_RULE if related else OPPOSING_RULE
    name = "PS-fxn" if probed == PROBED else probed
    if not dist["linear_before"]:
        return ev.inapplicable(
            f"{name} is not linear under the original model: no one-cluster-per-label "
            "clustering to follow", rule=rule, linear_before=dist["linear_before"],
            linear_after=dist["linear_after"])
    if dist["mean_change"] is None:
        return ev.inapplicable(f"no {name} label has a cluster of min_cluster_size points",
                               rule=rule)
    original = probing.cross_task_accuracy(ws, cell.model, probed, None)
    tuned = probing.cross_task_accuracy(ws, cell.model, probed, source, seed=seed)
    numbers = dict(extra_numbers, n_rose=dist["n_rose"], n_fell=dist["n_fell"],
                   n_compared=dist["n_compared"], mean_change=dist["mean_change"],
                   original_acc=100 * original["accuracy_mean"],
                   tuned_acc=100 * tuned["accuracy_mean"], separates_after=dist["separates_after"],
                   linear_before=dist["linear_before"], linear_after=dist["linear_after"])
    if related:
        same = snapshot_geometry.cross_task_min_distances(ws, cell.model, probed, probed, seed=seed)
        same_acc = probing.cross_task_accuracy(ws, cell.model, probed, probed, seed=seed)
        numbers.update(same_task_mean_change=same["mean_change"],
                       same_task_acc=100 * same_acc["accuracy_mean"])
        holds, rule = rule_related_task(numbers["linear_after"], numbers["mean_change"],
                                        numbers["same_task_mean_change"],
                                        numbers["original_acc"], numbers["tuned_acc"],
                                        numbers["same_task_acc"])
    else:
        holds, rule = rule_opposing_task(numbers["linear_after"], numbers["mean_change"],
                                         numbers["n_fell"], numbers["n_compared"],
                                         numbers["original_acc"], numbers["tuned_acc"])
    return ev.decide(holds, rule, **numbers)


@pytest.mark.parametrize("cell", cells(CLAIM, tasks=(PROBED,), extra=("ps-role", "pos")))
def test_f6_cross_task_distances(cell, workspaces, evidence_sink):
    settle(decide(check_cross_task, workspaces(cell.tier), cell), evidence_sink)
