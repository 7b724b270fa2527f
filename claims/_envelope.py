"""Known deviations as data: the numbers a deviating cell is expected to keep.

A :class:`Deviation` lists the deciding numbers of a cell that does not hold on a tier,
each exact or :func:`within` a stated tolerance. A cell whose measured numbers leave the
envelope fails (``claims/_framework.settle``), so an entry cannot go stale silently.
"""

from dataclasses import dataclass
from numbers import Real

import numpy as np


def fmt(v):
    """Compact rendering of a deciding number (4 significant digits)."""
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)) and v and all(
            isinstance(x, float) or x is None for x in v):
        return "[" + ", ".join("None" if x is None else f"{x:.4g}" for x in v) + "]"
    return str(v)


@dataclass(frozen=True)
class Within:
    """An expected number with its tolerance: ``|measured - value| <= tol`` (elementwise
    for lists; ``None`` entries of a list must be ``None`` in the measurement)."""

    value: object
    tol: float

    def problem(self, name, measured):
        expected = self.value
        if isinstance(expected, (list, tuple)):
            if not isinstance(measured, (list, tuple)) or len(measured) != len(expected):
                return f"{name}: expected {fmt(list(expected))} +- {self.tol:g}, measured {fmt(measured)}"
            bad = [i for i, (e, m) in enumerate(zip(expected, measured))
                   if (e is None) != (m is None) or (e is not None and not abs(m - e) <= self.tol)]
            if bad:
                return (f"{name}: expected {fmt(list(expected))} +- {self.tol:g}, measured "
                        f"{fmt(list(measured))} (entries {bad} outside)")
            return None
        if not isinstance(measured, Real) or not abs(measured - expected) <= self.tol:
            return f"{name}: expected {fmt(expected)} +- {self.tol:g}, measured {fmt(measured)}"
        return None


def within(value, tol):
    return Within(value, tol)


@dataclass(frozen=True)
class Deviation:
    """A cell known not to hold on a tier, and the numbers it is expected to keep.

    Parameters
    ----------
    expect : dict
        Deciding number -> expected value. A plain value must match exactly (counts, label
        lists, flags); :func:`within` gives a value with a tolerance.
    tolerance : str
        Where the tolerances come from (a measured spread).
    note : str
        Why the cell may deviate: an interpretation, in words only. The report prints the
        measured numbers next to it, so the note itself holds no numbers (tested).
    """

    expect: dict
    tolerance: str = ""
    note: str = ""

    def problems(self, evidence):
        """Ways in which ``evidence`` left this envelope (empty when it is inside)."""
        out = []
        for name, expected in self.expect.items():
            if name not in evidence.numbers:
                out.append(f"{name}: expected {fmt(expected)}, not measured")
                continue
            measured = evidence.numbers[name]
            if isinstance(expected, Within):
                problem = expected.problem(name, measured)
                if problem:
                    out.append(problem)
            elif normalise(measured) != normalise(expected):
                out.append(f"{name}: expected {fmt(expected)}, measured {fmt(measured)}")
        return out

    def describe(self):
        """The envelope in words: ``name = value +- tol``."""
        parts = []
        for name, e in self.expect.items():
            if isinstance(e, Within):
                parts.append(f"{name} = {fmt(e.value if not isinstance(e.value, tuple) else list(e.value))} +- {e.tol:g}")
            else:
                parts.append(f"{name} = {fmt(e)}")
        return "; ".join(parts)


def normalise(v):
    if isinstance(v, tuple):
        return list(v)
    if isinstance(v, np.generic):
        return v.item()
    return v
