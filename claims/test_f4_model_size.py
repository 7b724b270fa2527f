"""F4 (section 4.2): smaller models are more often non-linear; TREC-50 is never linear.

Paper (Appendix C): before fine-tuning BERT-tiny is non-linear on 4 of 5 tasks, mini on
2, small/medium/base on 1 (TREC-50 only); TREC-50 is non-linear for every model, before
and after fine-tuning (footnotes 8 and 10 exclude it from the distance analyses for that
reason).

Measured at the paper's scope, the last layer: (a) across the tier's models ordered by
parameter count, the number of tasks whose original last layer is non-linear; this needs
at least two models ("not run" on a one-model tier). (b) Per model, TREC-50's DirectProbe
cluster count before and after fine-tuning.
"""

import pytest

from claims._framework import Evidence, cells, decide, settle, tier_models
from harness.analyses import snapshot_geometry

CLAIM = "F4"


def rule_smaller_models_less_linear(nonlinear_tasks):
    """The non-linear task count (original last layer) never increases with model size,
    and the smallest model has more than the largest (Appendix C: 4, 2, 1, 1, 1 from tiny
    to base); ``nonlinear_tasks`` is ordered by parameter count, smallest first.

    "Smaller models are more often non-linear" needs a drop: a flat profile (every model
    equally often non-linear, e.g. 1, 1, 1 or 0, 0) does not show it.
    """
    counts = list(nonlinear_tasks)
    never_increases = all(a >= b for a, b in zip(counts, counts[1:]))
    drops = len(counts) > 1 and counts[0] > counts[-1]
    return (never_increases and drops,
            "non-linear task count (original last layer) is non-increasing with model size "
            "and lower for the largest model than for the smallest")


def rule_trec_never_linear(linear_before, linear_after):
    """TREC-50's last layer is non-linear before and after fine-tuning (Appendix C, every
    model)."""
    return (not linear_before and not linear_after,
            "TREC-50 last layer non-linear before and after fine-tuning")


def _n_parameters(model):
    from harness.models import load_model

    return sum(p.numel() for p in load_model(model, device="cpu").model.parameters())


def check_smaller_models_less_linear(ws, cell, seed):
    # The original models only: the seed plays no part.
    models = sorted(tier_models(cell.tier), key=_n_parameters)
    counts = [sum(not snapshot_geometry.cluster(ws, ws.vectors(model, task, "first", "train", -1))["linear"]
                  for task in ws.tier.tasks) for model in models]
    holds, rule = rule_smaller_models_less_linear(counts)
    return Evidence(CLAIM, cell, headline="{nonlinear_tasks}").decide(
        holds, rule, models_by_size=models, nonlinear_tasks=counts)


def check_trec_never_linear(ws, cell, seed):
    first = snapshot_geometry.cluster(ws, ws.vectors(cell.model, cell.task, "first", "train", -1))
    last = snapshot_geometry.cluster(ws, ws.vectors(cell.model, cell.task, "last", "train", -1, seed=seed))
    holds, rule = rule_trec_never_linear(first["linear"], last["linear"])
    return Evidence(CLAIM, cell, headline="{clusters_before} → {clusters_after} clusters "
                                          "({n_labels} labels)").decide(
        holds, rule, clusters_before=first["n_clusters"], clusters_after=last["n_clusters"],
        n_labels=first["n_labels"], linear_before=first["linear"], linear_after=last["linear"],
        dropped_duplicates=first["n_dropped_duplicates"])


@pytest.mark.parametrize("cell", cells(CLAIM, per_model=False, needs_models=2))
def test_f4_smaller_models_more_often_nonlinear(cell, workspaces, evidence_sink):
    ws = workspaces(cell.tier)
    settle(decide(check_smaller_models_less_linear, ws, cell,
                  models=tier_models(cell.tier)), evidence_sink)


@pytest.mark.parametrize("cell", cells(CLAIM, tasks=("trec-50",)))
def test_f4_trec_never_linear(cell, workspaces, evidence_sink):
    settle(decide(check_trec_never_linear, workspaces(cell.tier), cell), evidence_sink)
