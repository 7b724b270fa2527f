"""Report helpers: the labels Fig. 2 draws; the CKA section and figure (beyond the paper)."""

import numpy as np
import pytest

from snapshot_workspace import SnapshotWorkspace, blobs

from harness.report.figures import extreme_labels, fig6_cka_by_layer
from harness.report.markdown import cka_section, figure_not_drawn
from harness.store import RunStore


def test_extreme_labels_skip_labels_without_distance():
    change = np.array([np.nan, 0.5, -0.2, np.nan, 3.0, 1.0, 0.1, 2.0])
    assert extreme_labels(change) == [4, 7, 5, 2, 6, 1]


def test_extreme_labels_lists_each_label_once():
    assert extreme_labels([1.0, np.nan, 2.0]) == [2, 0]
    assert extreme_labels([np.nan, np.nan]) == []


@pytest.fixture
def depth_workspace(tmp_path):
    """Layers 0..3 of four separated labels; deeper layers get more noise by the end."""
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((4, 6)) * 6
    first, last = {}, {}
    for layer, noise in enumerate([0.0, 0.1, 1.0, 4.0]):
        X, y = blobs(rng, centres, n=12, scale=1.0)
        first[layer], last[layer] = (X, y), (X + noise * rng.standard_normal(X.shape), y)
    return SnapshotWorkspace({0: first, 9: last}, RunStore(tmp_path / "store"))


def test_cka_section_has_a_row_per_task_with_cka_pearson_and_spearman(depth_workspace):
    table = cka_section(depth_workspace, "m").splitlines()
    assert table[0] == ("| task | layer 0 | layer 1 | layer 2 | layer 3 | "
                        "Spearman (layers ranked) |")
    rows = table[2:]
    assert [r.split(" | ")[0] for r in rows] == [f"| {t}" for t in depth_workspace.tier.tasks]
    cells = rows[0].split(" | ")
    assert cells[1] == "1.000 / -"  # layer 0: CKA 1, no spatial similarity (as F7)
    assert cells[-1] == "+1.000 (3) |"  # both measures rank layers 1..3 alike
    cka = [float(c.split(" / ")[0]) for c in cells[1:5]]
    assert cka == sorted(cka, reverse=True)


def test_cka_heatmap_is_drawn(depth_workspace, tmp_path):
    path = fig6_cka_by_layer(depth_workspace, "m", ["pos", "dep"], tmp_path / "fig6.png")
    assert path.stat().st_size > 1000


def test_two_tiers_side_by_side_give_each_tiers_verdict_per_cell():
    from harness.report.markdown import tiers_side_by_side

    def rec(claim, task, verdict, extra=None):
        return {"claim": claim, "verdict": verdict, "scope": "paper",
                "cell": {"model": "m", "task": task, "extra": extra}}

    tiny = [rec("F1", "pos", "holds"), rec("F3", "pos", "not applicable"),
            rec("F6", "ps-fxn", "deviates", "pos"), rec("F6", "ps-fxn", "holds", "ps-role")]
    paper = [rec("F1", "pos", "holds"), rec("F3", "pos", "fails")]
    table = tiers_side_by_side({"tiny": tiny, "paper": paper}, ["pos", "ps-fxn"])
    rows = {line.split(" | ")[0]: line for line in table.splitlines()}
    assert rows["| **F1**"] == "| **F1** | holds / holds |  |"
    assert rows["| **F3**"] == "| **F3** | n/a / FAILS |  |"
    assert rows["| **F6**"] == "| **F6** |  | deviates, holds / - |"
    assert table.startswith("| finding (tiny / paper) | pos | ps-fxn |")


@pytest.mark.parametrize("name, tasks, drawn", [
    ("fig2_min_distance.png", ["trec-50"], False),
    ("fig4_layer_similarity.png", ["trec-50"], False),
    ("fig2_min_distance.png", ["trec-50", "dep"], True),
    ("fig3_centroid_paths.png", ["dep"], False),
    ("fig5_centroid_differences.png", ["pos"], True),
    ("fig6_cka_by_layer.png", ["trec-50"], True),
])
def test_a_figure_with_no_selected_task_to_draw_says_why_instead_of_failing(name, tasks, drawn):
    # A run over TREC-50 alone once logged a matplotlib traceback ("Number of columns must
    # be a positive integer, not 0") for Figs. 2 and 4.
    reason = figure_not_drawn(name, tasks)
    assert (reason is None) == drawn
    if not drawn:
        assert reason
