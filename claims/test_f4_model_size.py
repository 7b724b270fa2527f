"""F4 (section 4.2): smaller models are more often non-linear; TREC-50 is never linear.

Paper (Appendix C): before fine-tuning BERT-tiny is non-linear on 4 of 5 tasks, mini on
2, small/medium/base on 1 (TREC-50 only); TREC-50 is non-linear for every model, before
and after fine-tuning.

Operational tests. (a) Across the tier's models ordered by parameter count: the number of
tasks whose original last layer is non-linear never increases with model size. This needs
at least two models; a tier with one reports "not run". (b) Per model: the last layer is
non-linear for TREC-50 before and after fine-tuning.
"""

import pytest

from claims._framework import Evidence, cells, tier_models
from harness.analyses import geometry

CLAIM = "F4"


def _n_parameters(ws, model):
    from harness.models import load_model

    return sum(p.numel() for p in load_model(model, device="cpu").model.parameters())


def check_smaller_models_less_linear(ws, cell):
    models = sorted(tier_models(cell.tier), key=lambda m: _n_parameters(ws, m))
    nonlinear = {}
    for model in models:
        nonlinear[model] = sum(
            not geometry.cluster(ws, ws.vectors(model, task, "first", "train", -1))["linear"]
            for task in ws.tier.tasks)
    counts = [nonlinear[m] for m in models]
    return Evidence(CLAIM, cell).decide(
        all(a >= b for a, b in zip(counts, counts[1:])),
        "non-linear task count (original last layer) is non-increasing with model size",
        models_by_size=models, nonlinear_tasks=counts)


def check_trec_never_linear(ws, cell):
    result = {}
    for when in ("first", "last"):
        c = geometry.cluster(ws, ws.vectors(cell.model, cell.task, when, "train", -1))
        result[when] = c
    return Evidence(CLAIM, cell).decide(
        not result["first"]["linear"] and not result["last"]["linear"],
        "TREC-50 last layer non-linear before and after fine-tuning",
        clusters_before=result["first"]["n_clusters"], clusters_after=result["last"]["n_clusters"],
        n_labels=result["first"]["n_labels"],
        dropped_duplicates=result["first"]["n_dropped_duplicates"])


@pytest.mark.parametrize("cell", cells(CLAIM, per_model=False, needs_models=2))
def test_f4_smaller_models_more_often_nonlinear(cell, workspaces, evidence_sink):
    evidence = check_smaller_models_less_linear(workspaces(cell.tier), cell)
    evidence_sink.append(evidence)
    assert evidence.holds, evidence.message()


@pytest.mark.parametrize("cell", cells(CLAIM, tasks=("trec-50",)))
def test_f4_trec_never_linear(cell, workspaces, evidence_sink):
    evidence = check_trec_never_linear(workspaces(cell.tier), cell)
    evidence_sink.append(evidence)
    assert evidence.holds, evidence.message()
