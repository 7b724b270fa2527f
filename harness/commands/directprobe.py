"""``harness directprobe POINTS.npy LABELS.txt``: cluster, report linearity and distances.

Thin wrapper: load and validate, then :func:`harness.geometry.clustering.cluster_labels`
and :func:`harness.geometry.label_distances.label_distance_matrix`.
"""

import json
import sys
import time

import numpy as np

from ..exceptions import DataFormatError, HarnessError


def register(subparsers):
    """Add the ``directprobe`` command."""
    p = subparsers.add_parser(
        "directprobe", help="DirectProbe clustering of labelled points, with label distances",
        description="Cluster labelled points into label-pure clusters with disjoint convex "
                    "hulls (DirectProbe); print the clusters, linearity, the label distance "
                    "vector and each label's minimum distance.")
    p.add_argument("points", metavar="POINTS.npy", help="float array of shape (n, d) (np.load)")
    p.add_argument("labels", metavar="LABELS.txt", help="one label per line, n lines")
    p.add_argument("--json", metavar="OUT", default=None,
                   help="write one JSON object to OUT ('-' for stdout)")
    p.add_argument("--mode", choices=["reference", "exact"], default="reference",
                   help="reference: merge to the end, then search (default); exact: check "
                        "every merge (same result)")
    p.add_argument("--rate", type=float, default=0.01,
                   help="coarse-scan step of the reference mode, fraction of merges "
                        "(default 0.01; the fine-tuning paper used 0.05)")
    p.add_argument("--distance", choices=["exact", "svc-compat"], default="exact",
                   help="hull distance: exact (certified) or the authors' SVC formula")
    p.add_argument("--min-cluster-size", type=int, default=None, metavar="N",
                   help="drop clusters with fewer than N points from the distances "
                        "(the authors: 6, i.e. drop clusters of <= 5 points)")
    p.add_argument("--on-duplicates", choices=["raise", "drop"], default="raise",
                   help="identical points with different labels: fail (default) or drop them")
    p.set_defaults(func=run)


def load_inputs(points_path, labels_path):
    """Load ``(X, y)``; raise :class:`DataFormatError` naming the file on any problem."""
    try:
        X = np.load(points_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataFormatError(f"{points_path}: cannot load a .npy array ({err})") from None
    if X.ndim != 2 or X.dtype.kind not in "fiu":
        raise DataFormatError(f"{points_path}: expected a numeric array of shape (n, d); got "
                              f"dtype {X.dtype} and shape {X.shape}")
    try:
        with open(labels_path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError as err:
        raise DataFormatError(f"{labels_path}: cannot read labels ({err})") from None
    if lines and lines[-1] == "":
        lines = lines[:-1]
    for i, line in enumerate(lines, 1):
        if not line.strip():
            raise DataFormatError(f"{labels_path}:{i}: empty label")
    if len(lines) != X.shape[0]:
        raise DataFormatError(f"{labels_path}: {len(lines)} labels for {X.shape[0]} points in "
                              f"{points_path}; expected one label per point")
    return np.asarray(X, dtype=np.float64), np.array([s.strip() for s in lines])


def run(args):
    from ..geometry.clustering import cluster_labels
    from ..geometry.label_distances import (distance_vector, label_distance_matrix,
                                            min_distance_per_label, sorted_label_order)

    try:
        X, y = load_inputs(args.points, args.labels)
        t0 = time.perf_counter()
        res = cluster_labels(X, y, mode=args.mode, rate=args.rate,
                             on_duplicates=args.on_duplicates)
        t1 = time.perf_counter()
        order = sorted_label_order(res.labels)
        D = label_distance_matrix(X, res.assignment, res.cluster_labels, order,
                                  min_cluster_size=args.min_cluster_size, method=args.distance)
        t2 = time.perf_counter()
    except (HarnessError, ValueError) as err:
        print(f"harness directprobe: error: {err}", file=sys.stderr)
        return 1
    mins = min_distance_per_label(D)
    vec = distance_vector(D, order, order, missing="zero") if res.linear else None
    sizes = np.bincount(res.assignment[res.assignment >= 0], minlength=res.n_clusters)
    record = {
        "n_points": int(X.shape[0]),
        "n_features": int(X.shape[1]),
        "n_clusters": res.n_clusters,
        "n_labels": len(order),
        "linear": res.linear,
        "labels": order,
        "assignment": res.assignment.tolist(),
        "cluster_labels": [str(v) for v in res.cluster_labels.tolist()],
        "cluster_sizes": sizes.tolist(),
        "dropped": res.dropped.tolist(),
        "distance_matrix": [[_num(v) for v in row] for row in D],
        "distance_vector": None if vec is None else [_num(v) for v in vec],
        "min_distance": {lab: _num(v) for lab, v in zip(order, mins)},
        "mode": args.mode,
        "rate": args.rate,
        "distance": args.distance,
        "min_cluster_size": args.min_cluster_size,
        "n_oracle_calls": res.n_oracle_calls,
        "stats": {k: v for k, v in res.stats.items() if k != "timings"},
        "timings": {"clustering": t1 - t0, "distances": t2 - t1, **res.stats["timings"]},
    }
    if args.json == "-":
        json.dump(record, sys.stdout)
        sys.stdout.write("\n")
        return 0
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(record, fh)
    _print_summary(record)
    return 0


def _num(v):
    """JSON has no nan: write null for a missing distance."""
    v = float(v)
    return None if np.isnan(v) else v


def _print_summary(rec):
    print(f"{rec['n_points']} points, {rec['n_features']} features, {rec['n_labels']} labels")
    print(f"clusters: {rec['n_clusters']} ({'linear' if rec['linear'] else 'not linear'}); "
          f"mode={rec['mode']}, {rec['n_oracle_calls']} oracle calls, "
          f"{rec['timings']['clustering']:.2f} s")
    per_label = {}
    for lab, size in zip(rec["cluster_labels"], rec["cluster_sizes"]):
        per_label.setdefault(lab, []).append(size)
    for lab in rec["labels"]:
        sizes = sorted(per_label.get(lab, []), reverse=True)
        shown = ", ".join(map(str, sizes[:10])) + (" ..." if len(sizes) > 10 else "")
        print(f"  {lab}: {len(sizes)} cluster(s), sizes {shown}")
    if rec["distance_vector"] is not None:
        print("distance vector (pairs i<j, labels sorted as strings):")
        print("  " + " ".join(f"{v:.4g}" for v in rec["distance_vector"]))
    else:
        print("distance vector: undefined (not linear); see --json distance_matrix")
    print("minimum distance per label:")
    for lab, v in rec["min_distance"].items():
        print(f"  {lab}: {'n/a' if v is None else f'{v:.4g}'}")
