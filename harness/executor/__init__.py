"""Precompute a tier's artifacts before the claims read them: serially or on Ray.

``harness verify`` first runs every work unit of the tier (:mod:`.units`: fine-tuning runs,
extractions, DirectProbe, distances, probes) through an executor, then the claim run
(pytest) and the report read them warm from the store. The executors differ only in
where units run:

* ``serial``: one after another in this process (the tiny tier's default);
* ``ray``: as Ray tasks on a local runtime sized to the machine, or on an existing cluster
  (``address``); fine-tuning, extraction and probes take a GPU each when the cluster has
  GPUs, the geometry one CPU core (:mod:`.ray_executor`).

Units meet in the content-addressed store: each writes its artifacts under their full
configuration with an atomic rename, so a rerun after a kill or a failure finds what was
finished and resumes the rest (a fine-tuning run from its last checkpoint).
"""

from dataclasses import dataclass, field

from .units import Context, Unit, plan

EXECUTORS = ("serial", "ray")


@dataclass
class Summary:
    """What an executor did: per-stage unit counts and seconds, and the failures.

    ``seconds`` sums the units' own wall times per stage (on Ray they overlap: the sum
    can exceed ``wall_s``), ``cpu_s`` their CPU times; ``startup_s`` is the time to
    start or join the Ray runtime (and to stop it); ``failed`` maps a unit id to its
    error, ``blocked`` lists the units not run because a dependency failed, and
    ``over_budget`` maps a unit id to the time limit it (or an analysis it reads) hit.
    ``by_seed`` splits the same sums by fine-tuning seed (``"0"``, ``"1"``, ...) and
    ``"shared"`` (the update-0 analyses, read by every seed), counting only the units
    that computed something: ``{seed: {stage: {"units", "seconds", "cpu_s"}}}``; the
    per-seed records keep it.
    """

    executor: str
    wall_s: float = 0.0
    startup_s: float = 0.0
    units: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    cpu_s: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)
    blocked: list = field(default_factory=list)
    by_seed: dict = field(default_factory=dict)
    over_budget: dict = field(default_factory=dict)

    def record(self, unit, result):
        if result.get("budget"):
            self.over_budget[unit.id] = result["budget"]
        self.units[unit.stage] = self.units.get(unit.stage, 0) + 1
        self.seconds[unit.stage] = self.seconds.get(unit.stage, 0.0) + result["seconds"]
        self.cpu_s[unit.stage] = self.cpu_s.get(unit.stage, 0.0) + result.get("cpu_s", 0.0)
        if not result.get("computed", True):
            return  # found in the store: no cost of this run
        stages = self.by_seed.setdefault(_cost_owner(unit), {})
        entry = stages.setdefault(unit.stage, {"units": 0, "seconds": 0.0, "cpu_s": 0.0})
        entry["units"] += 1
        entry["seconds"] += result["seconds"]
        entry["cpu_s"] += result.get("cpu_s", 0.0)

    def line(self):
        parts = [f"{stage} {self.units[stage]} ({self.seconds[stage]:.0f} s)"
                 for stage in self.units]
        text = f"precompute ({self.executor}): {', '.join(parts) or 'nothing'}; {self.wall_s:.0f} s wall"
        if self.failed or self.blocked:
            text += f"; {len(self.failed)} failed, {len(self.blocked)} blocked"
        if self.over_budget:
            text += f"; {len(self.over_budget)} stopped at their time limit (not run: budget)"
        return text


def _cost_owner(unit):
    """``"shared"`` for an analysis of the pretrained model (update 0, read by every
    seed), else the unit's fine-tuning seed as a string."""
    update = unit.kwargs.get("update")
    if unit.kind != "finetune" and (update == "first" or update == 0):
        return "shared"
    return str(unit.kwargs.get("seed", "shared"))


def precompute(tier, *, executor="serial", store=None, data_dir=None, progress=None,
               address=None, num_cpus=None):
    """Run every unit of ``tier`` (see :func:`.units.plan`) and return a :class:`Summary`.

    Parameters
    ----------
    tier : harness.tiers.Tier
        With its model/task/seed selection applied.
    executor : {"serial", "ray"}
    store : RunStore, optional
    data_dir : path, optional
    progress : harness.progress.StageProgress, optional
        Receives the stage totals and counts (nothing is shown without it).
    address : str, optional
        Ray only: join this cluster (``"auto"``, ``"ray://host:10001"``, ``host:6379``)
        instead of starting a local runtime.
    num_cpus : int, optional
        Ray only: CPUs of the local runtime (default: the machine's).
    """
    import os
    import time

    from ..progress import StageProgress
    from ..store import RunStore

    if executor not in EXECUTORS:
        raise ValueError(f"The 'executor' parameter of precompute must be one of {EXECUTORS}. "
                         f"Got {executor!r} instead.")
    store = store or RunStore()
    progress = progress or StageProgress(enabled=False)
    import torch

    context = Context(tier, str(store.root.resolve()),
                      None if data_dir is None else os.path.abspath(data_dir),
                      torch_threads=torch.get_num_threads())
    units = plan(tier, data_dir=data_dir)
    for unit in units:
        progress.add_total(unit.stage, unit.n_updates if unit.kind == "finetune" else 1)
        if unit.kind == "finetune":
            progress.add_total("extract", len(unit.snapshots))
    summary = Summary(executor)
    started = time.perf_counter()
    if executor == "serial":
        from .serial import run_serial

        run_serial(context, units, progress, summary)
    else:
        from .ray_executor import run_ray

        run_ray(context, units, progress, summary, address=address, num_cpus=num_cpus)
    summary.wall_s = time.perf_counter() - started
    return summary


__all__ = ["EXECUTORS", "Context", "Summary", "Unit", "plan", "precompute"]
