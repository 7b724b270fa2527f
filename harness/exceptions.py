"""Exceptions and warnings raised by the harness.

Every exception subclasses a builtin so that callers who do not know the harness can
still catch it (``except ValueError`` catches a :class:`DataFormatError`).
"""


class HarnessError(Exception):
    """Base class of every harness-specific error."""


class DataFormatError(HarnessError, ValueError):
    """Input data is malformed. The message names the file, the line and the problem."""


class UnknownNameError(HarnessError, KeyError):
    """A registry lookup failed; the message lists the options and the nearest matches."""

    def __str__(self):  # KeyError quotes its message; show it plainly instead
        return str(self.args[0]) if self.args else ""


class ModelNotAvailableError(HarnessError, OSError):
    """Model weights cannot be found offline; the message says how to provide them."""


class ModelFormatError(HarnessError, ValueError):
    """A model folder disagrees with itself (config, weights, tokenizer) or is damaged;
    the message names the file and what is wrong."""


class StoreError(HarnessError, RuntimeError):
    """The run store holds a corrupt or inconsistent artifact."""


class SolverError(HarnessError, RuntimeError):
    """A numerical solver ended in a status that is neither a solution nor a proof of infeasibility."""


class DuplicatePointsError(HarnessError, ValueError):
    """Identical points carry different labels, so no clustering can separate them.

    Attributes
    ----------
    groups : list of list of int
        Each inner list holds the indices of points that are identical but not all of
        one label.
    """

    def __init__(self, message, groups=()):
        super().__init__(message)
        self.groups = [list(g) for g in groups]


class BudgetExceeded(HarnessError, RuntimeError):
    """A computation ran past its time limit. ``certified`` says what it had proven by
    then (for DirectProbe: ``linear`` True/False/None, ``n_clusters_at_least``,
    ``n_clusters_at_most``); nothing else of its answer is known."""

    def __init__(self, message, certified=None):
        super().__init__(message)
        self.certified = dict(certified or {})


class ChecksumError(HarnessError, ValueError):
    """A downloaded or local file does not match its recorded checksum."""


class HarnessWarning(UserWarning):
    """Legal but suspicious input or a result that needs the user's attention."""


class TaskFileError(DataFormatError):
    """A task file (``harness/data/taskfile.py``) is malformed: the message names the file,
    the field and what is wrong, with the nearest names for a misspelt field or value."""
