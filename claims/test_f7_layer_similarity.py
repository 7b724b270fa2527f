"""F7 (section 4.5): higher layers change more, but not arbitrarily.

Paper: "For the higher layers, we find that the Pearson correlation coefficient between
the original representation and the fine-tuned one is surprisingly high (more than
0.5), reinforcing the notion that fine-tuning does not change the representation
arbitrarily." Fig. 4 (BERT-base): the similarity falls with depth at every step (POS
0.65 / 0.75 / 0.87 / 0.96 / 0.99 for layers 12 / 10 / 8 / 6 / 2-4). TREC-50 is excluded.

Operational test, per (model, task): for every layer, the clustering of the original
layer (DirectProbe, training set) is kept fixed and its label-pair distance matrix is
measured in the final snapshot; the layer's spatial similarity is the Pearson
correlation with the original's. Holds when the similarity does not increase from one
transformer layer to the next (layers 1..L) and every layer's similarity is above 0.5.
"""

import pytest

from claims._framework import Evidence, cells
from harness.analyses import geometry

CLAIM = "F7"
TASKS = ("pos", "dep", "ps-role", "ps-fxn")


def final_layer_similarities(ws, model, task):
    n = ws.n_layers(model, task)
    last = ws.updates(model, task)[-1]
    return [geometry.layer_similarity(ws, model, task, layer, updates=[last])["similarity"][0]
            for layer in range(n + 1)]


def check_layer_similarity(ws, cell):
    sims = final_layer_similarities(ws, cell.model, cell.task)
    transformer = sims[1:]
    ordered = all(a >= b for a, b in zip(transformer, transformer[1:]))
    above = min(sims) > 0.5
    return Evidence(CLAIM, cell).decide(
        ordered and above,
        "similarity to the original non-increasing over layers 1..L and > 0.5 everywhere",
        similarity_by_layer=sims, ordered=ordered, min_similarity=min(sims))


@pytest.mark.parametrize("cell", cells(CLAIM, tasks=TASKS))
def test_f7_higher_layers_change_more_not_arbitrarily(cell, workspaces, evidence_sink):
    evidence = check_layer_similarity(workspaces(cell.tier), cell)
    evidence_sink.append(evidence)
    assert evidence.holds, evidence.message()
