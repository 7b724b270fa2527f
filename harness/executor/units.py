"""The work units of a tier and what each one computes.

A claim run needs fine-tuning runs, cross-task extractions and cached analyses (DirectProbe
clusterings, hull distances, probes). Each is computed once and stored in the run store
under its full configuration, whoever computes it. A :class:`Unit` is one such piece of
work, small enough to schedule on its own and named by what it computes:

==============  ===========  =====================================================  ========
kind            stage        computes (through :mod:`harness.analyses`)              device
==============  ===========  =====================================================  ========
``finetune``    fine-tune    a run with its snapshots (:func:`~harness.finetune.     gpu
                             finetune`); snapshot extraction is part of it
``extract``     extract      a split of task B under the model fine-tuned on A       gpu
``cluster``     directprobe  DirectProbe on one (snapshot, split, layer)             cpu
``distances``   distances    the fixed clustering's hull distances at one            cpu
                             (snapshot, layer) (F5, F7, Figs. 2 and 4)
``train_test``  distances    train/test spatial similarity at one end (F2)           cpu
``cross``       distances    cross-task minimum distances (F6)                       cpu
``probe``       probes       the MLP probe grid at the last layer (F1, F6)           gpu
==============  ===========  =====================================================  ========

:func:`plan` lists the units of a tier in dependency order (a unit's ``deps`` come before
it). A unit never depends on work it does not name: an analysis of a run depends on the
run, a distance on the clustering it keeps fixed, so no two units compute the same
artifact. :func:`execute` runs one unit in the current process; the executors
(:mod:`.serial`, :mod:`.ray_executor`) only decide where and when.

The plan mirrors what the claims and the report read (``claims/test_f*.py``,
:mod:`harness.report`). It is an optimisation: whatever it misses, the claim run computes
itself, and whatever it computes is keyed exactly as the claims would key it.
"""

import collections
import contextlib
import logging
import os
import time
import warnings
from dataclasses import dataclass, field

from ..exceptions import BudgetExceeded

logger = logging.getLogger(__name__)

#: Tasks whose fixed-clustering distances are tracked through the snapshots (F5, F7,
#: Figs. 2 and 4; footnotes 8 and 10 exclude TREC-50, which is not linear).
DISTANCE_TASKS = ("pos", "dep", "ps-role", "ps-fxn")

#: Units that run on a GPU when the cluster has one; the others use one CPU core.
GPU_KINDS = ("finetune", "extract", "probe")

STAGE = {"finetune": "fine-tune", "extract": "extract", "cluster": "directprobe",
         "distances": "distances", "train_test": "distances", "cross": "distances",
         "probe": "probes"}


@dataclass(frozen=True)
class Context:
    """What every unit needs besides its arguments: the tier, the store, the data.

    Paths are absolute so that a worker on another node reads the same shared store
    (docs/paper-tier.md, "Several nodes"). ``torch_threads`` is the driver's torch thread
    count, which every unit runs with: a sum over a different number of threads rounds
    differently (about 1e-7 relative in the representations), and a Ray worker's count
    depends on which worker Ray picks, so the numbers would depend on the executor.
    """

    tier: object
    store_root: str
    data_dir: str = None
    torch_threads: int = None


@dataclass(frozen=True)
class Unit:
    """One piece of work: ``execute(context, unit)`` computes and stores it.

    Attributes
    ----------
    id : str
        Unique and readable, e.g. ``"cluster/minilm-l6/pos/s0/last/train/L6"``.
    kind : str
        Key of :data:`UNIT_FUNCTIONS`.
    kwargs : dict
        Arguments of the unit function (model, task, seed, ...).
    deps : tuple of str
        Ids of the units that must be stored first.
    snapshots : tuple of int
        ``finetune`` only: the snapshot updates of the run (counted as extraction
        progress as they are taken).
    n_updates : int
        ``finetune`` only: the run's length in updates.
    """

    id: str
    kind: str
    kwargs: dict = field(default_factory=dict)
    deps: tuple = ()
    snapshots: tuple = ()
    n_updates: int = 0

    @property
    def stage(self):
        return STAGE[self.kind]

    @property
    def device(self):
        return "gpu" if self.kind in GPU_KINDS else "cpu"


# ---- planning ----------------------------------------------------------------------------
def plan(tier, *, data_dir=None):
    """The units of ``tier`` (after its model/task/seed selection), dependencies first.

    Loads each task's data once (to know every run's length and snapshots) but no model.
    """
    from ..data import load_task
    from ..finetune import run_schedule
    from ..models.registry import resolve_model

    units = {}

    def add(unit):
        units.setdefault(unit.id, unit)
        return unit.id

    seeds = tuple(tier.seeds)
    first_seed = seeds[0]
    needed = list(tier.tasks)
    cross = {probed: tuple(sources) for probed, sources in tier.cross_task.items()
             if probed in tier.tasks}
    for sources in cross.values():
        needed += [t for t in sources if t not in needed]
    with warnings.catch_warnings():  # the claim run reports the data's warnings itself
        warnings.simplefilter("ignore")
        data = {task: load_task(task, data_dir, **tier.data_options.get(task, {}))
                for task in needed}

    for model in tier.models:
        n = _n_layers(model)
        if n is None:  # no weights here: each claim cell of the model says so when it runs
            continue
        top = n
        epochs = resolve_model(model).epochs
        # Fine-tuning runs, with what each snapshot will hold.
        held = {}
        for task in needed:
            for seed in seeds:
                config = tier.finetune_config(model, task, seed)
                total, _, snaps = run_schedule(
                    config, data[task], epochs if config.epochs is None else config.epochs)
                held[task, seed] = {u: _resolve(spec.layers, n) for u, spec in snaps.items()
                                    if "train" in spec.splits}
                add(Unit(_id("finetune", model, task, seed), "finetune",
                         dict(model=model, task=task, seed=seed), snapshots=tuple(snaps),
                         n_updates=total))
        for task in tier.tasks:
            ft0 = _id("finetune", model, task, first_seed)
            layers = [layer for layer in range(n + 1)
                      if not (layer == 0 and data[task].kind == "sentence")]
            # DirectProbe: the original (update 0, shared by all seeds) and each seed's end;
            # every layer of train (F3, F5, F7), the last layer of test (F2).
            cluster_first = {}
            for split, split_layers in (("train", layers), ("test", [top])):
                for layer in split_layers:
                    cluster_first[split, layer] = add(Unit(
                        _id("cluster", model, task, "first", split, f"L{layer}"), "cluster",
                        dict(model=model, task=task, seed=first_seed, update="first",
                             split=split, layer=layer), deps=(ft0,)))
            add(Unit(_id("probe", model, task, "first"), "probe",
                     dict(model=model, task=task, seed=first_seed, update="first"), deps=(ft0,)))
            add(Unit(_id("train_test", model, task, "first"), "train_test",
                     dict(model=model, task=task, seed=first_seed, update="first"),
                     deps=(cluster_first["train", top], cluster_first["test", top])))
            d0 = {}
            if task in DISTANCE_TASKS:
                for layer in layers:
                    d0[layer] = add(Unit(
                        _id("distances", model, task, "first", f"L{layer}"), "distances",
                        dict(model=model, task=task, seed=first_seed, layer=layer, update=0),
                        deps=(cluster_first["train", layer],)))
            for seed in seeds:
                ft = _id("finetune", model, task, seed)
                last = {}
                for split, split_layers in (("train", layers), ("test", [top])):
                    for layer in split_layers:
                        last[split, layer] = add(Unit(
                            _id("cluster", model, task, f"s{seed}", "last", split, f"L{layer}"),
                            "cluster", dict(model=model, task=task, seed=seed, update="last",
                                            split=split, layer=layer), deps=(ft,)))
                add(Unit(_id("probe", model, task, f"s{seed}", "last"), "probe",
                         dict(model=model, task=task, seed=seed, update="last"), deps=(ft,)))
                add(Unit(_id("train_test", model, task, f"s{seed}", "last"), "train_test",
                         dict(model=model, task=task, seed=seed, update="last"),
                         deps=(last["train", top], last["test", top])))
                if task not in DISTANCE_TASKS:
                    continue
                for update, update_layers in sorted(held[task, seed].items()):
                    for layer in layers:
                        if update == 0 or layer not in update_layers:
                            continue
                        add(Unit(_id("distances", model, task, f"s{seed}", f"u{update}",
                                     f"L{layer}"), "distances",
                                 dict(model=model, task=task, seed=seed, layer=layer,
                                      update=update), deps=(ft, d0[layer])))
        # Cross-task (F6): the probed task under the models fine-tuned on the others.
        for probed, sources in cross.items():
            for seed in seeds:
                for source in sources:
                    deps = [_id("finetune", model, source, seed),
                            _id("cluster", model, probed, "first", "train", f"L{top}")]
                    if probed in DISTANCE_TASKS:
                        deps.append(_id("distances", model, probed, "first", f"L{top}"))
                    if source == probed:  # the run's own last snapshot
                        deps.append(_id("cluster", model, probed, f"s{seed}", "last", "train",
                                        f"L{top}"))
                    else:
                        extracted = [add(Unit(
                            _id("extract", model, source, probed, f"s{seed}", split), "extract",
                            dict(model=model, source=source, probed=probed, seed=seed,
                                 split=split), deps=(_id("finetune", model, source, seed),)))
                            for split in ("train", "test")]
                        deps += extracted
                        add(Unit(_id("probe", model, source, probed, f"s{seed}"), "probe",
                                 dict(model=model, task=probed, seed=seed, update="cross",
                                      source=source), deps=tuple(extracted)))
                    add(Unit(_id("cross", model, source, probed, f"s{seed}"), "cross",
                             dict(model=model, source=source, probed=probed, seed=seed),
                             deps=tuple(deps)))
    return _ordered(units)


def _id(*parts):
    return "/".join(str(p) for p in parts)


def _resolve(layers, n_layers):
    from ..extract import resolve_layers

    return set(resolve_layers(layers, n_layers))


def _n_layers(model):
    """The model's layer count; None when its weights cannot be found (or fetched)."""
    from ..models.layers import n_layers
    from ..models.registry import weights_available

    n = n_layers(model)
    if n is None and weights_available(model)[0]:  # a hub id fetched just now
        n = n_layers(model)
    return n


def _ordered(units):
    """Units with every dependency before its dependents (stable otherwise)."""
    out, seen = [], set()

    def visit(uid):
        if uid in seen:
            return
        seen.add(uid)
        for dep in units[uid].deps:
            visit(dep)
        out.append(units[uid])

    for uid in units:
        visit(uid)
    return out


# ---- execution ---------------------------------------------------------------------------
_WORKSPACES = {}


def _workspace(context):
    """One :class:`~harness.analyses.Workspace` per context and process (it memoises runs
    and loaded models across the units a worker executes)."""
    from ..analyses import Workspace
    from ..store import RunStore, canonical_json

    key = (canonical_json(context.tier.to_dict()), context.store_root, context.data_dir)
    if key not in _WORKSPACES:
        if len(_WORKSPACES) >= 4:  # a long-lived worker serving several tiers
            _WORKSPACES.clear()
        _WORKSPACES[key] = Workspace(context.tier, store=RunStore(context.store_root),
                                     data_dir=context.data_dir, progress=False)
    return _WORKSPACES[key]


def execute(context, unit, report=None):
    """Compute ``unit`` (or find it stored); return ``{"id", "seconds", "cpu_s", "pid",
    "computed"}``.

    ``seconds`` is the unit's wall time, ``cpu_s`` the CPU time of its process meanwhile
    (all its threads); ``computed`` whether it stored anything (False: all was found).
    ``report(stage, n)``, when given, receives fine-tuning progress as it happens: updates
    (``"fine-tune"``) and snapshots (``"extract"``).
    """
    if context.torch_threads:
        import torch

        if torch.get_num_threads() != context.torch_threads:
            torch.set_num_threads(context.torch_threads)
    from ..store import usage

    written = usage()["artifacts_computed"]
    started, cpu = time.perf_counter(), time.process_time()
    budget = None
    with _each_warning_once(unit):
        try:
            UNIT_FUNCTIONS[unit.kind](_workspace(context), unit, report or _ignore,
                                      **unit.kwargs)
        except BudgetExceeded as stop:  # an analysis it reads stopped at its time limit:
            budget = str(stop)          # nothing to compute here, the claims say "not run"
            logger.warning("%s: not run: %s", unit.id, budget)
    return {"id": unit.id, "seconds": time.perf_counter() - started,
            "cpu_s": time.process_time() - cpu, "pid": os.getpid(),
            "computed": usage()["artifacts_computed"] > written, "budget": budget}


@contextlib.contextmanager
def _each_warning_once(unit):
    """Collect the unit's warnings and show each distinct one once, with its count.

    A DirectProbe unit can raise the same solver warning for many cluster pairs; a wall
    of identical lines hides the one that matters.
    """
    caught = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:  # a failing unit's warnings may explain the failure: show them too
        counts = collections.Counter((w.category, str(w.message)) for w in caught)
        for (category, message), n in counts.items():
            times = f" ({n} times in unit {unit.id})" if n > 1 else f" (unit {unit.id})"
            warnings.warn(message + times, category, stacklevel=3)


def _ignore(stage, n=1):
    pass


def _finetune(ws, unit, report, *, model, task, seed):
    from ..finetune import finetune

    snapshots = sorted(unit.snapshots)
    counted = {"updates": 0, "snapshots": 0}

    def catch_up(update):
        taken = sum(1 for u in snapshots if u <= update)
        report("extract", taken - counted["snapshots"])
        counted["snapshots"] = taken

    def on_start(done, total):
        report("fine-tune", done)
        counted["updates"] = done
        if done:
            catch_up(done)

    def on_update(update):
        report("fine-tune", update - counted["updates"])
        counted["updates"] = update
        catch_up(update)

    config = ws.tier.finetune_config(model, task, seed)
    finetune(config, store=ws.store, data_dir=ws.data_dir, progress=False,
             on_start=on_start, on_update=on_update)


def _extract(ws, unit, report, *, model, source, probed, seed, split):
    ws.cross_vectors(model, source, probed, split, -1, seed=seed)


def _cluster(ws, unit, report, *, model, task, seed, update, split, layer):
    from ..analyses import snapshot_geometry

    result = snapshot_geometry.cluster(ws, ws.vectors(model, task, update, split, layer,
                                                      seed=seed))
    if not result["complete"]:  # stored with what it proved; the summary lists it
        raise BudgetExceeded(result["budget_note"])


def _distances(ws, unit, report, *, model, task, seed, layer, update):
    from ..analyses import snapshot_geometry

    snapshot_geometry.layer_similarity(ws, model, task, layer, updates=[update], seed=seed)


def _train_test(ws, unit, report, *, model, task, seed, update):
    from ..analyses import snapshot_geometry

    snapshot_geometry.train_test_similarity(ws, model, task, update, seed=seed)


def _cross(ws, unit, report, *, model, source, probed, seed):
    from ..analyses import snapshot_geometry

    snapshot_geometry.cross_task_min_distances(ws, model, probed, source, seed=seed)


def _probe(ws, unit, report, *, model, task, seed, update, source=None):
    from ..analyses import probing

    if update == "cross":
        probing.cross_task_accuracy(ws, model, task, source, seed=seed)
        return
    probing.probe(ws, ws.vectors(model, task, update, "train", -1, seed=seed),
                  ws.vectors(model, task, update, "test", -1, seed=seed))


UNIT_FUNCTIONS = {"finetune": _finetune, "extract": _extract, "cluster": _cluster,
                  "distances": _distances, "train_test": _train_test, "cross": _cross,
                  "probe": _probe}
