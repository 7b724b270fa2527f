"""F5 (section 4.3): fine-tuning pushes labels apart.

Paper: "We track the minimum distance of each label to all other labels during
fine-tuning. We find that all the minimum distances are increasing." (Fig. 2; curves may
dip on the way, e.g. PS-role "Stuff"); TREC-50 is excluded because it is non-linear.

Operational test, per (model, task, layer) for the linear tasks: with one cluster per
label (the clustering a linear DirectProbe result is), the exact hull distance of every
label pair is measured in the training set of the original and of the final snapshot
(Fig. 2 draws every snapshot); the claim holds when every label's minimum distance is
larger after fine-tuning than before. Cross-label duplicate vectors (dropped by
DirectProbe) are left out of the distances too. A cell whose original
layer is not linear has no label-level minimum distance in the paper's sense: not run.
"""

import numpy as np
import pytest

from claims._framework import Evidence, cells
from harness.analyses import geometry

CLAIM = "F5"
LINEAR_TASKS = ("pos", "dep", "ps-role", "ps-fxn")


def check_min_distances_grow(ws, cell):
    curve = geometry.min_distance_curve(ws, cell.model, cell.task, cell.layer,
                                        updates=["first", "last"])
    if not curve["linear_start"]:
        pytest.skip(f"layer {cell.layer} of the original model is not linear for {cell.task}: "
                    "label minimum distances undefined as in the paper; not run")
    start, end = np.asarray(curve["min_distance"][0]), np.asarray(curve["min_distance"][-1])
    # Labels with fewer than min_cluster_size training points have no distance (the
    # authors drop clusters of <= 5 points); they are listed, not compared.
    defined = np.isfinite(start) & np.isfinite(end)
    labels = np.asarray(curve["labels"])
    grew = end[defined] > start[defined]
    return Evidence(CLAIM, cell).decide(
        bool(grew.all()) and defined.any(),
        "every label's minimum distance is larger at the end than at update 0",
        n_labels=len(labels), n_compared=int(defined.sum()), n_grew=int(grew.sum()),
        labels_not_grown=labels[defined][~grew].tolist(),
        labels_without_distance=labels[~defined].tolist(),
        min_start=float(start[defined].min()), min_end=float(end[defined].min()),
        mean_change=float((end[defined] - start[defined]).mean()),
        linear_end=curve["linear_end"])


@pytest.mark.parametrize("cell", cells(CLAIM, tasks=LINEAR_TASKS, per_layer=True))
def test_f5_min_distance_grows(cell, workspaces, evidence_sink):
    evidence = check_min_distances_grow(workspaces(cell.tier), cell)
    evidence_sink.append(evidence)
    assert evidence.holds, evidence.message()
