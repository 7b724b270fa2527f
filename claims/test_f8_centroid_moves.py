"""F8 (section 4.5): lower layers move less.

Paper: "the motion range of lower layers is much smaller than the higher layers. The
projected two dimensions range from -1 to 3 and from -3 to 3 for layer two, while for
layer 12 they range from -12 to 13 and -12 to 8, suggesting that labels in lower layers
only move in a small region compared to higher layers." (Fig. 5, POS, BERT-base.)

Operational test, per (model, task): for every layer, the per-label centroid difference
vectors (after - before fine-tuning, training set); their spread is the root of their
total variance (the PCA-invariant size of the figure's cloud). Holds when the spread of
the top layer exceeds that of the lowest transformer layer (layer 1) and the spread
grows with depth on average (Spearman correlation of spread with layer index > 0).
"""

import pytest
from scipy.stats import spearmanr

from claims._framework import Evidence, cells
from harness.analyses import geometry

CLAIM = "F8"


def check_lower_layers_move_less(ws, cell):
    n = ws.n_layers(cell.model, cell.task)
    shifts = [geometry.centroid_shift(ws, cell.model, cell.task, layer) for layer in range(n + 1)]
    spread = [s["spread"] for s in shifts]
    rho = float(spearmanr(range(1, n + 1), spread[1:]).statistic) if n > 1 else float("nan")
    return Evidence(CLAIM, cell).decide(
        spread[n] > spread[1] and rho > 0,
        "centroid-difference spread at the top layer > at layer 1 and Spearman(depth, spread) > 0",
        spread_by_layer=spread, spearman=rho, pca_range_layer1=shifts[1]["pca_range"],
        pca_range_top=shifts[n]["pca_range"])


@pytest.mark.parametrize("cell", cells(CLAIM))
def test_f8_lower_layers_move_less(cell, workspaces, evidence_sink):
    evidence = check_lower_layers_move_less(workspaces(cell.tier), cell)
    evidence_sink.append(evidence)
    assert evidence.holds, evidence.message()
