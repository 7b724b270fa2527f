"""F8 (section 4.5): lower layers move less.

Paper: "the motion range of lower layers is much smaller than the higher layers. The
projected two dimensions range from -1 to 3 and from -3 to 3 for layer two, while for
layer 12 they range from -12 to 13 and -12 to 8, suggesting that labels in lower layers
only move in a small region compared to higher layers." (Fig. 5, POS, BERT-base; Appendix
E extends it to the other tasks.)

Measured per (model, task): for every layer, the per-label centroid difference vectors
(after - before fine-tuning, training set) and their spread, the root of their total
variance (the PCA-invariant size of the figure's cloud; the 2-D PCA ranges are recorded
too).
"""

import numpy as np
import pytest
from scipy import stats

from claims._framework import Evidence, cells, decide, settle
from harness.analyses import snapshot_geometry

CLAIM = "F8"
#: The paper's figure: layer 12's ranges are 25/4 = 6.25 and 20/6 = 3.3 times layer 2's;
#: "much smaller" is taken as the smaller of the two, rounded down.
MIN_RATIO = 3.0
#: One-sided significance of the depth trend (conventional level; a profile with no
#: depth trend passes with probability at most ALPHA).
ALPHA = 0.05
#: The exact permutation test needs n! > 1 / ALPHA orderings to ever reach ALPHA.
MIN_LAYERS = 4
HEADLINE = "top/layer-1 spread ×{top_to_layer1_ratio}, Spearman {spearman} (p={p_value})"


def rule_text(min_ratio=MIN_RATIO, alpha=ALPHA):
    return (f"the spread grows with depth: Spearman(depth, spread) over layers 1..L "
            f"significant (one-sided exact permutation p <= {alpha}) and top-layer spread >= "
            f"{min_ratio} x layer 1's")


def depth_trend(spread):
    """Spearman's rho of spread against depth and its exact one-sided permutation p-value.

    Every ordering of the layers is equally likely under "no depth trend"; p is the share
    of orderings with a correlation at least the observed one (exact for up to 8 layers,
    9999 seeded resamples above). A constant profile has no correlation: rho is nan, p 1.
    """
    spread = np.asarray(spread, dtype=float)
    depth = np.arange(len(spread))
    if np.ptp(spread) == 0:
        return float("nan"), 1.0

    centred_depth = depth - depth.mean()

    def rho(x, axis=-1):  # Spearman's rho against depth, for a batch of orderings at once
        ranks = stats.rankdata(x, axis=axis)
        ranks = ranks - ranks.mean(axis=axis, keepdims=True)
        return (ranks @ centred_depth) / np.sqrt((ranks ** 2).sum(axis=axis)
                                                 * (centred_depth ** 2).sum())

    test = stats.permutation_test((spread,), rho, permutation_type="pairings",
                                  alternative="greater", n_resamples=9999, vectorized=True,
                                  rng=0)
    return float(test.statistic), float(test.pvalue)


def rule_lower_layers_move_less(spread, min_ratio=MIN_RATIO, alpha=ALPHA):
    """The spread grows with depth, in a form a flat or shuffled profile fails.

    ``spread`` lists layers 1..L (shallow to deep). Holds when (a) the depth trend is
    significant: Spearman's rho > 0 with exact one-sided permutation p <= ``alpha``; and
    (b) the top layer's spread is at least ``min_ratio`` times layer 1's (the paper's
    figure ranges, see ``MIN_RATIO``).
    """
    rho, p = depth_trend(spread)
    ratio = spread[-1] / spread[0] if spread[0] > 0 else float("inf")
    holds = bool(rho > 0 and p <= alpha and ratio >= min_ratio)
    return holds, rule_text(min_ratio, alpha)


def check_lower_layers_move_less(ws, cell, seed):
    n = ws.n_layers(cell.model, cell.task)
    shifts = [snapshot_geometry.centroid_shift(ws, cell.model, cell.task, layer, seed=seed)
              for layer in range(n + 1)]
    spread = [s["spread"] for s in shifts]
    ev = Evidence(CLAIM, cell, headline=HEADLINE)
    if n < MIN_LAYERS:
        return ev.inapplicable(f"{n} transformer layers: a depth trend over fewer than "
                               f"{MIN_LAYERS} layers cannot be told from chance at {ALPHA}",
                               rule=rule_text(),
                               spread_by_layer=spread)
    rho, p = depth_trend(spread[1:])
    holds, rule = rule_lower_layers_move_less(spread[1:])
    return ev.decide(
        holds, rule, spread_by_layer=spread, spearman=rho, p_value=p,
        top_to_layer1_ratio=spread[n] / spread[1] if spread[1] > 0 else None,
        pca_range_layer1=shifts[1]["pca_range"], pca_range_top=shifts[n]["pca_range"])


@pytest.mark.parametrize("cell", cells(CLAIM))
def test_f8_lower_layers_move_less(cell, workspaces, evidence_sink):
    settle(decide(check_lower_layers_move_less, workspaces(cell.tier), cell), evidence_sink)
