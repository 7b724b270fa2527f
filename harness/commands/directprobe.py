"""``harness directprobe POINTS.npy LABELS.txt``: cluster, report linearity and distances.

Thin wrapper: load and validate, then :func:`harness.geometry.clustering.cluster_labels`
and :func:`harness.geometry.label_distances.label_distance_matrix`.
"""

import time

import numpy as np

from ..exceptions import DataFormatError, DuplicatePointsError
from ._common import POSITIVE_INT, Interval, fmt_number, writable_output, write_record


#: What ``harness directprobe`` does without ``--preset``: DirectProbe's own defaults
#: (the original paper's rate 0.01, every cluster counted, duplicates refused).
DEFAULTS = {"mode": "reference", "rate": 0.01, "distance": "exact", "min_cluster_size": None,
            "on_duplicates": "raise", "separability_tol": 1e-6}


def _presets():
    """``{tier name: settings}``: each tier's analysis settings (:mod:`harness.tiers`)."""
    from ..tiers import TIERS

    return {name: tier.directprobe_settings() for name, tier in TIERS.items()}


def register(subparsers):
    """Add the ``directprobe`` command."""
    paper = _presets()["paper"]
    p = subparsers.add_parser(
        "directprobe", help="DirectProbe clustering of labelled points, with label distances",
        description="Cluster labelled points into label-pure clusters with disjoint convex "
                    "hulls (DirectProbe); print the clusters, linearity, the label distance "
                    "vector and each label's minimum distance. Without --preset the defaults "
                    "are DirectProbe's own; --preset paper uses the claim pipeline's settings "
                    f"(rate {paper['rate']}, min cluster size {paper['min_cluster_size']}, "
                    f"duplicates {paper['on_duplicates']}), so its distances equal the "
                    "report's for the same vectors. Explicit options override the preset.")
    p.add_argument("points", metavar="POINTS.npy", help="float array of shape (n, d) (np.load)")
    p.add_argument("labels", metavar="LABELS.txt", help="one label per line, n lines")
    p.add_argument("--json", metavar="OUT", default=None,
                   help="write one JSON object to OUT ('-' for stdout)")
    p.add_argument("--preset", choices=list(_presets()), default=None,
                   help="the DirectProbe settings of that tier's claim pipeline (all tiers: "
                        f"rate {paper['rate']}, min cluster size {paper['min_cluster_size']}, "
                        f"duplicates {paper['on_duplicates']}; harness.tiers)")
    p.add_argument("--mode", choices=["reference", "exact"], default=None,
                   help="reference: merge to the end, then search; exact: check every merge "
                        f"(same result) (default: {DEFAULTS['mode']})")
    p.add_argument("--rate", type=Interval(float, 0, 1, closed="right").parse, default=None,
                   help="coarse-scan step of the reference mode, fraction of merges in (0, 1] "
                        f"(default: {DEFAULTS['rate']}; the fine-tuning paper used "
                        f"{paper['rate']}, --preset paper)")
    p.add_argument("--distance", choices=["exact", "svc-compat"], default=None,
                   help="hull distance: exact (certified) or the authors' SVC formula "
                        f"(default: {DEFAULTS['distance']})")
    p.add_argument("--min-cluster-size", type=POSITIVE_INT.parse, default=None, metavar="N",
                   help="drop clusters with fewer than N >= 1 points from the distances "
                        "(default: keep all; the authors and --preset paper: "
                        f"{paper['min_cluster_size']}, i.e. drop clusters of <= "
                        f"{paper['min_cluster_size'] - 1} points)")
    p.add_argument("--on-duplicates", choices=["raise", "drop"], default=None,
                   help="identical points with different labels: fail or drop them (default: "
                        f"{DEFAULTS['on_duplicates']}; --preset paper: {paper['on_duplicates']})")
    p.add_argument("--separability-tol", type=Interval(float, 0, 1, closed="neither").parse,
                   default=None, metavar="TAU",
                   help="hulls closer than TAU times the data's radius count as not separable "
                        f"(default and every preset: {DEFAULTS['separability_tol']:g}; "
                        "docs/claims.md)")
    p.set_defaults(func=run)


def settings_from_args(args):
    """The run's settings: the preset's (or :data:`DEFAULTS`), then the explicit options."""
    settings = dict(_presets()[args.preset] if args.preset else DEFAULTS)
    for name in DEFAULTS:
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    return settings


NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"


def load_points(path):
    """The ``(n, d)`` float64 array in ``.npy`` file ``path``; each problem names the file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(NPY_MAGIC))
            fh.seek(0)
            header = _npy_header(fh) if head == NPY_MAGIC else None
    except OSError as err:
        raise DataFormatError(f"{path}: cannot read the points ({err.strerror}).") from None
    if head.startswith(ZIP_MAGIC):
        raise DataFormatError(f"{path}: an .npz archive, not an .npy file; save the one array "
                              "with numpy.save(path, X).")
    if head != NPY_MAGIC:
        raise DataFormatError(f"{path}: not an .npy file (no NumPy header); save the points "
                              "with numpy.save(path, X).")
    if header is None:
        raise DataFormatError(f"{path}: damaged .npy header; save the points again with "
                              "numpy.save(path, X).")
    shape, dtype = header
    if len(shape) != 2 or dtype.kind not in "fiu":
        raise DataFormatError(f"{path}: expected a numeric array of shape (n, d); got "
                              f"dtype {dtype} and shape {shape}.")
    if shape[0] == 0 or shape[1] == 0:
        raise DataFormatError(f"{path}: the array has shape {shape}; it needs at least one "
                              "point with at least one feature.")
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as err:
        raise DataFormatError(f"{path}: damaged or truncated .npy file ({err}).") from None
    X = np.asarray(X, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
    if bad.size:
        raise DataFormatError(f"{path}: row {bad[0]} (0-based) holds NaN or infinity "
                              f"({bad.size} such row(s)); every coordinate must be finite.")
    return X


def _npy_header(fh):
    """``(shape, dtype)`` from an open ``.npy`` file's header, or None when it is damaged."""
    try:
        version = np.lib.format.read_magic(fh)
        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read(fh)
    except ValueError:
        return None
    return shape, dtype


def load_labels(path, n_points, points_path):
    """One label per line of ``path`` (``n_points`` lines); problems name ``file:line``."""
    from ..data._io import read_lines

    try:
        lines = read_lines(path)
    except OSError as err:
        raise DataFormatError(f"{path}: cannot read the labels ({err.strerror}).") from None
    if lines and lines[-1] == "":
        lines = lines[:-1]
    for i, line in enumerate(lines, 1):
        if not line.strip():
            raise DataFormatError(f"{path}:{i}: empty label")
    if len(lines) != n_points:
        raise DataFormatError(f"{path}: {len(lines)} labels for {n_points} points in "
                              f"{points_path}; expected one label per point")
    return np.array([s.strip() for s in lines])


def load_inputs(points_path, labels_path):
    """Load ``(X, y)``; raise :class:`DataFormatError` naming the file on any problem."""
    X = load_points(points_path)
    return X, load_labels(labels_path, X.shape[0], points_path)


def run(args):
    from ..geometry.clustering import cluster_labels
    from ..geometry.label_distances import (distance_vector, label_distance_matrix,
                                            min_distance_per_label, sorted_label_order)

    # Before the work, so that a bad path loses nothing; never one of the inputs.
    out = writable_output(args.json, inputs=(args.points, args.labels))
    opts = settings_from_args(args)
    X, y = load_inputs(args.points, args.labels)
    t0 = time.perf_counter()
    try:
        res = cluster_labels(X, y, mode=opts["mode"], rate=opts["rate"],
                             tol=opts["separability_tol"], on_duplicates=opts["on_duplicates"])
    except DuplicatePointsError as err:
        raise DataFormatError(_duplicates_message(err, args, opts)) from None
    t1 = time.perf_counter()
    order = sorted_label_order(res.labels)
    D = label_distance_matrix(X, res.assignment, res.cluster_labels, order,
                              min_cluster_size=opts["min_cluster_size"], method=opts["distance"],
                              tol=opts["separability_tol"])
    t2 = time.perf_counter()
    mins = min_distance_per_label(D)
    # A label pair with no kept cluster has no distance: nan here, null in JSON, "n/a" in
    # text; never 0, which would claim the labels touch.
    vec = distance_vector(D, order, order, missing="drop") if res.linear else None
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
        "preset": args.preset,
        "mode": opts["mode"],
        "rate": opts["rate"],
        "distance": opts["distance"],
        "min_cluster_size": opts["min_cluster_size"],
        "on_duplicates": opts["on_duplicates"],
        "separability_tol": opts["separability_tol"],
        "n_oracle_calls": res.n_oracle_calls,
        "stats": {k: v for k, v in res.stats.items() if k != "timings"},
        "timings": {"clustering": t1 - t0, "distances": t2 - t1, **res.stats["timings"]},
    }
    if write_record(record, args.json, out):
        return 0
    _print_summary(record)
    return 0


def _duplicates_message(err, args, opts):
    if opts["on_duplicates"] == "drop":  # nothing left after dropping: the geometry says why
        return f"{args.points}: {err}"
    shown = "; ".join(", ".join(str(i + 1) for i in g) for g in err.groups[:5])
    more = " ..." if len(err.groups) > 5 else ""
    return (f"{args.points}: {sum(len(g) for g in err.groups)} points in {len(err.groups)} "
            f"group(s) are identical but carry different labels (lines {shown}{more} of "
            f"{args.labels}), so no clustering can separate them; pass --on-duplicates drop "
            "to remove them.")


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
    if rec["distance_vector"] == []:
        print("distance vector: empty (one label, no pairs)")
    elif rec["distance_vector"] is not None:
        print("distance vector (pairs i<j, labels sorted as strings):")
        print("  " + " ".join(fmt_number(v) for v in rec["distance_vector"]))
    else:
        print("distance vector: undefined (not linear); see --json distance_matrix")
    print("minimum distance per label:")
    for lab, v in rec["min_distance"].items():
        print(f"  {lab}: {fmt_number(v)}")
