"""Arguments shared by several subcommands."""


def add_data_dir(parser):
    parser.add_argument("--data-dir", default=None,
                        help="dataset directory (default: $HARNESS_DATA_DIR, else ../shared/data, "
                             "else ~/.cache/harness/data)")


def add_store(parser):
    parser.add_argument("--store", default=None,
                        help="run-store root (default: $HARNESS_STORE, else ./.harness-store)")


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
