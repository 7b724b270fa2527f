"""How claims are parametrized, decided and recorded (the claims' ``estimator_checks``).

A claim is a plain function ``check_<name>(ws, cell) -> Evidence`` in one file per
finding. :func:`cells` yields its parameter cells for every tier (``tiny`` and ``full``
markers), turning known deviations (``claims/deviations.py``) into strict xfails and
cells that cannot run (missing weights, too few models) into skips with the reason.
"""

from dataclasses import dataclass, field

import pytest

from harness.models.registry import model_n_layers, weights_available
from harness.tiers import TIERS

from .deviations import DEVIATIONS


@dataclass(frozen=True)
class Cell:
    """One parameter cell of a claim."""

    tier: str
    model: str = None
    task: str = None
    layer: int = None
    extra: str = None

    @property
    def id(self):
        parts = [self.tier, self.model, self.task]
        if self.layer is not None:
            parts.append(f"L{self.layer}")
        if self.extra is not None:
            parts.append(self.extra)
        return "-".join(p for p in parts if p is not None)


@dataclass
class Evidence:
    """The numbers a claim decided on, and its verdict; written to the report."""

    claim: str
    cell: Cell
    holds: bool = None
    numbers: dict = field(default_factory=dict)
    rule: str = ""

    def decide(self, holds, rule, **numbers):
        self.holds = bool(holds)
        self.rule = rule
        self.numbers.update(numbers)
        return self

    def message(self):
        nums = ", ".join(f"{k}={_fmt(v)}" for k, v in self.numbers.items())
        return f"{self.claim}[{self.cell.id}] does not hold: {self.rule} | {nums}"


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)) and v and isinstance(v[0], float):
        return "[" + ", ".join(f"{x:.4g}" for x in v) + "]"
    return repr(v)


# A session-level selection set by claims/conftest.py from --models/--tasks.
SELECTION = {"models": None, "tasks": None}


def tier_models(tier):
    return tuple(SELECTION["models"] or TIERS[tier].models)


def tier_tasks(tier):
    return tuple(SELECTION["tasks"] or TIERS[tier].tasks)


def cells(claim, *, tasks=None, per_layer=False, per_model=True, extra=None, layers="all",
          needs_models=1):
    """pytest params of ``claim`` over tiers x models x tasks [x layers]."""
    params = []
    for tier in TIERS:
        marks = [getattr(pytest.mark, tier)]
        models = tier_models(tier)
        chosen = [t for t in tier_tasks(tier) if tasks is None or t in tasks]
        if not per_model:
            cell = Cell(tier)
            cell_marks = list(marks)
            if len(models) < needs_models:
                cell_marks.append(pytest.mark.skip(
                    reason=f"needs at least {needs_models} models; tier {tier!r} has "
                           f"{len(models)} ({', '.join(models)}): not run"))
            reason = DEVIATIONS.get((claim, cell.id))
            if reason:
                cell_marks.append(pytest.mark.xfail(strict=True, reason=reason, raises=AssertionError))
            params.append(pytest.param(cell, marks=cell_marks, id=cell.id))
            continue
        for model in models:
            skip = None
            if model is not None:
                ok, why = _weights(model)
                if not ok:
                    skip = f"weights for {model} not available: {why[:300]}"
            if len(models) < needs_models:
                skip = (f"needs at least {needs_models} models; tier {tier!r} has "
                        f"{len(models)} ({', '.join(models)}): not run")
            for task in chosen:
                layer_list = [None]
                if per_layer and model is not None:
                    n = model_n_layers(model)
                    layer_list = list(range(0, n + 1)) if n is not None else [None]
                    if layers == "top":
                        layer_list = [n] if n is not None else [None]
                for layer in layer_list:
                    for e in (extra or [None]):
                        cell = Cell(tier, model, task, layer, e)
                        cell_marks = list(marks)
                        if skip:
                            cell_marks.append(pytest.mark.skip(reason=skip))
                        reason = DEVIATIONS.get((claim, cell.id))
                        if reason:
                            cell_marks.append(pytest.mark.xfail(strict=True, reason=reason, raises=AssertionError))
                        params.append(pytest.param(cell, marks=cell_marks, id=cell.id))
    return params


_WEIGHTS = {}


def _weights(model):
    if model not in _WEIGHTS:
        _WEIGHTS[model] = weights_available(model)
    return _WEIGHTS[model]
