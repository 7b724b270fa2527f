"""Known deviations: claim cells that do not hold on a tier, and the numbers they keep.

Each entry is a :class:`~claims._envelope.Deviation`: the deciding numbers the cell is
expected to show, exact or :func:`~claims._envelope.within` a tolerance stated in the
entry. The cell is reported as "deviates" while its numbers stay inside that envelope; it
fails when they leave it, when it starts to hold, or when it stops being applicable, so
this table cannot go stale silently. Keys are ``(claim, cell id)``. The report prints the
measured numbers; an entry's ``note`` is interpretation only and holds no numbers.

Tolerances of the tiny tier come from its measured spread (``docs/claims.md``): the same
tier run on two machines and at two thread counts. Counts, label lists and flags did not
change between those runs and are exact here. The paper tier's entries keep the numbers
of its committed seed records (``reports/paper/seeds``); ``tests/test_claims_framework.py``
checks them against those records in every test run.
"""

from ._envelope import Deviation, within

# Spread of the tiny tier between two machines and between 1 and 2 threads (docs/claims.md):
# the numbers these entries keep moved by at most 6e-6 (similarities, distances) and 1.1
# points (probe accuracies, when the plain argmax picked another setting; 0.09 points
# between thread counts under the one-standard-error rule). Tolerances are a margin above
# that, far below the effects the entries describe.
GEOMETRY_TOL = 1e-3
GEOMETRY = ("geometric numbers: 1e-3, about 170 times the largest difference measured "
            "between two machines and between two thread counts (6e-6)")
PROBE_TOL = 2.0
PROBE = ("probe accuracies: 2 points, above the largest difference measured between two "
         "machines (1.1) and between two thread counts (0.09)")

_TINY = "tiny-minilm-l6"
_PAPER = "paper-minilm-l6"

# The paper tier's entries keep the numbers the claim run decides on: the means over the
# committed seeds of the cell's task (reports/paper/seeds; seeds 0 and 1 of every task and
# seed 2 of some, seed 1 alone for X2, which needs every task in one run), with the tiny
# tier's machine margin. A label list that differs between seeds is kept per seed. A seed
# added moves the means by more than the margin, and the entry then fails until it is
# rewritten from the records.
PAPER = ("the means over the committed seeds, geometric ones +- 1e-3 (the tiny tier's "
         "machine margin); a label list that differs between seeds is kept per seed")


def _f7_top_below_floor(similarity_end_by_layer, tolerance=GEOMETRY, model="this small model"):
    """An F7 deviation: ordered by depth at every snapshot, but the top layer(s) below
    the 0.5 floor at the end (the similarities per layer, layer 0 first)."""
    below = sum(v is not None and v <= 0.5 for v in similarity_end_by_layer)
    layers = f"top layers of {model} fall" if below > 1 else f"top layer of {model} falls"
    return Deviation(
        expect={"similarity_end_by_layer": within(similarity_end_by_layer, GEOMETRY_TOL),
                "layers_compared": [1, 2, 3, 4, 5, 6], "n_order_violations": 0},
        tolerance=tolerance + "; layer lists and counts exact",
        note=f"ordered by depth at every snapshot as in the paper, but the {layers} below "
             "the floor")


DEVIATIONS = {
    # The paper's own exception (Appendix C): BERT-small on PS-fxn.
    ("F1", "full-bert-small-ps-fxn"): Deviation(
        expect={"original_acc": within(86.26, 2.0), "tuned_acc": within(85.08, 2.0)},
        tolerance="the paper's numbers (Appendix C) +- 2 points: about four times the larger "
                  "of the paper's two probe standard deviations, for a reimplementation",
        note="the paper's one exception to this finding: fine-tuning lowers the probe accuracy"),

    # ---- tiny tier: minilm-l6 on capped data ----------------------------------------------
    ("F2", f"{_TINY}-ps-role"): Deviation(
        expect={"similarity_before": within(0.37533, GEOMETRY_TOL),
                "similarity_after": within(0.53010, GEOMETRY_TOL),
                "n_common_labels_before": 38, "n_pairs_before": 253},
        tolerance=GEOMETRY,
        note="train and test grow more alike; with a few hundred training sentences many "
             "PS-role labels have a handful of points, and their distances are noisy"),
    ("F3", f"{_TINY}-pos-L0"): Deviation(
        expect={"clusters_before": 19, "clusters_after": 19, "n_labels": 17,
                "dropped_duplicates": 236},
        tolerance="counts: exact",
        note="the embedding layer holds context-free word vectors that fine-tuning moves "
             "little; a label split across clusters stays split (one cluster more than "
             "before the separability tolerance, which now counts a pair of clusters "
             "closer than it as overlapping: docs/claims.md)"),
    ("F4", f"{_TINY}-trec-50"): Deviation(
        expect={"clusters_before": 41, "clusters_after": 41, "n_labels": 41,
                "linear_before": True, "linear_after": True},
        tolerance="counts and flags: exact",
        note="on the capped questions too few points per label to be non-linear; the paper "
             "used the whole training set"),
    ("F5", f"{_TINY}-pos-L1"): Deviation(
        expect={"n_compared": 15, "n_grew": 14, "labels_not_grown": ["PART"],
                "mean_change": within(0.32763, GEOMETRY_TOL)},
        tolerance=GEOMETRY + "; counts and labels exact",
        note="a lower layer (extension): one label's nearest neighbour comes closer"),
    ("F5", f"{_TINY}-dep-L1"): Deviation(
        expect={"n_compared": 33, "n_grew": 29,
                "labels_not_grown": ["nmod:tmod", "nsubj:pass", "obl:npmod", "xcomp"],
                "mean_change": within(0.24525, GEOMETRY_TOL)},
        tolerance=GEOMETRY + "; counts and labels exact",
        note="a lower layer (extension): rare relations whose nearest relation comes closer"),
    ("F5", f"{_TINY}-dep-L2"): Deviation(
        expect={"n_compared": 33, "n_grew": 30,
                "labels_not_grown": ["csubj", "nmod:tmod", "parataxis"],
                "mean_change": within(0.81575, GEOMETRY_TOL)},
        tolerance=GEOMETRY + "; counts and labels exact",
        note="a lower layer (extension): rare relations whose nearest relation comes closer"),
    ("F5", f"{_TINY}-dep-L3"): Deviation(
        expect={"n_compared": 33, "n_grew": 31, "labels_not_grown": ["csubj", "parataxis"],
                "mean_change": within(1.77273, GEOMETRY_TOL)},
        tolerance=GEOMETRY + "; counts and labels exact",
        note="a lower layer (extension): rare relations whose nearest relation comes closer"),
    ("F5", f"{_TINY}-dep-L4"): Deviation(
        expect={"n_compared": 33, "n_grew": 32, "labels_not_grown": ["csubj"],
                "mean_change": within(2.79032, GEOMETRY_TOL)},
        tolerance=GEOMETRY + "; counts and labels exact",
        note="a lower layer (extension): one rare relation whose nearest relation comes closer"),
    ("F5", f"{_TINY}-ps-role-L1"): Deviation(
        expect={"n_compared": 28, "n_grew": 27, "labels_not_grown": ["p.Source"],
                "mean_change": within(0.24106, GEOMETRY_TOL)},
        tolerance=GEOMETRY + "; counts and labels exact",
        note="a lower layer (extension): one label's nearest neighbour comes closer"),
    ("F6", f"{_TINY}-ps-fxn-pos"): Deviation(
        expect={"n_rose": 5, "n_fell": 12, "n_compared": 17,
                "mean_change": within(-0.14546, GEOMETRY_TOL),
                "original_acc": within(64.518, PROBE_TOL), "tuned_acc": within(67.412, PROBE_TOL)},
        tolerance=f"{GEOMETRY}; {PROBE}; counts exact",
        note="fine-tuning on POS shrinks the PS-fxn distances on average, as in the paper, but "
             "raises the PS-fxn probe accuracy instead of lowering it"),
    ("F7", f"{_TINY}-pos"): _f7_top_below_floor(
        [None, 0.98962, 0.94756, 0.83976, 0.71880, 0.43032, 0.26278]),
    ("F7", f"{_TINY}-dep"): _f7_top_below_floor(
        [0.99977, 0.98332, 0.91315, 0.80537, 0.70752, 0.44176, 0.25568]),
    ("F7", f"{_TINY}-ps-role"): _f7_top_below_floor(
        [0.99990, 0.99763, 0.95741, 0.85235, 0.77273, 0.53225, 0.32561]),
    ("F7", f"{_TINY}-ps-fxn"): _f7_top_below_floor(
        [0.99990, 0.99729, 0.95213, 0.85054, 0.79937, 0.54750, 0.39550]),

    # ---- tiny tier, claims from later literature (extension scope) -----------------------
    ("X2", f"{_TINY}-dep-vs-trec-50"): Deviation(
        expect={"dep_first_below": 4, "trec_first_below": 4,
                "dep_cka_by_layer": within(
                    [0.93256, 0.76563, 0.57639, 0.46179, 0.38507, 0.18194], GEOMETRY_TOL),
                "trec_cka_by_layer": within(
                    [0.84131, 0.83768, 0.63108, 0.13506, 0.13735, 0.07218], GEOMETRY_TOL)},
        tolerance=GEOMETRY + "; layers exact",
        note="both tasks first fall below the threshold at the same layer, and the question "
             "task's [CLS] vectors fall much further there and above it; a likely reason: "
             "this checkpoint was trained with mean pooling, so its [CLS] vector was no "
             "sentence representation to keep, unlike BERT's in Merchant et al."),

    # ---- paper tier: minilm-l6, the paper's protocol on full data (seed 0) ------------------
    ("F3", f"{_PAPER}-pos-L0"): Deviation(
        expect={"clusters_before": 27, "clusters_after": 28, "n_labels": 17,
                "linear_before": False, "linear_after": False, "dropped_duplicates": 1584},
        tolerance="counts and flags: exact",
        note="the embedding layer holds context-free word vectors that fine-tuning moves "
             "little; on full data a label split across clusters stays split, and one more "
             "cluster appears"),
    ("F5", f"{_PAPER}-dep-L1"): Deviation(
        expect={"n_compared": 39, "n_grew": within(36.33333, GEOMETRY_TOL),
                "labels_not_grown": [["cc:preconj", "expl"], ["cc:preconj", "expl", "iobj"],
                                     ["cc:preconj", "expl", "iobj"]],
                "mean_change": within(0.27129, GEOMETRY_TOL)},
        tolerance=PAPER + "; labels exact",
        note="a lower layer (extension): rare relations whose nearest relation comes closer"),
    ("F5", f"{_PAPER}-dep-L2"): Deviation(
        expect={"n_compared": 39, "n_grew": 37,
                "labels_not_grown": [["nmod:npmod", "obl:npmod"], ["cc:preconj", "nmod:npmod"],
                                     ["cc:preconj", "nmod:npmod"]],
                "mean_change": within(1.04129, GEOMETRY_TOL)},
        tolerance=PAPER + "; counts and labels exact",
        note="a lower layer (extension): rare relations whose nearest relation comes closer"),
    ("F5", f"{_PAPER}-dep-L5"): Deviation(
        expect={"n_compared": 39, "n_grew": 38,
                "labels_not_grown": [["obl:npmod"], [], ["nmod:npmod", "obl:npmod"]],
                "mean_change": within(4.90338, GEOMETRY_TOL)},
        tolerance=PAPER + "; counts and labels exact",
        note="a lower layer (extension): on two seeds of three a rare relation's nearest "
             "relation comes closer, on the other every relation moves away from its nearest"),
    ("F7", f"{_PAPER}-dep"): _f7_top_below_floor(
        [0.99968, 0.98791, 0.92167, 0.80674, 0.67370, 0.43491, 0.20875], tolerance=PAPER,
        model="this model"),
    ("F2", f"{_PAPER}-ps-role"): Deviation(
        expect={"similarity_before": within(0.39349, GEOMETRY_TOL),
                "similarity_after": within(0.43733, GEOMETRY_TOL),
                "n_common_labels_before": 40, "n_pairs_before": 276},
        tolerance=PAPER + "; counts exact",
        note="train and test grow more alike on the full data too, as on the tiny tier: "
             "the opposite of the paper's divergence"),
    ("F5", f"{_PAPER}-ps-role-L0"): Deviation(
        expect={"n_compared": 29, "n_grew": 27,
                "labels_not_grown": [["p.Agent", "p.Locus", "p.SocialRel", "p.Time"], []],
                "mean_change": within(0.22529, GEOMETRY_TOL)},
        tolerance=PAPER + "; counts and labels exact",
        note="the embedding layer (extension): context-free vectors of prepositions that "
             "fine-tuning barely moves; on one seed a few labels' nearest neighbours come "
             "closer, on the other every label moves away from its nearest; the rule needs "
             "a strict majority of the seeds"),
    ("F7", f"{_PAPER}-ps-role"): Deviation(
        expect={"similarity_end_by_layer": within(
                    [0.99956, 0.99495, 0.92547, 0.83678, 0.71486, 0.47459, 0.40263],
                    GEOMETRY_TOL),
                "layers_compared": [1, 2, 3, 4, 5, 6], "n_order_violations": 2,
                "max_order_excess": within(0.02761, GEOMETRY_TOL)},
        tolerance=PAPER + "; layer lists and counts exact",
        note="the top two layers fall below the floor at the end, and at two early "
             "snapshots the top layer is briefly more similar to its original than the "
             "layer below it, by a little more than the margin"),
    ("F3", f"{_PAPER}-ps-fxn-L0"): Deviation(
        expect={"clusters_before": 38, "clusters_after": 37.5, "n_labels": 36,
                "linear_before": False, "linear_after": False, "dropped_duplicates": 3232},
        tolerance="counts and flags: exact (means over the committed seeds)",
        note="the embedding layer (extension): context-free vectors of the same prepositions "
             "carry several functions; on one seed fine-tuning leaves its clusters as they "
             "were, on the other it merges one; the rule needs a strict majority of the "
             "seeds"),
    ("F6", f"{_PAPER}-ps-fxn-ps-role"): Deviation(
        expect={"n_rose": 37, "n_fell": 1, "n_compared": 38,
                "mean_change": within(1.99707, GEOMETRY_TOL),
                "same_task_mean_change": within(12.71074, GEOMETRY_TOL),
                "original_acc": within(77.243, PROBE_TOL), "tuned_acc": within(83.370, PROBE_TOL),
                "same_task_acc": within(83.501, PROBE_TOL)},
        tolerance=f"{PAPER}; {PROBE}; counts exact",
        note="fine-tuning on PS-role moves the PS-fxn labels apart, less than fine-tuning on "
             "PS-fxn itself, as in the paper; but on one seed the PS-fxn probe after PS-role "
             "comes out a little above the same-task probe, within the spread of the probes' "
             "initialisations, so the rule holds on one seed of two and has no majority"),
    ("F7", f"{_PAPER}-ps-fxn"): Deviation(
        # The by-layer similarities hold a None (the embedding layer is not linear), so
        # the seeds' lists are not averaged; the entry keeps the top and lowest layers.
        expect={"similarity_top": within(0.36766, GEOMETRY_TOL),
                "similarity_lowest": within(0.99617, GEOMETRY_TOL),
                "layers_compared": [1, 2, 3, 4, 5, 6], "layers_not_linear": [0],
                "n_order_violations": 2.5, "max_order_excess": within(0.06655, GEOMETRY_TOL)},
        tolerance=PAPER + "; layer lists and counts exact",
        note="the top two layers fall below the floor at the end, and in the first hundred "
             "updates the top layer is more similar to its original than the layer below it "
             "at a few snapshots"),
    ("F4", f"{_PAPER}-trec-50"): Deviation(
        expect={"clusters_before": 50, "clusters_after": 50, "n_labels": 50,
                "linear_before": True, "linear_after": True, "dropped_duplicates": 2},
        tolerance="counts and flags: exact",
        note="on every training question too, this model's last layer separates the "
             "labels before fine-tuning and after, where every BERT of the paper, base "
             "included, splits them over many more clusters than labels before and a few "
             "more after; this checkpoint is a sentence-embedding fine-tune, not a "
             "pre-trained BERT (whether that is why is not tested here)"),
    ("F8", f"{_PAPER}-trec-50"): Deviation(
        expect={"spread_by_layer": within(
                    [0.0, 0.02031, 0.01982, 0.01525, 0.16488, 6.70543, 13.93237], GEOMETRY_TOL),
                "spearman": within(0.8, GEOMETRY_TOL)},
        tolerance=PAPER,
        note="the spread grows by orders of magnitude in the top two layers, as in the paper, "
             "but the lower layers barely move and their order differs between seeds, so the "
             "rank test over the layers sits at its significance threshold: it passes on one "
             "seed and not on the other, and the rule needs a strict majority of the seeds"),
    ("X2", f"{_PAPER}-dep-vs-trec-50"): Deviation(
        expect={"dep_first_below": 4, "trec_first_below": 3,
                "dep_cka_by_layer": within(
                    [0.93262, 0.75995, 0.54335, 0.41632, 0.33475, 0.15484], GEOMETRY_TOL),
                "trec_cka_by_layer": within(
                    [0.73660, 0.68045, 0.45392, 0.18498, 0.14412, 0.06220], GEOMETRY_TOL)},
        tolerance=PAPER + "; layers exact",
        note="the question task's [CLS] vectors fall below the threshold one layer lower than "
             "the dependency task's tokens, the reverse of Merchant et al.; as on the tiny "
             "tier, a likely reason is that this checkpoint was trained with mean pooling, so "
             "its [CLS] vector was no sentence representation to keep"),
}
