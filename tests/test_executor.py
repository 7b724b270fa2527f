"""The executors: the plan of work units, serial and Ray runs meeting in the store.

The Ray test starts a real local Ray runtime (2 CPUs), precomputes a small tier through it
and checks that two claim cells decided on its store give the same evidence as on a store
the serial executor filled, and that the claims then compute nothing themselves.
"""

from dataclasses import replace

import pytest

from claims._framework import Cell, decide
from claims.test_f3_simplification import check_cluster_count_falls
from claims.test_f7_layer_similarity import check_layer_similarity
from harness import store as store_module
from harness.analyses import Workspace
from harness.executor import precompute, units
from harness.executor.units import Unit, plan
from harness.progress import StageProgress
from harness.store import RunStore
from harness.tiers import get_tier

#: A tier small enough for CI: 24 PUD sentences, 4 updates, snapshots at 0, 2 (last layer
#: only, float16) and 4, a one-setting probe grid, no cross-task runs.
SMALL_TIER = replace(
    get_tier("tiny"), name="ci", tasks=("pos",), seeds=(0,), n_snapshots=None,
    snapshot_every=2, data_options={"pos": {"max_train_sentences": 24, "max_test_sentences": 24}},
    cross_task={}, probe_grid={"hidden_sizes": [(16, 16)], "alpha": [1e-3], "max_iter": 30},
    probe_seeds=1,
    finetune_options={"max_updates": 4, "intermediate_layers": (-1,), "all_layers_every": 4,
                      "intermediate_dtype": "float16"})
CELLS = ((check_cluster_count_falls, Cell("ci", "minilm-l6", "pos", 6)),
         (check_layer_similarity, Cell("ci", "minilm-l6", "pos")))


def test_plan_orders_dependencies_first_and_names_each_unit_once():
    tier = get_tier("tiny")
    planned = plan(tier)
    ids = [u.id for u in planned]
    assert len(ids) == len(set(ids))
    position = {uid: i for i, uid in enumerate(ids)}
    for unit in planned:
        assert all(position[dep] < position[unit.id] for dep in unit.deps), unit.id
    runs = {u.id for u in planned if u.kind == "finetune"}
    # Every seed x task of the tier, plus the cross-task sources (PS-role, POS for F6).
    assert len(runs) == len(tier.tasks) * len(tier.seeds)
    # An analysis of a run depends on that run, directly or through a clustering.
    for unit in planned:
        if unit.kind in ("cluster", "probe") and unit.kwargs.get("update") != "cross":
            assert any(dep.startswith("finetune/") for dep in unit.deps), unit.id


def test_plan_follows_the_paper_schedule():
    """Distances only where the snapshot holds the layer: the last layer every 5 updates,
    the others at the all-layer snapshots (paper tier, POS: 250 updates); TREC-50 has
    snapshots at its two ends only, and no distances (it is not linear)."""
    tier = get_tier("paper").with_selection(tasks=["pos"], seeds=[0])
    planned = plan(replace(tier, cross_task={}))
    run = next(u for u in planned if u.kind == "finetune")
    assert run.n_updates == 250 and run.snapshots == tuple(range(0, 251, 5))
    distances = [u for u in planned if u.kind == "distances"]
    by_layer = {}
    for unit in distances:
        by_layer.setdefault(unit.kwargs["layer"], []).append(unit.kwargs["update"])
    assert sorted(by_layer[6]) == list(range(0, 251, 5))
    assert sorted(by_layer[3]) == [0, 5, 10, 15, 20, 50, 100, 150, 200, 250]
    trec = plan(replace(get_tier("paper").with_selection(tasks=["trec-50"], seeds=[0]),
                        cross_task={}))
    assert next(u for u in trec if u.kind == "finetune").snapshots == (0, 1710)
    assert not [u for u in trec if u.kind == "distances"]


def test_a_failed_unit_blocks_its_dependents_and_the_rest_goes_on(monkeypatch, tmp_path):
    calls = []

    def fake(ws, unit, report, **kwargs):
        calls.append(unit.id)
        if unit.id == "b":
            raise RuntimeError("boom")

    monkeypatch.setitem(units.UNIT_FUNCTIONS, "cluster", fake)
    planned = [Unit("a", "cluster"), Unit("b", "cluster"), Unit("c", "cluster", deps=("b",)),
               Unit("d", "cluster", deps=("a",))]
    monkeypatch.setattr("harness.executor.plan", lambda tier, data_dir=None: planned)
    summary = precompute(get_tier("tiny"), store=RunStore(tmp_path))
    assert calls == ["a", "b", "d"]
    assert list(summary.failed) == ["b"] and "boom" in summary.failed["b"]
    assert summary.blocked == ["c"] and summary.units == {"directprobe": 2}


def _evidence(tier, store):
    ws = Workspace(tier, store=store, progress=False)
    return [decide(check, ws, cell) for check, cell in CELLS]


def _usage():
    return store_module.usage()["artifacts_computed"]


@pytest.fixture(scope="module")
def one_torch_thread():
    """The driver runs torch on one thread, where a Ray worker would take the task's CPUs
    (2 for a fine-tuning run): the units must follow the driver, or the numbers differ."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def serial_store(tmp_path_factory, one_torch_thread):
    store = RunStore(tmp_path_factory.mktemp("serial"))
    summary = precompute(SMALL_TIER, executor="serial", store=store)
    assert not summary.failed and not summary.blocked
    return store, summary


def test_serial_precompute_leaves_nothing_for_the_claims(serial_store):
    store, summary = serial_store
    assert summary.units["fine-tune"] == 1 and summary.units["directprobe"] > 0
    before = _usage()
    evidence = _evidence(SMALL_TIER, store)
    assert _usage() == before  # every artifact the two cells read was stored already
    assert evidence[1].numbers["n_snapshots"] == 2  # updates 0 and 4 hold every layer
    # A second precompute finds everything stored: nothing is computed again.
    again = precompute(SMALL_TIER, executor="serial", store=store)
    assert _usage() == before and not again.failed


def test_ray_executor_gives_the_serial_evidence(serial_store, tmp_path):
    """Two claim cells through a local Ray runtime (2 CPUs): same evidence as serial."""
    pytest.importorskip("ray", reason="the Ray executor needs the [ray] extra (make venv)")
    store = RunStore(tmp_path)
    seen = StageProgress(enabled=False)
    summary = precompute(SMALL_TIER, executor="ray", store=store, num_cpus=2, progress=seen)
    assert not summary.failed and not summary.blocked
    assert summary.units == serial_store[1].units
    assert seen.done["fine-tune"] == seen.totals["fine-tune"] == 4  # updates, reported live
    assert seen.done["extract"] == seen.totals["extract"] == 3  # snapshots 0, 2, 4
    before = _usage()
    ray_evidence = _evidence(SMALL_TIER, store)
    assert _usage() == before
    for ours, theirs in zip(ray_evidence, _evidence(SMALL_TIER, serial_store[0])):
        assert (ours.holds, ours.not_applicable) == (theirs.holds, theirs.not_applicable)
        assert ours.numbers == theirs.numbers


def test_a_repeated_warning_is_shown_once_per_unit_with_its_count(monkeypatch, tmp_path):
    # A DirectProbe unit once printed 14 identical solver warnings: now one line, counted.
    import warnings

    from harness.exceptions import HarnessWarning

    def noisy(ws, unit, report, **kwargs):
        for _ in range(14):
            warnings.warn("feasible only within floating-point resolution", HarnessWarning)
        warnings.warn("another one", UserWarning)

    monkeypatch.setitem(units.UNIT_FUNCTIONS, "cluster", noisy)
    context = units.Context(tier=get_tier("tiny"), store_root=str(tmp_path))
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        units.execute(context, Unit("cluster/x", "cluster"))
    messages = sorted(str(w.message) for w in shown)
    assert messages == ["another one (unit cluster/x)",
                        "feasible only within floating-point resolution "
                        "(14 times in unit cluster/x)"]
    assert {w.category for w in shown} == {HarnessWarning, UserWarning}
