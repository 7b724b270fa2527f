"""Declared ranges of numeric parameters, shared by the library checks and the command line.

One declaration serves both doors: :meth:`Interval.check` raises scikit-learn's error
(``The 'epochs' parameter of FinetuneConfig must be an int >= 1. Got 0 instead.``), and
:meth:`Interval.parse` is an ``argparse`` ``type`` that refuses the same values while
the command line is parsed, before anything is loaded.
"""

import argparse
import math
from dataclasses import dataclass
from numbers import Integral, Real


@dataclass(frozen=True)
class Interval:
    """Numbers of one kind within bounds (after scikit-learn's ``Interval``).

    Parameters
    ----------
    kind : {int, float}
    low, high : number or None
        Bounds; None = unbounded.
    closed : {"both", "left", "right", "neither"}, default="both"
        Which bounds belong to the interval.
    none_ok : bool, default=False
        Whether None is allowed (it means "the default" wherever it is).
    """

    kind: type
    low: float = None
    high: float = None
    closed: str = "both"
    none_ok: bool = False

    def __str__(self):
        return self.describe() + (" or None" if self.none_ok else "")

    def describe(self):
        """The allowed numbers in words, without "or None" (flags cannot be None)."""
        what = "an int" if self.kind is int else "a float"
        low_in = self.closed in ("both", "left")
        high_in = self.closed in ("both", "right")
        if self.low is not None and self.high is not None:
            text = f"{what} in {'[' if low_in else '('}{self.low}, {self.high}{']' if high_in else ')'}"
        elif self.low is not None:
            text = f"{what} {'>=' if low_in else '>'} {self.low}"
        elif self.high is not None:
            text = f"{what} {'<=' if high_in else '<'} {self.high}"
        else:
            text = what
        return text

    def contains(self, value):
        """Whether ``value`` is allowed."""
        if value is None:
            return self.none_ok
        if isinstance(value, bool):
            return False
        if self.kind is int and not isinstance(value, Integral):
            return False
        if not isinstance(value, Real) or not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (
                value == self.low and self.closed not in ("both", "left"))):
            return False
        if self.high is not None and (value > self.high or (
                value == self.high and self.closed not in ("both", "right"))):
            return False
        return True

    def check(self, value, name, owner):
        """Return ``value`` or raise ``ValueError`` naming the parameter and its owner."""
        if not self.contains(value):
            raise ValueError(f"The {name!r} parameter of {owner} must be {self}. "
                             f"Got {value!r} instead.")
        return value

    def parse(self, text):
        """``argparse`` type: the number in ``text``, or ``ArgumentTypeError``."""
        try:
            value = self.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {self.describe()}; got {text!r}") from None
        if not self.contains(value):
            raise argparse.ArgumentTypeError(f"must be {self.describe()}; got {text!r}")
        return value


POSITIVE_INT = Interval(int, 1)
POSITIVE_INT_OR_NONE = Interval(int, 1, none_ok=True)

# FinetuneConfig's numeric fields (here, not in harness.finetune, so that the command
# line declares its flags without importing torch).
FINETUNE_RANGES = {
    "seed": Interval(int, 0, 2**32 - 1),
    "learning_rate": Interval(float, 0, None, closed="neither"),
    "batch_size": POSITIVE_INT,
    "epochs": POSITIVE_INT_OR_NONE,
    "max_updates": POSITIVE_INT_OR_NONE,
    "warmup_fraction": Interval(float, 0, 1, closed="left"),
    "weight_decay": Interval(float, 0),
    "dropout": Interval(float, 0, 1, closed="left", none_ok=True),
    "max_grad_norm": Interval(float, 0, none_ok=True),
    "max_length": Interval(int, 3, none_ok=True),  # [CLS] + one subword + [SEP]
    "snapshot_every": POSITIVE_INT,
    "n_snapshots": POSITIVE_INT_OR_NONE,
    "checkpoint_every": POSITIVE_INT_OR_NONE,
}
SPLITS = ("train", "test")
