"""``harness`` command line: a thin dispatcher over :mod:`harness.commands`.

Every subcommand is a library call plus argument parsing; run ``harness <cmd> --help``.

Errors are one line on stderr, ``harness CMD: error: <what, where, how to fix>``, with
exit status 2 and no traceback (``--debug`` or ``HARNESS_DEBUG=1`` adds it). An error
that is not about the input (a bug) says so and exits with 1; Ctrl-C prints one line
and exits with 130. ``docs/errors.md`` lists the error each bad input gets.
"""

import argparse
import importlib
import logging
import os
import sys
import traceback
import warnings

from .commands import COMMAND_MODULES
from .exceptions import HarnessError

# Exceptions that describe bad input (options, files, data, store, model); anything
# else escaping a command is a bug and is reported as such.
USER_ERRORS = (HarnessError, ValueError, OSError)
DEBUG_ENV = "HARNESS_DEBUG"


class OneLineParser(argparse.ArgumentParser):
    """``argparse`` parser whose usage errors are one line (usage is in ``--help``)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser():
    parser = OneLineParser(
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
    _add_common_flags(parser, top=True)
    return parser


def _add_common_flags(parser, top=False):
    """``--debug`` on every (sub)command, and each parser's name for error messages."""
    parser.add_argument("--debug", action="store_true",
                        default=False if top else argparse.SUPPRESS,
                        help=f"show the traceback of an error (also {DEBUG_ENV}=1)")
    parser.set_defaults(prog=parser.prog)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_common_flags(child)


def _one_line(err):
    text = str(err).strip() or type(err).__name__
    return " ".join(text.split())


def _end_progress_bars():
    """Close live progress bars, so that the line that follows starts on its own line
    (a bar ends in a carriage return, and a message would be glued to it)."""
    from tqdm import tqdm

    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()


def _split_remainder_equals(argv):
    """``--pytest-args=-k F3`` as ``--pytest-args -k F3`` (argparse refuses an ``=`` value
    for an option that takes the rest of the line)."""
    from .commands.verify import PYTEST_ARGS

    out = []
    for arg in argv:
        if arg.startswith(PYTEST_ARGS + "="):
            out += [PYTEST_ARGS, arg[len(PYTEST_ARGS) + 1:]]
        else:
            out.append(arg)
    return out


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(_split_remainder_equals(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    prog = args.prog
    debug = args.debug or os.environ.get(DEBUG_ENV, "") not in ("", "0")

    def show_warning(message, *_args, **_kwargs):  # one line, like errors
        print(f"{prog}: warning: {_one_line(message)}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = show_warning
            return args.func(args) or 0
    except KeyboardInterrupt:
        _end_progress_bars()
        if debug:
            traceback.print_exc()
        print(f"{prog}: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`harness store ls | head`): not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as err:  # noqa: BLE001 - the one place that turns errors into lines
        _end_progress_bars()
        if debug:
            traceback.print_exc()
        if isinstance(err, USER_ERRORS):
            print(f"{prog}: error: {_one_line(err)}", file=sys.stderr)
            return 2
        print(f"{prog}: internal error: {type(err).__name__}: {_one_line(err)} (a bug; "
              "please report it with the output of the same command with --debug)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
