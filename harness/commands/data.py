"""``harness data stats|download|verify|check``: inspect, fetch and check the task data."""

import json

from ._common import Interval, add_data_caps, existing_data_dir, task_names


def register(subparsers):
    """Add the ``data`` command group."""
    parser = subparsers.add_parser("data", help="task data: stats, download, verify, check",
                                   description="Inspect, download and verify the task data.")
    sub = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)

    stats = sub.add_parser("stats", help="per task and split: sentences, examples, labels")
    stats.add_argument("--json", action="store_true",
                       help="print JSON with each split's label inventory and counts")
    stats.add_argument("--tasks", nargs="+", metavar="TASK",
                       help="tasks to load: names or task files (.yaml; default: all "
                            "registered)")
    add_data_caps(stats, "count")
    _add_data_dir(stats)
    stats.set_defaults(func=cmd_stats)

    download = sub.add_parser("download", help="fetch the official files and verify checksums")
    download.add_argument("--dataset", action="extend", nargs="+", metavar="NAME",
                          help="datasets to fetch (default: all). "
                               "One of: " + ", ".join(_dataset_names()))
    download.add_argument("--force", action="store_true", help="re-download verified files")
    download.add_argument("--timeout", type=Interval(float, 0, closed="neither").parse,
                          default=60.0, help="seconds per connection")
    _add_data_dir(download)
    download.set_defaults(func=cmd_download)

    verify = sub.add_parser("verify", help="check the local data files against the manifest")
    verify.add_argument("--dataset", action="extend", nargs="+", metavar="NAME",
                        help="datasets to check (default: all)")
    verify.add_argument("--json", action="store_true", help="print the records as JSON")
    _add_data_dir(verify)
    verify.set_defaults(func=cmd_verify)

    check = sub.add_parser(
        "check", help="exit 0 when every data file is there with its checksum, else "
                      "download it (--download-if-missing) or stop with one line")
    _check_module().add_arguments(check)
    check.set_defaults(func=cmd_check)


def _add_data_dir(parser):
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help="data directory (default: $HARNESS_DATA_DIR, then ../shared/data, "
                             "then ~/.cache/harness/data)")


def _check_module():
    from ..data import check

    return check


def _dataset_names():
    from ..data.download import dataset_names

    return dataset_names()


def format_stats_table(stats):
    """Render :func:`harness.data.stats.data_stats` output as a fixed-width table."""
    header = ("task", "kind", "split", "sentences", "examples", "labels")
    rows = [header]
    for name, task in stats.items():
        for split_name, split in task["splits"].items():
            rows.append((name, task["kind"], split_name, str(split["sentences"]),
                         str(split["examples"]), str(split["n_labels"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for k, row in enumerate(rows):
        cells = [c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_stats(args):
    from ..data.stats import data_stats

    if args.tasks:
        args.tasks = task_names(args.tasks)
    existing_data_dir(args.data_dir)
    stats = data_stats(args.tasks, args.data_dir, max_train_sentences=args.max_train_sentences,
                       max_test_sentences=args.max_test_sentences)
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        print(format_stats_table(stats))
    return 0


def cmd_download(args):
    from ..data.download import download

    results = download(args.data_dir, args.dataset, timeout=args.timeout, force=args.force)
    for r in results:
        print(f"{r['status']:<11} {r['dataset']:<14} {r['path']}")
    return 0


def cmd_verify(args):
    from ..data.download import verify

    existing_data_dir(args.data_dir)
    records = verify(args.data_dir, args.dataset)
    if args.json:
        print(json.dumps(records, indent=2))
    else:
        for r in records:
            detail = r.get("note", "")
            if r["status"] == "mismatch":
                detail = f"expected {r['expected']}, got {r['got']}"
            elif r["status"] == "missing":
                detail = f"missing; get it with `harness data download --dataset {r['dataset']}`"
            print(f"{r['status']:<10} {r['dataset']:<14} {r['checked'] or r['path']}  {detail}".rstrip())
    bad = [r for r in records if r["status"] in ("missing", "mismatch")]
    return 1 if bad else 0


def cmd_check(args):
    _check_module().check_data(args.data_dir, download_if_missing=args.download_if_missing)
    return 0
