"""X1 (beyond the paper; Merchant et al. 2020): fine-tuning changes the top layers most.

Merchant, Rahimtoroghi, Pavlick & Tenney, "What Happens To BERT Embeddings During
Fine-tuning?" (BlackboxNLP 2020), abstract: "fine-tuning is a conservative process that
primarily affects the top layers of BERT, albeit with noteworthy variation across tasks."
Zhou & Srikumar cite it for the same point (section 1: "fine-tuning changes higher layers
more than lower ones") and show it with their own spatial similarity (F7); this claim
tests it with a measure that needs no linear clustering, so on every task, TREC-50
included.

Measured per (model, task) on one fine-tuning seed: the debiased linear CKA
(:func:`harness.similarity.linear_cka`, unbiased HSIC) of each transformer layer 1..L at
the last snapshot against the same layer at update 0, over the same examples (the train
split, as the paper's layer analyses; :func:`harness.analyses.similarity.layer_cka`).
Layer 0 (the embeddings) is recorded and left out of the ordering, as F7 leaves it out
(and TREC-50's layer 0 is one [CLS] vector for every question, where CKA is undefined).

Rule, fixed before the claim was run: the CKA is non-increasing with depth up to the
tolerance of F7, 0.02 (``claims/test_f7_layer_similarity.ORDER_TOLERANCE``: the
resolution of the paper's Fig. 4 as read in FINDINGS.md section 6): no layer is more
similar to its original than any shallower one by more than 0.02, and the top layer's
CKA is below the lowest compared layer's by more than 0.02 (a flat profile shows no
layer changing most). Precondition: the top layer's CKA is defined, and at least two
transformer layers have one.

Also recorded (not part of the rule): the paper's spatial similarity of the same layers
at the end (F7's, where the original layer is linear) and Spearman's rho between the two
rankings of the layers (:func:`harness.analyses.similarity.rank_agreement`).
"""

import pytest

from claims._framework import Evidence, cells, decide, settle
from claims.test_f7_layer_similarity import (ORDER_TOLERANCE, order_excesses, order_violations,
                                             top_changed_more)
from harness.analyses import similarity

CLAIM = "X1"
HEADLINE = ("CKA layer 1 {cka_layer1}, top {cka_top}; {n_order_violations} order violations; "
            "Spearman vs Pearson {spearman_pearson_vs_cka}")


def rule_text(tol=ORDER_TOLERANCE):
    return (f"the debiased CKA of each transformer layer to its original does not grow with "
            f"depth by more than {tol} (all pairs of layers), and the top layer's is lower "
            f"than the lowest compared layer's by more than {tol}")


def rule_top_layers_change_most(cka, tol=ORDER_TOLERANCE):
    """Non-increasing with depth up to ``tol``.

    Parameters
    ----------
    cka : dict
        ``{layer: CKA to the original at the end}`` over the compared layers.

    Holds when no pair of layers ``l < l'`` has ``cka[l'] > cka[l] + tol``, and the top
    layer's CKA is below the lowest compared layer's by more than ``tol``
    (:func:`~claims.test_f7_layer_similarity.top_changed_more`: a flat profile, CKA 1.0
    everywhere, shows no layer changing most).
    """
    return not order_violations([cka], tol) and top_changed_more(cka, tol), rule_text(tol)


def check_top_layers_change_most(ws, cell, seed):
    records = similarity.cka_by_layer(ws, cell.model, cell.task, seed=seed)
    agreement = similarity.rank_agreement(ws, cell.model, cell.task, seed=seed)
    values = [r["cka"] for r in records]
    compared = [layer for layer in range(1, len(records)) if values[layer] is not None]
    numbers = dict(
        cka_end_by_layer=values, layers_compared=compared,
        undefined=[f"layer {k}: {r['undefined']}" for k, r in enumerate(records) if r["undefined"]],
        n_samples=records[-1]["n_samples"],
        pearson_end_by_layer=agreement["pearson"], layers_ranked=agreement["ranked_layers"],
        spearman_pearson_vs_cka=agreement["spearman"])
    ev = Evidence(CLAIM, cell, headline=HEADLINE)
    top = len(records) - 1
    if top not in compared:
        # As F7: the claim is about the top layers; it must not hold on the others alone.
        return ev.inapplicable(f"the top layer's (layer {top}) CKA is undefined: "
                               f"{records[top]['undefined']}", rule=rule_text(), **numbers)
    if len(compared) < 2:
        return ev.inapplicable("fewer than two transformer layers have a defined CKA",
                               rule=rule_text(), **numbers)
    cka = {layer: values[layer] for layer in compared}
    violations = order_violations([cka])
    holds, rule = rule_top_layers_change_most(cka)
    numbers.update(
        cka_layer1=cka.get(1), cka_top=cka[compared[-1]], n_order_violations=len(violations),
        max_order_excess=max((v[3] for v in order_excesses([cka])), default=None),
        order_violations=[f"layer {b} above layer {a} by {x:.3f}" for _, a, b, x in violations[:10]])
    return ev.decide(holds, rule, **numbers)


@pytest.mark.parametrize("cell", cells(CLAIM, scope="extension"))
def test_x1_top_layers_change_most(cell, workspaces, evidence_sink):
    settle(decide(check_top_layers_change_most, workspaces(cell.tier), cell), evidence_sink)
