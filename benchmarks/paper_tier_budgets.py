"""The paper tier's unit budgets (issue #20), measured side by side against a baseline.

Two checkouts of the project, the candidate (this one) and a baseline (``--baseline``,
e.g. ``git worktree add /tmp/base <commit>``), run the same units on the same arrays:

* real inputs, prepared once by ``--prepare`` with this checkout into ``--inputs``: the
  original ``minilm-l6`` representations of the paper tier's full POS training split
  (16,854 x 384, 17 labels) at layers 0, 3 and 6, and layer 3 after 10 updates of the
  paper's fine-tuning, stored in float16 as the paper schedule stores intermediate
  snapshots (a 10-update run: its learning-rate schedule is that of a 10-update run);
* a synthetic low-dimensional non-linear set (d = 16, 8 labels of 6 interleaved unit
  blobs each, 2,400 points; about 36 clusters), where earlier DirectProbe changes gained
  least.

Units, as the executor runs them (``harness.executor.units``):

* ``directprobe/<set>``: ``cluster_labels`` with the tier's settings (reference mode,
  rate 0.05, duplicates dropped) and each checkout's default separability tolerance;
* ``distances/<set>``: the fixed one-cluster-per-label clustering checked and measured
  (``fixed_clustering_distances``, min cluster size 6), run when that checkout's
  DirectProbe found the original layer linear (or did not finish: the unit would run).

Each unit runs in a child process with one BLAS and one torch thread and a wall-clock
limit, baseline and candidate alternating, so that load on the machine hits both alike.
Results are ratios of CPU seconds, candidate against baseline; a unit past its limit is
``> limit``. Usage::

    python benchmarks/paper_tier_budgets.py --prepare --inputs /tmp/budget-inputs
    python benchmarks/paper_tier_budgets.py --inputs /tmp/budget-inputs \\
        --baseline /tmp/base --limit 600 --json docs/paper-tier-logs/budgets.json
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

# (unit, input set, the DirectProbe set whose verdict gates it)
UNITS = [
    ("directprobe", "pos-L3-u0", None),
    ("distances", "pos-L3-u0", "pos-L3-u0"),
    ("distances", "pos-L3-u10-fp16", "pos-L3-u0"),
    ("directprobe", "pos-L6-u0", None),
    ("directprobe", "lowdim", None),
    ("directprobe", "pos-L0-u0", None),
]


# ---- inputs --------------------------------------------------------------------------------
def prepare(inputs, store_root):
    """Write the input sets as ``<name>.X.npy`` and ``<name>.y.npy`` into ``inputs``."""
    import numpy as np

    from harness.data import load_task
    from harness.finetune import FinetuneConfig, finetune
    from harness.models import load_model
    from harness.representations import get_representations
    from harness.store import RunStore
    from harness.tiers import get_tier

    inputs.mkdir(parents=True, exist_ok=True)
    store = RunStore(store_root)
    data = load_task("pos")
    art = get_representations(data, load_model("minilm-l6"), "train", layers=None,
                              store=store, progress=False)
    labels = np.asarray(art.array("labels"))
    for layer in (0, 3, 6):
        _save(inputs, f"pos-L{layer}-u0", art.array(f"layer{layer}"), labels)
    tier = get_tier("paper")
    options = {**tier.finetune_options, "all_layers_until": 0, "all_layers_every": 10,
               "max_updates": 10}
    config = FinetuneConfig(model="minilm-l6", task="pos", seed=0, snapshot_every=10,
                            intermediate_splits=("train",), **options)
    run = finetune(config, store=store, progress=False)
    snap = store.open(run.snapshots[10]["train"])
    _save(inputs, "pos-L3-u10-fp16", snap.array("layer3"), np.asarray(snap.array("labels")))
    X, y = lowdim_set()
    _save(inputs, "lowdim", X, y)


def lowdim_set(d=16, n_labels=8, blobs=6, per_blob=50, seed=0):
    """Blobs of different labels interleaved in a low dimension: many clusters per label."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_labels * blobs, d))  # close blobs: ~36 clusters
    X = np.repeat(centres, per_blob, axis=0) + rng.standard_normal((centres.shape[0] * per_blob, d))
    y = np.repeat(np.arange(n_labels * blobs) % n_labels, per_blob).astype(str)
    return X, y


def _save(inputs, name, X, y):
    import numpy as np

    np.save(inputs / f"{name}.X.npy", np.asarray(X))
    np.save(inputs / f"{name}.y.npy", np.asarray(y).astype(str))


# ---- child: one unit under one checkout ------------------------------------------------------
def child(unit, name, inputs):
    import numpy as np
    from threadpoolctl import threadpool_limits

    from harness.geometry import cluster_labels, fixed_clustering_distances

    X = np.load(Path(inputs) / f"{name}.X.npy").astype(np.float64)
    y = np.load(Path(inputs) / f"{name}.y.npy")
    cpu = time.process_time()
    with threadpool_limits(1):
        if unit == "directprobe":
            res = cluster_labels(X, y, mode="reference", rate=0.05, on_duplicates="drop")
            out = {"n_clusters": int(res.n_clusters), "linear": bool(res.linear),
                   "n_oracle_calls": int(res.n_oracle_calls),
                   "partition_sha": _partition_digest(res.assignment)}
        else:
            labels = sorted(set(y.tolist()))
            assignment = np.searchsorted(labels, y)
            separates, D = fixed_clustering_distances(X, assignment, np.asarray(labels),
                                                      min_cluster_size=6)
            out = {"separates": bool(separates), "distances": np.asarray(D).tolist()}
    out["cpu_s"] = time.process_time() - cpu
    return out


def _partition_digest(assignment):
    import hashlib

    return hashlib.sha256(bytes(str(list(map(int, assignment))), "ascii")).hexdigest()[:16]


# ---- parent ----------------------------------------------------------------------------------
def measure(checkout, unit, name, inputs, limit):
    env = dict(os.environ, PYTHONPATH=str(checkout), OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, __file__, "--child", unit, name, "--inputs", str(inputs)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env, cwd=str(checkout))
    try:
        stdout, _ = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"timed_out": True, "limit_s": limit, "wall_s": time.perf_counter() - started}
    record = {"timed_out": False, "exit": proc.returncode, "wall_s": time.perf_counter() - started}
    lines = stdout.strip().splitlines()
    if proc.returncode == 0 and lines:
        record.update(json.loads(lines[-1]))
    return record


def compare(base, cand):
    """Candidate over baseline: the CPU ratio, and whether the answers agree."""
    if base.get("timed_out") or "cpu_s" not in base or "cpu_s" not in cand:
        return {"speedup": None}
    out = {"speedup": base["cpu_s"] / max(cand["cpu_s"], 1e-9)}
    if "partition_sha" in base:
        out["same_partition"] = base["partition_sha"] == cand["partition_sha"]
    if "distances" in base and base.get("separates") and cand.get("separates"):
        import numpy as np

        a, b = np.asarray(base["distances"]), np.asarray(cand["distances"])
        off = ~np.eye(a.shape[0], dtype=bool)
        out["max_rel_diff"] = float(np.nanmax(np.abs(a - b)[off] / np.abs(a)[off]))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=Path, required=True)
    parser.add_argument("--prepare", action="store_true", help="write the inputs and stop")
    parser.add_argument("--store", default="/tmp/paper-tier-budgets-store")
    parser.add_argument("--baseline", type=Path, help="checkout to compare against")
    parser.add_argument("--limit", type=float, default=600.0, help="seconds per unit")
    parser.add_argument("--units", nargs="+", default=None, help="e.g. directprobe/pos-L6-u0")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.inputs)))
        return
    if args.prepare:
        prepare(args.inputs, args.store)
        return
    checkouts = {"candidate": HERE}
    if args.baseline:
        checkouts = {"baseline": args.baseline.resolve(), "candidate": HERE}
    wanted = [u for u in UNITS if args.units is None or f"{u[0]}/{u[1]}" in args.units]
    results = {"load_avg_start": os.getloadavg(), "limit_s": args.limit, "units": {}}
    verdicts = {}
    for unit, name, gate in wanted:
        entry = results["units"][f"{unit}/{name}"] = {}
        for label, checkout in checkouts.items():
            if gate and verdicts.get((label, gate)) is False:
                entry[label] = {"skipped": f"DirectProbe: {gate} not linear"}
                continue
            record = measure(checkout, unit, name, args.inputs, args.limit)
            if unit == "directprobe" and "linear" in record:
                verdicts[label, name] = record["linear"]
            entry[label] = record
            print(json.dumps({"unit": f"{unit}/{name}", "checkout": label,
                              **{k: v for k, v in record.items() if k != "distances"}}),
                  flush=True)
        if len(entry) == 2 and "baseline" in entry:
            entry["comparison"] = compare(entry["baseline"], entry["candidate"])
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
    results["load_avg_end"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
