"""The analyses layer (what the claims decide on), on small hand-made snapshots.

A real :class:`~harness.analyses.Workspace` with its fine-tuning replaced by in-memory
vectors: the analysis code, its store cache and the geometry kernels all run for real.
"""

import numpy as np
import pytest

from snapshot_workspace import SnapshotWorkspace, blobs

from harness.analyses import snapshot_geometry
from harness.store import RunStore


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path)


def test_min_distance_curve_grows_when_labels_move_apart(store):
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    before = blobs(rng, centres)
    after = (before[0] * 3.0, before[1])  # everything scaled: every distance x3
    ws = SnapshotWorkspace({0: {1: before}, 10: {1: after}}, store)
    curve = snapshot_geometry.min_distance_curve(ws, "m", "t", 1)
    assert curve["linear_start"] and curve["linear_end"]
    d = np.asarray(curve["min_distance"])
    np.testing.assert_allclose(d[1], 3 * d[0], rtol=1e-6)
    # A second call is served from the store cache with the same numbers.
    again = snapshot_geometry.min_distance_curve(ws, "m", "t", 1, updates=["first", "last"])
    np.testing.assert_allclose(np.asarray(again["min_distance"]), d)


def test_cross_label_duplicates_are_left_out_of_distances(store):
    # Two labels share one vector (as repeated words do at an embedding layer).
    # DirectProbe drops it and calls the space linear; the distances must drop it too,
    # or the two labels would have minimum distance 0.
    rng = np.random.default_rng(1)
    X, y = blobs(rng, np.array([[0.0, 0.0], [2.0, 0.0]]))
    shared = np.array([[1.0, 0.0]])
    X = np.vstack([X, shared, shared])
    y = np.concatenate([y, ["l0", "l1"]])
    ws = SnapshotWorkspace({0: {0: (X, y)}, 5: {0: (X * 2, y)}}, store)
    with pytest.warns(Warning, match="cross-label duplicates"):
        clustered = snapshot_geometry.cluster(ws, ws.vectors("m", "t", 0, "train", 0))
    assert clustered["linear"] and clustered["n_dropped_duplicates"] == 2
    curve = snapshot_geometry.min_distance_curve(ws, "m", "t", 0)
    d = np.asarray(curve["min_distance"])
    assert np.all(d[0] > 1.5) and np.all(d[1] > 3.0), d


def test_nonlinear_start_gives_no_min_distances(store):
    rng = np.random.default_rng(2)
    X, y = blobs(rng, np.array([[0.0, 0.0], [0.05, 0.0]]), scale=0.5)  # overlapping
    ws = SnapshotWorkspace({0: {2: (X, y)}, 5: {2: (X, y)}}, store)
    curve = snapshot_geometry.min_distance_curve(ws, "m", "t", 2)
    assert curve["linear_start"] is False and curve["min_distance"] is None


def test_layer_similarity_is_one_for_a_scaled_space_and_lower_for_a_shuffle(store):
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((5, 3)) * 3
    X, y = blobs(rng, centres)
    moved = centres.copy()
    moved[[0, 1]] = moved[[1, 0]]  # swap two labels' places: distances re-paired
    X2, _ = blobs(rng, moved)
    ws = SnapshotWorkspace({0: {1: (X, y)}, 5: {1: (X * 2 + 1, y)}, 9: {1: (X2, y)}}, store)
    rec = snapshot_geometry.layer_similarity(ws, "m", "t", 1)
    assert rec["updates"] == [0, 5, 9]
    assert rec["similarity"][0] == pytest.approx(1.0)
    assert rec["similarity"][1] == pytest.approx(1.0)
    assert rec["similarity"][2] < 0.99


def test_centroid_shift_spread_is_rotation_invariant(store):
    rng = np.random.default_rng(4)
    centres = rng.standard_normal((4, 3))
    X, y = blobs(rng, centres)
    shift = rng.standard_normal((4, 3))
    X2 = X + np.repeat(shift, 8, axis=0)
    Q = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    ws1 = SnapshotWorkspace({0: {1: (X, y)}, 5: {1: (X2, y)}}, store)
    ws2 = SnapshotWorkspace({0: {1: (X @ Q, y)}, 5: {1: (X2 @ Q, y)}}, store)
    a = snapshot_geometry.centroid_shift(ws1, "m", "t", 1)
    b = snapshot_geometry.centroid_shift(ws2, "m", "t", 1)
    diff = shift - shift.mean(0)
    assert a["spread"] == pytest.approx(np.sqrt((diff ** 2).sum() / 4))
    assert a["spread"] == pytest.approx(b["spread"])
    assert np.asarray(a["pca"]).shape == (4, 2)


def test_fixed_distances_follow_the_authors_zeros_when_the_clustering_stops_separating(store):
    # Two labels move onto each other: the fixed clustering no longer separates them, and
    # the authors' convention gives the whole snapshot zeros (not only the touching pair).
    rng = np.random.default_rng(5)
    X, y = blobs(rng, [[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]])
    merged = X.copy()
    merged[y == "l1"] -= [2.0, 0.0]  # l1 onto l0
    ws = SnapshotWorkspace({0: {1: (X, y)}, 5: {1: (X * 2, y)}, 9: {1: (merged, y)}}, store)
    curve = snapshot_geometry.min_distance_curve(ws, "m", "t", 1)
    assert curve["separates"] == [True, True, False]
    d = np.asarray(curve["min_distance"])
    assert np.all(d[1] > d[0]) and np.all(d[2] == 0.0)
    sim = snapshot_geometry.layer_similarity(ws, "m", "t", 1)
    assert sim["separates"] == [True, True, False]
    assert sim["similarity"][1] == pytest.approx(1.0) and sim["similarity"][2] is None


def test_layer_similarity_needs_a_linear_original_layer(store):
    rng = np.random.default_rng(6)
    X, y = blobs(rng, [[0.0, 0.0], [0.05, 0.0]], scale=0.5)  # overlapping labels
    ws = SnapshotWorkspace({0: {1: (X, y)}, 5: {1: (X * 3, y)}}, store)
    rec = snapshot_geometry.layer_similarity(ws, "m", "t", 1)
    assert rec["linear_start"] is False and rec["similarity"] is None


def test_update_zero_is_read_from_the_first_seed_for_every_seed(tmp_path):
    # The pretrained model is the same for every seed: its vectors (and so every analysis
    # of the original, e.g. its DirectProbe clustering) come from one artifact.
    from dataclasses import replace
    from types import SimpleNamespace

    from harness.analyses import Workspace
    from harness.tiers import get_tier

    store = RunStore(tmp_path)
    keys = {}
    for seed in (0, 1):
        for update in (0, 4):
            with store.writer({"fake": "snapshot", "seed": seed, "update": update}) as w:
                w.save_array("layer0", np.full((3, 2), 10 * seed + update, np.float32))
                w.save_array("labels", np.array(["a", "b", "a"]))
            keys[seed, update] = w.artifact.key
    runs = {seed: SimpleNamespace(snapshots={u: {"train": keys[seed, u]} for u in (0, 4)})
            for seed in (0, 1)}

    class Stubbed(Workspace):
        def run(self, model, task, seed=None):
            return runs[self.seed(seed)]

    ws = Stubbed(replace(get_tier("tiny"), seeds=(0, 1)), store=store, progress=False)
    first = ws.vectors("m", "t", 0, "train", 0, seed=1)
    assert first.X[0, 0] == 0 and first.source.startswith("pretrained:")
    assert ws.vectors("m", "t", "first", "train", 0, seed=1).source == first.source
    assert ws.vectors("m", "t", "last", "train", 0, seed=1).X[0, 0] == 14
    last = ws.vectors("m", "t", "last", "train", 0)
    assert last.X[0, 0] == 4 and last.source == f"{keys[0, 4]}/layer0"
    # Named by content: a run of seed 1 alone reads its own update 0, and finds the
    # analyses of seed 0's (the same arrays), but not those of other arrays.
    alone = Stubbed(replace(get_tier("tiny"), seeds=(1,)), store=store, progress=False)
    other = alone.vectors("m", "t", 0, "train", 0)
    assert other.X[0, 0] == 10 and other.source != first.source
    with store.writer({"fake": "snapshot", "seed": 2, "update": 0}) as w:
        w.save_array("layer0", np.full((3, 2), 0, np.float32))
        w.save_array("labels", np.array(["a", "b", "a"]))
    runs[2] = SimpleNamespace(snapshots={0: {"train": w.artifact.key}, 4: runs[0].snapshots[4]})
    again = Stubbed(replace(get_tier("tiny"), seeds=(2,)), store=store, progress=False)
    assert again.vectors("m", "t", 0, "train", 0).source == first.source
