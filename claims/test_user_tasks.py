"""F4, F6 and X2 on a task declared in a task file (docs/own-task.md).

A task file's task gets every claim about one task and one model with the paper's rules,
from the claim files themselves: F1, F2, F3, F8 and X1 (all tasks), F5 and F7 (whose
rules carry their own precondition, a linear original layer). The three below need what
one task cannot give; here each gets a cell that says so, or runs where it can:

* **F4** compares the number of non-linear tasks among the paper's five across model
  sizes (Appendix C) and TREC-50's cluster counts: *not applicable* to one user task.
* **F6** probes one task under models fine-tuned on a related and an opposing task (the
  paper: PS-fxn under PS-role and POS). A task file that declares ``partners`` gets the
  paper's rules (:func:`claims.test_f6_cross_task.rule_related_task` and
  ``rule_opposing_task``) with its own task probed, one cell per partner; without
  partners, one *not applicable* cell.
* **X2** compares DEP with TREC-50 (Merchant et al. 2020): *not applicable*.
"""

from dataclasses import replace

import pytest

from claims._framework import Evidence, cells, decide, settle
from claims.test_f6_cross_task import measure_cross_task

#: Why each claim cannot be decided on one user task.
NOT_APPLICABLE = {
    "F4": "F4 counts the non-linear tasks among the paper's five across model sizes and "
          "checks TREC-50; one user task gives no such count (run the paper's tasks with "
          "several --models for F4)",
    "F6": "F6 needs a related and an opposing task to fine-tune on; the task file declares "
          "no 'partners'",
    "X2": "X2 compares the paper's DEP with TREC-50 (Merchant et al. 2020); it is not a "
          "claim about one user task",
}


def _user_cells(claim):
    """One cell per (tier, model, task file's task)."""
    return cells(claim, tasks=(), user_tasks=True)


def _declaration(task):
    from harness.data.taskfile import declaration

    return declaration(task)


def _partners(task):
    """``[(relation, partner task name)]`` declared by ``task``'s file."""
    from harness.data.taskfile import PARTNER_FIELDS, partner_name

    decl = _declaration(task)
    return [(r, partner_name(decl, r)) for r in PARTNER_FIELDS if decl.partner(r) is not None]


def _f6_cells():
    """Per task file's task: one cell per declared partner (``extra`` = the partner), or
    one cell without ``extra`` when none is declared."""
    out = []
    for param in _user_cells("F6"):
        cell = param.values[0]
        partners = _partners(cell.task) if cell.task else []
        for extra in [p for _, p in partners] or [None]:
            new = replace(cell, extra=extra)
            out.append(pytest.param(new, marks=param.marks, id=new.id))
    return out


def check_not_applicable(claim):
    def check(ws, cell, seed):
        return Evidence(claim, cell).inapplicable(NOT_APPLICABLE[claim])

    return check


def check_cross_task_declared(ws, cell, seed):
    """F6 with the task file's own task probed, fine-tuned on the partner ``cell.extra``:
    measured as :func:`claims.test_f6_cross_task.check_cross_task` measures PS-fxn."""
    probed, source = cell.task, cell.extra
    relation = dict((p, r) for r, p in _partners(probed))[source]
    return measure_cross_task(ws, cell, seed, probed=probed, source=source,
                              related=relation == "related", relation=relation)


@pytest.mark.parametrize("cell", _user_cells("F4"))
def test_f4_on_user_task(cell, workspaces, evidence_sink):
    settle(decide(check_not_applicable("F4"), workspaces(cell.tier), cell), evidence_sink)


@pytest.mark.parametrize("cell", _f6_cells())
def test_f6_on_user_task(cell, workspaces, evidence_sink):
    check = check_cross_task_declared if cell.extra else check_not_applicable("F6")
    settle(decide(check, workspaces(cell.tier), cell), evidence_sink)


@pytest.mark.parametrize("cell", [pytest.param(replace(p.values[0], scope="extension"),
                                               marks=p.marks, id=p.id)
                                  for p in _user_cells("X2")])
def test_x2_on_user_task(cell, workspaces, evidence_sink):
    settle(decide(check_not_applicable("X2"), workspaces(cell.tier), cell), evidence_sink)
