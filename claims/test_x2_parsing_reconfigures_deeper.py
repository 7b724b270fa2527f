"""X2 (beyond the paper; Merchant et al. 2020): parsing reconfigures deeper than
sentence classification.

Merchant, Rahimtoroghi, Pavlick & Tenney, "What Happens To BERT Embeddings During
Fine-tuning?" (BlackboxNLP 2020), abstract: "In particular, dependency parsing
reconfigures most of the model, whereas SQuAD and MNLI involve much shallower
processing." Here the dependency-style task is the paper's DEP (head-modifier pairs) and
the sentence-level one TREC-50 ([CLS] classification), the two ends of Zhou & Srikumar's
tasks.

Measured per model on one fine-tuning seed: the debiased linear CKA of each transformer
layer 1..L to its original (as X1, :func:`harness.analyses.similarity.layer_cka`), for
DEP and for TREC-50. A layer is *reconfigured* when its CKA is below
:data:`THRESHOLD` = 0.5; the *reconfiguration depth* of a task is its lowest
reconfigured layer (none: above the top).

Threshold, fixed before the claim was run. Merchant et al. state the finding in words
only (the sentence above); the number is Zhou & Srikumar's own line between a layer that
fine-tuning changed "not arbitrarily" and one it did not keep (section 4.5: "the Pearson
correlation coefficient between the original representation and the fine-tuned one is
surprisingly high (more than 0.5), reinforcing the notion that fine-tuning does not
change the representation arbitrarily"; F7's floor), carried over to CKA, which has the
same two anchors (1: the same representation up to rotation and scale; 0: unrelated).

Rule: DEP's reconfiguration depth is strictly lower than TREC-50's (TREC-50 may have no
reconfigured layer). A DEP that never falls below the threshold does not reconfigure
"most of the model": the finding fails, it is no missing precondition. Not applicable
only when a task has no transformer layer with a defined CKA (its depth was not
measured: an unmeasured TREC-50 must not count as "never reconfigured"); not run when
the tier's selection lacks TREC-50.
"""

import pytest

from claims._framework import Evidence, cells, decide, settle
from harness.analyses import similarity

CLAIM = "X2"
DEEP, SHALLOW = "dep", "trec-50"
#: Zhou & Srikumar section 4.5, "more than 0.5" (see the module docstring).
THRESHOLD = 0.5
HEADLINE = "first layer below {threshold}: DEP {dep_first_below}, TREC-50 {trec_first_below}"


def rule_text(threshold=THRESHOLD):
    return (f"the lowest transformer layer whose debiased CKA to its original is below "
            f"{threshold} is lower for DEP than for TREC-50 (none for TREC-50 counts as above "
            "the top)")


def first_below(cka, threshold=THRESHOLD):
    """Lowest layer of ``{layer: CKA}`` below ``threshold`` (None when there is none)."""
    return min((layer for layer, v in cka.items() if v is not None and v < threshold),
               default=None)


def rule_parsing_reconfigures_deeper(deep_first, shallow_first, threshold=THRESHOLD):
    """Holds when ``deep_first`` (DEP's depth) is a layer and is below ``shallow_first``
    (TREC-50's; None is above every layer). DEP with no reconfigured layer does not hold,
    whatever TREC-50 does."""
    holds = deep_first is not None and (shallow_first is None or deep_first < shallow_first)
    return holds, rule_text(threshold)


def check_parsing_reconfigures_deeper(ws, cell, seed):
    if SHALLOW not in ws.tier.tasks:
        pytest.skip(f"not run: the selection lacks {SHALLOW} (tasks: {', '.join(ws.tier.tasks)})")
    per_task = {}
    for task in (DEEP, SHALLOW):
        values = [r["cka"] for r in similarity.cka_by_layer(ws, cell.model, task, seed=seed)]
        per_task[task] = {layer: values[layer] for layer in range(1, len(values))}
    deep, shallow = first_below(per_task[DEEP]), first_below(per_task[SHALLOW])
    numbers = dict(threshold=THRESHOLD, dep_first_below=deep, trec_first_below=shallow,
                   dep_cka_by_layer=list(per_task[DEEP].values()),
                   trec_cka_by_layer=list(per_task[SHALLOW].values()))
    ev = Evidence(CLAIM, cell, headline=HEADLINE)
    unmeasured = [task for task, cka in per_task.items()
                  if all(v is None for v in cka.values())]
    if unmeasured:
        return ev.inapplicable(f"no transformer layer of {', '.join(unmeasured)} has a "
                               "defined CKA: its reconfiguration depth was not measured",
                               rule=rule_text(), **numbers)
    holds, rule = rule_parsing_reconfigures_deeper(deep, shallow)
    return ev.decide(holds, rule, **numbers)


@pytest.mark.parametrize("cell", cells(CLAIM, tasks=(DEEP,), extra=(f"vs-{SHALLOW}",),
                                       scope="extension"))
def test_x2_parsing_reconfigures_deeper_than_sentence_classification(cell, workspaces,
                                                                     evidence_sink):
    settle(decide(check_parsing_reconfigures_deeper, workspaces(cell.tier), cell),
           evidence_sink)
