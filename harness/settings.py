"""Where the harness reads data and writes runs.

Resolution order for each directory: an explicit argument (``--data-dir``/``--store``),
then the environment variable (``HARNESS_DATA_DIR``/``HARNESS_STORE``), then a default.
"""

import os
from pathlib import Path

DATA_DIR_ENV = "HARNESS_DATA_DIR"
STORE_ENV = "HARNESS_STORE"


def data_dir(explicit=None):
    """Return the data directory as a :class:`~pathlib.Path`.

    Falls back to ``../shared/data`` beside the current directory (the development and CI
    layout), then to ``~/.cache/harness/data`` (where ``harness data download`` writes).
    """
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser().resolve()
    shared = Path.cwd().parent / "shared" / "data"
    if shared.is_dir():
        return shared.resolve()
    return Path("~/.cache/harness/data").expanduser()


def store_dir(explicit=None):
    """Return the run-store root (default ``./.harness-store``)."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get(STORE_ENV):
        return Path(os.environ[STORE_ENV]).expanduser().resolve()
    return Path(".harness-store").resolve()
