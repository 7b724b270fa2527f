"""Subcommands of the ``harness`` command line, one module per group.

Each module exposes ``register(subparsers)``, which adds its parser(s) and sets
``func`` (called with the parsed namespace; returns an exit code or None).
"""

COMMAND_MODULES = (
    "data",
    "store",
    "extract",
    "directprobe",
    "similarity",
    "finetune",
    "probe",
    "verify",
)
