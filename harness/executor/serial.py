"""The serial executor: every unit in this process, in dependency order."""

import logging

from .units import execute

logger = logging.getLogger(__name__)


def run_serial(context, units, progress, summary):
    """Execute ``units`` (dependencies first) one by one; a failure blocks its dependents
    and the rest goes on."""
    down = set()
    for unit in units:
        if any(dep in down for dep in unit.deps):
            summary.blocked.append(unit.id)
            down.add(unit.id)
            continue
        try:
            if unit.kind == "finetune":  # reports its updates and snapshots itself
                result = execute(context, unit, progress.advance)
            else:
                with progress.working(unit.stage, unit.id):
                    result = execute(context, unit, progress.advance)
        except Exception as err:  # recorded and reported; the claim run will show it too
            logger.exception("unit %s failed", unit.id)
            summary.failed[unit.id] = f"{type(err).__name__}: {err}"
            down.add(unit.id)
            continue
        summary.record(unit, result)
        if unit.kind != "finetune":
            progress.advance(unit.stage)
