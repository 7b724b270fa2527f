"""F7 (section 4.5): higher layers change more, but not arbitrarily.

Paper: "For the higher layers, we find that the Pearson correlation coefficient between
the original representation and the fine-tuned one is surprisingly high (more than
0.5), reinforcing the notion that fine-tuning does not change the representation
arbitrarily." Fig. 4 (BERT-base, every other layer, every snapshot): the similarity falls
with depth at every step (end of fine-tuning, POS: 0.65 / 0.75 / 0.87 / 0.96 / 0.99 for
layers 12 / 10 / 8 / 6 / 2-4; DEP 0.52 / 0.63 / 0.79 / 0.91 / 0.97-0.99; FINDINGS.md
section 6). Footnote 10: TREC-50 is excluded, "We can not have the distance vectors for
non-linear representations."

Measured per (model, task), over the transformer layers 1..L whose original layer is
linear (footnote 10; the others are listed, not compared): the original layer's
one-cluster-per-label clustering is kept fixed; at every snapshot that holds all layers
(a tier's schedule may keep the last layer more often) its label distances are
measured under the authors' convention (zeros where it no longer separates every pair of
labels, whose correlation is undefined: such a (snapshot, layer) is listed and left out
of the ordering, and at the end it fails the floor, since a layer whose original clustering
no longer separates has not kept its structure) and correlated with the original's
(Pearson over the label pairs with a distance).
Precondition: the top layer is linear at the start (footnote 10 excludes non-linear
*tasks*; a top layer without a distance vector cannot show that higher layers change
more, and the claim must not hold on the lower layers alone), and at least two such
layers. Rule (:func:`rule_layer_similarity`): the depth ordering at every snapshot, the
top layer changed more than the lowest compared layer by more than the ordering
tolerance at the end (a flat profile does not hold), and the floor.
"""

import pytest

from claims._framework import Evidence, cells, decide, settle
from harness.analyses import snapshot_geometry

CLAIM = "F7"
TASKS = ("pos", "dep", "ps-role", "ps-fxn")
#: Depth-ordering tolerance: the resolution of the paper's Fig. 4 as read in FINDINGS.md
#: section 6, which gives layers 2-4 of DEP one band, "0.97-0.99".
ORDER_TOLERANCE = 0.02
#: "more than 0.5" (section 4.5).
FLOOR = 0.5
HEADLINE = "top {similarity_top}, min {min_similarity_end}; {n_order_violations} order violations"


def rule_text(tol=ORDER_TOLERANCE, floor=FLOOR):
    return (f"at every snapshot no deeper layer is more similar to its original than a "
            f"shallower one by more than {tol}; at the end the top layer is less similar than "
            f"the lowest compared layer by more than {tol}, and every layer's similarity is "
            f"> {floor}")


def rule_layer_similarity(similarity, final, tol=ORDER_TOLERANCE, floor=FLOOR):
    """Depth ordering at every snapshot, and the floor at the end.

    Parameters
    ----------
    similarity : list of dict
        Per snapshot, ``{layer: Pearson similarity to the original}`` over the compared
        layers (a missing layer: undefined at that snapshot).
    final : dict
        ``{layer: similarity}`` at the final snapshot.

    Holds when (a) at every snapshot no layer is more similar to its original than any
    shallower layer by more than ``tol`` (all pairs ``l < l'``: ``s[l'] <= s[l] + tol``),
    (b) the top layer changed more than the lowest compared layer by the end
    (:func:`top_changed_more`), and (c) every compared layer's similarity is above
    ``floor`` at the end (every layer defined there).
    """
    violations = order_violations(similarity, tol)
    above = bool(final) and all(s is not None and s > floor for s in final.values())
    return not violations and top_changed_more(final, tol) and above, rule_text(tol, floor)


def top_changed_more(final, tol=ORDER_TOLERANCE):
    """The deepest layer of ``final`` (``{layer: similarity at the end}``) is less similar
    to its original than the shallowest by more than ``tol``.

    (a) alone tolerates a flat profile (every layer at 0.99): "higher layers change more"
    needs the top to have moved measurably further than the bottom. Undefined on either
    side (None), or fewer than two layers, does not show it.
    """
    layers = sorted(final)
    if len(layers) < 2:
        return False
    lowest, top = final[layers[0]], final[layers[-1]]
    return lowest is not None and top is not None and lowest - top > tol


def order_excesses(similarity):
    """``(snapshot index, shallower layer, deeper layer, excess)`` for every pair of
    layers defined at a snapshot; ``excess`` is how much more similar the deeper one is."""
    out = []
    for k, by_layer in enumerate(similarity):
        layers = sorted(by_layer)
        for i, low in enumerate(layers):
            for high in layers[i + 1:]:
                out.append((k, low, high, by_layer[high] - by_layer[low]))
    return out


def order_violations(similarity, tol=ORDER_TOLERANCE):
    """The :func:`order_excesses` above ``tol``."""
    return [v for v in order_excesses(similarity) if v[3] > tol]


def check_layer_similarity(ws, cell, seed):
    n = ws.n_layers(cell.model, cell.task)
    # "At every snapshot": the snapshots that hold every layer (a schedule may keep the
    # last layer more often than the others, see harness.finetune.snapshot_plan).
    updates = sorted(set.intersection(*(
        set(ws.updates(cell.model, cell.task, seed=seed, layer=layer, split="train"))
        for layer in range(n + 1))))
    records = {layer: snapshot_geometry.layer_similarity(ws, cell.model, cell.task, layer,
                                                updates=updates, seed=seed)
               for layer in range(n + 1)}
    compared = [layer for layer in range(1, n + 1) if records[layer]["linear_start"]]
    not_linear = [layer for layer in range(n + 1) if not records[layer]["linear_start"]]
    per_snapshot = [{layer: records[layer]["similarity"][k] for layer in compared
                     if records[layer]["similarity"][k] is not None}
                    for k in range(len(updates))]
    undefined = [f"update {updates[k]}, layer {layer}" for layer in compared
                 for k in range(len(updates)) if records[layer]["similarity"][k] is None]
    end = [records[layer]["similarity"][-1] if records[layer]["linear_start"] else None
           for layer in range(n + 1)]
    ev = Evidence(CLAIM, cell, headline=HEADLINE)
    numbers = dict(similarity_end_by_layer=end, layers_compared=compared,
                   layers_not_linear=not_linear, undefined=undefined, n_snapshots=len(updates))
    if n not in compared:
        # Footnote 10 leaves out non-linear tasks, not layers: the claim is about the top
        # layers, and must not hold on the lower layers alone.
        return ev.inapplicable(
            f"the top layer (layer {n}) is not linear at the start: it has no distance "
            "vector to compare, and the claim is about the top layers", rule=rule_text(),
            **numbers)
    if len(compared) < 2:
        return ev.inapplicable(
            f"fewer than two transformer layers are linear at the start (layers not linear: "
            f"{not_linear}): no depth ordering to test", rule=rule_text(),
            **numbers)
    final = {layer: records[layer]["similarity"][-1] for layer in compared}
    violations = order_violations(per_snapshot)
    holds, rule = rule_layer_similarity(per_snapshot, final)
    defined_end = [s for s in final.values() if s is not None]
    numbers.update(
        similarity_top=final[compared[-1]],
        similarity_lowest=final[compared[0]],
        min_similarity_end=min(defined_end) if defined_end else None,
        n_order_violations=len(violations),
        max_order_excess=max((v[3] for v in order_excesses(per_snapshot)), default=None),
        order_violations=[f"update {updates[k]}: layer {b} above layer {a} by {x:.3f}"
                          for k, a, b, x in violations[:10]])
    return ev.decide(holds, rule, **numbers)


@pytest.mark.parametrize("cell", cells(CLAIM, tasks=TASKS, user_tasks=True))
def test_f7_higher_layers_change_more_not_arbitrarily(cell, workspaces, evidence_sink):
    settle(decide(check_layer_similarity, workspaces(cell.tier), cell), evidence_sink)
