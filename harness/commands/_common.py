"""Arguments shared by several subcommands, and the checks every command runs first.

Commands check every option before loading a model or data (names with the nearest
matches, ranges, paths, the store and output files), so that a bad option fails in
a second with one line, not after minutes of work.
"""

import argparse

# Output files: checked before the work, never an input, written into special files.
from ._output import is_stdout, writable_output, write_output  # noqa: F401

# Ranges of options are declared in harness.params; re-exported for the commands.
from ..params import POSITIVE_INT, Interval  # noqa: F401


def add_data_dir(parser):
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help="dataset directory (default: $HARNESS_DATA_DIR, else ../shared/data, "
                             "else ~/.cache/harness/data)")


def add_tier(parser, purpose, default="tiny"):
    """``--tier``, checked by argparse against the tier registry (the choices show in
    ``--help``; an unknown name gets the nearest matches)."""
    from ..tiers import tier_names

    parser.add_argument("--tier", default=default, choices=tier_names(), type=_tier_name,
                        help=f"{purpose} (default: {default})")


def _tier_name(name):
    from ..tiers import TIERS, get_tier

    if name not in TIERS:
        try:
            get_tier(name)
        except KeyError as err:  # UnknownNameError: its message lists the nearest names
            raise argparse.ArgumentTypeError(str(err)) from None
    return name


def add_store(parser):
    parser.add_argument("--store", default=None, metavar="DIR",
                        help="run-store root (default: $HARNESS_STORE, else ./.harness-store)")


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024


def fmt_number(value, spec=".4g"):
    """A number for a person: ``"n/a"`` when it is undefined (None or nan), never 0."""
    if value is None or value != value:
        return "n/a"
    return format(value, spec)


# ---- checks run before anything is loaded ---------------------------------------------


def writable_store(path):
    """The :class:`~harness.store.RunStore` at ``path``, created and checked writable."""
    from ..store import RunStore

    return RunStore(path).check_writable()


def existing_store(path):
    """The :class:`~harness.store.RunStore` at ``path``; it must exist (read-only use)."""
    from ..store import RunStore

    return RunStore(path).check_exists()


def existing_data_dir(path):
    """The resolved data directory; raise when it does not exist."""
    from ..data._io import HOW_TO_GET_DATA, MissingDataError
    from ..settings import data_dir

    root = data_dir(path)
    if not root.is_dir():
        what = "is a file, not a directory" if root.exists() else "does not exist"
        raise MissingDataError(f"data directory {root} {what}. {HOW_TO_GET_DATA}")
    return root


def known_tasks(names):
    """The :class:`~harness.data.TaskSpec` of each name (unknown names: nearest matches)."""
    from ..data import task_spec

    return [task_spec(name) for name in names]


def task_names(names):
    """The task name of each of ``names``, checked: a task file (a ``.yaml`` path) is read,
    checked and registered, and stands for its declared name from here on (in runs,
    claim cells and reports); unknown names raise with the nearest matches."""
    from ..data.taskfile import resolve_task_name

    names = [resolve_task_name(name) for name in names or ()]
    known_tasks(names)
    return names


def model_config(name):
    """The model's ``config.json``, read without loading the weights (checks the name and
    that the weights are there)."""
    from ..models import model_config as read_config

    return read_config(name)


def check_layers(layers, config, flag):
    """Raise unless every index in ``layers`` is a hidden state of the model."""
    from ..extract import resolve_layers

    if layers is None:
        return None
    n_layers = config["num_hidden_layers"]
    try:
        return resolve_layers(layers, n_layers)
    except ValueError as err:
        raise ValueError(f"{flag}: {err}") from None


def add_data_caps(parser, what="use", note=""):
    """``--max-train-sentences N`` and ``--max-test-sentences N`` (``None`` when absent)."""
    for split in ("train", "test"):
        noun = "training" if split == "train" else "test"
        parser.add_argument(f"--max-{split}-sentences", type=POSITIVE_INT.parse, default=None,
                            metavar="N", help=f"{what} only the first N {noun} sentences{note}")


def write_record(record, json_arg, out):
    """Emit a command's JSON record: one line on stdout for ``--json -``, else written to
    ``out`` (an :class:`~harness.commands._output.Output`, when given; see
    :func:`~harness.commands._output.write_output`). Returns True when stdout got it
    (nothing more to print)."""
    import json
    import sys

    if json_arg == "-" or is_stdout(out):
        json.dump(record, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
        return True
    if out is not None:
        write_output(out, json.dumps(record, allow_nan=False).encode())
    return False


def known_tier(name):
    """The :class:`~harness.tiers.Tier` called ``name`` (unknown names: nearest matches)."""
    from ..tiers import get_tier

    return get_tier(name)
