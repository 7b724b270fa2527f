"""``harness`` command line: a thin dispatcher over :mod:`harness.commands`.

Every subcommand is a library call plus argument parsing; run ``harness <cmd> --help``.
"""

import argparse
import importlib
import logging
import sys

from .commands import COMMAND_MODULES


def build_parser():
    parser = argparse.ArgumentParser(
        prog="harness",
        description="How does fine-tuning change a transformer's representation space? "
        "Data, models, extraction, fine-tuning, DirectProbe and the paper's claims.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"harness.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"harness.commands.{name}":
                continue  # a command group that is not built yet
            raise
        module.register(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
