"""Cost of the paper tier per task and seed: measured stages, projected runs.

Each stage runs in a child process of its own (wall time and peak RSS from ``wait4``),
with a time limit; a stage that exceeds it is recorded as ``> limit``:

* ``finetune``: a run of ``--updates`` updates (default 15) under the paper schedule
  with snapshots of every kind (update 0 and the end: all layers of train and test in
  float32; update 5: last layer of train in float16; update 10: all layers of train in
  float16). Gives seconds per update (training only) and seconds per snapshot of each
  kind (the stored artifacts' ``extract_s``).
* ``directprobe``: DirectProbe on the original last layer's training set.
* ``distances``: one ``distances`` unit as the executor runs it, on the original last
  layer's training set: DirectProbe's verdict on that layer gates it (the cluster unit,
  stored first and not counted), and only a linear layer gets the fixed one-cluster-per-
  label clustering's check and hull distances.
* ``probe``: the paper's probe grid (128 settings, 5 initialisations of the best) on the
  original last layer.

The projection multiplies these by the paper tier's plan for one seed
(:func:`harness.executor.plan`: updates, snapshots of each kind, DirectProbe runs,
distance units, probes) and sums the exact store bytes of every planned snapshot. Every
number says whether it is measured or projected.

Usage::

    nice python benchmarks/paper_tier_cost.py --tasks pos dep ps-role ps-fxn trec-50 \\
        --stages finetune distances --json docs/device-logs/paper_tier_cost.json
"""

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

MODEL = "minilm-l6"


# ---- child: one stage, result as JSON on stdout ------------------------------------------
def child(stage, task, store_root, updates):
    from harness.analyses import Workspace, probing, snapshot_geometry
    from harness.data import load_task
    from harness.finetune import FinetuneConfig, finetune
    from harness.models import load_model
    from harness.representations import get_representations
    from harness.store import RunStore
    from harness.tiers import get_tier

    store = RunStore(store_root)
    tier = get_tier("paper").with_selection(tasks=[task], seeds=[0])
    if stage == "finetune":
        options = {**tier.finetune_options, "all_layers_until": 0, "all_layers_every": 10,
                   "max_updates": updates}
        config = FinetuneConfig(model=MODEL, task=task, seed=0, snapshot_every=5,
                                intermediate_splits=("train",), **options)
        run = finetune(config, store=store, progress=False)
        snapshots = []
        for update, splits in sorted(run.snapshots.items()):
            for split, key in splits.items():
                art = store.open(key)
                snapshots.append({"update": update, "split": split,
                                  "n_layers": sum(n.startswith("layer") for n in art.array_names()),
                                  "dtype": art.config["dtype"],
                                  "extract_s": art.manifest["timings"]["extract_s"],
                                  "bytes": store.size_bytes(key)})
        return {"train_s": run.manifest["timings"]["train_s"], "n_updates": updates,
                "snapshots": snapshots, "model_bytes": store.size_bytes(run.key)}
    # The other stages read the original model's last layer (what update 0 holds).
    ws = Workspace(tier, store=store, progress=False)
    data, loaded = load_task(task), load_model(MODEL)

    def original(split):
        art = get_representations(data, loaded, split, layers=[-1], store=store, progress=False)
        return ws._vectors(art, -1)

    train = original("train")
    started = time.perf_counter()
    if stage == "directprobe":
        result = snapshot_geometry.cluster(ws, train)
        out = {k: result[k] for k in ("n_clusters", "n_labels", "linear", "n_oracle_calls")}
    elif stage == "distances":
        # As the executor's unit runs it (snapshot_geometry.layer_similarity): the fixed
        # clustering exists only where DirectProbe finds the original layer linear, and
        # that DirectProbe run is the cluster unit's (a dependency, stored), so it comes
        # first and is not counted here; a non-linear layer's unit does no distances.
        start = snapshot_geometry.cluster(ws, train)
        started = time.perf_counter()
        out = {"linear_start": start["linear"], "n_labels": start["n_labels"]}
        if start["linear"]:
            fixed = snapshot_geometry.label_clustering(train, start)
            d = snapshot_geometry.fixed_distances(ws, train, fixed)
            out["separates"] = d["separates"]
    elif stage == "probe":
        test = original("test")
        result = probing.probe(ws, train, test)
        out = {k: result[k] for k in ("accuracy_mean", "hidden_sizes", "alpha")}
    else:
        raise ValueError(f"unknown stage {stage!r}")
    out.update(seconds=time.perf_counter() - started, n_points=int(train.X.shape[0]),
               dim=int(train.X.shape[1]))
    return out


# ---- parent: time-limited children, then the projection ----------------------------------
def measure(stage, task, store_root, updates, limit):
    cmd = [sys.executable, __file__, "--child", stage, "--tasks", task, "--store", store_root,
           "--updates", str(updates)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - started > limit:
            proc.kill()
            timed_out = True
            _, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(1)
    wall = time.perf_counter() - started
    record = {"stage": stage, "task": task, "wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024,
              "timed_out": timed_out, "limit_s": limit}
    if not timed_out:
        lines = proc.stdout.read().strip().splitlines()
        record["exit"] = os.waitstatus_to_exitcode(status)
        if lines and record["exit"] == 0:
            record["result"] = json.loads(lines[-1])
    return record


def plan_counts(task):
    """Units of one seed of the paper tier for ``task`` (cross-task runs apart)."""
    from harness.executor import plan
    from harness.tiers import get_tier

    tier = replace(get_tier("paper").with_selection(tasks=[task], seeds=[0]), cross_task={})
    units = plan(tier)
    run = next(u for u in units if u.kind == "finetune")
    kinds = {}
    for u in units:
        kinds[u.kind] = kinds.get(u.kind, 0) + 1
    return run, kinds


def store_bytes(task):
    """Exact bytes of the planned snapshots of one seed (arrays only) and their counts."""
    from harness.data import load_task
    from harness.extract import output_dim, resolve_layers
    from harness.finetune import run_schedule
    from harness.models.registry import resolve_model
    from harness.tiers import get_tier

    tier = get_tier("paper")
    config = tier.finetune_config(MODEL, task, 0)
    data = load_task(task)
    n_layers, hidden = 6, 384
    _, _, plan = run_schedule(config, data, resolve_model(MODEL).epochs)
    dim = output_dim(hidden, data.kind)
    total, kinds = 0, {}
    for update, spec in plan.items():
        layers = len(resolve_layers(spec.layers, n_layers))
        for split in spec.splits:
            n = len(data.split(split))
            total += n * dim * layers * (2 if spec.dtype == "float16" else 4)
            kind = f"{split}-{'all' if layers == n_layers + 1 else layers}-{spec.dtype}"
            if update in (0, max(plan)):
                kind = f"end-{kind}"
            kinds[kind] = kinds.get(kind, 0) + 1
    return total, kinds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["pos", "dep", "ps-role", "ps-fxn",
                                                        "trec-50"])
    parser.add_argument("--stages", nargs="+", default=["finetune", "distances", "directprobe",
                                                         "probe"])
    parser.add_argument("--updates", type=int, default=15)
    parser.add_argument("--limit", type=float, default=900.0, help="seconds per stage")
    parser.add_argument("--store", default="/tmp/paper-tier-cost-store")
    parser.add_argument("--json", default=None, help="append-merge results into this file")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.tasks[0], args.store, args.updates)))
        return
    results = json.loads(Path(args.json).read_text()) if args.json and Path(args.json).is_file() \
        else {"measured": {}, "plan": {}}
    for task in args.tasks:
        run, kinds = plan_counts(task)
        nbytes, snapshot_kinds = store_bytes(task)
        results["plan"][task] = {"n_updates": run.n_updates, "n_snapshots": len(run.snapshots),
                                 "units": kinds, "snapshot_kinds": snapshot_kinds,
                                 "snapshot_bytes": nbytes}
        for stage in args.stages:
            record = measure(stage, task, args.store, args.updates, args.limit)
            record["load_avg"] = os.getloadavg()
            results["measured"][f"{task}/{stage}"] = record
            print(json.dumps(record), flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
