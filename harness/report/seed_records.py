"""Per-seed records: what each fine-tuning seed measured, kept beside the report.

A paper-tier seed costs hours on a CPU, and its arrays live in a store that need not
outlive the machine. So ``harness verify`` writes, for every seed it computed, one small
JSON record into ``REPORT_DIR/seeds/seed-K.json``:

* ``cells``: for every claim cell, the seed's own evidence (``holds``, the rule, why it
  was not applicable, and every number the claim read for that seed);
* ``analysis_code``: a fingerprint of the code that turned arrays into those numbers
  (:func:`analysis_code_fingerprint`), with the git commit and library versions;
* ``cost``: seconds and CPU seconds per stage of the units this seed needed, as measured
  by the run that computed them (the update-0 analyses, shared by every seed, are
  counted with the seed whose run computed them).

A later run (``--seeds 1``) adds its seed's record. The claims then decide each cell over
every committed seed (:func:`claims._framework.decide`): the computed seeds from the
store, the others from their records, and the report says how many seeds decided a cell
and flags a seed whose record was written by other analysis code.

Records are checked when read: a record of another tier protocol (other data caps,
probe grid, tolerance, ...) or with a malformed field is refused with its path.
"""

import hashlib
import json
import os
from pathlib import Path

from ..exceptions import HarnessError

FORMAT = 1
SEEDS_DIR = "seeds"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: Tier fields that select what runs, not how, and budgets, which decide whether a number is
#: measured but never its value: records of one protocol may differ in them.
#: (``data_options`` lists the selected tasks' caps: a task both hold must agree.)
SELECTION_FIELDS = ("models", "tasks", "seeds", "cross_task", "description",
                    "directprobe_time_limit")


def record_path(out_dir, seed):
    return Path(out_dir) / SEEDS_DIR / f"seed-{int(seed)}.json"


def analysis_code_fingerprint():
    """sha256 (12 hex) of the code that turns stored arrays into a claim's numbers.

    That is every module of the ``harness.analyses`` package (:func:`analysis_modules`)
    with every harness module it imports
    (:func:`harness.fingerprints.code_fingerprint`), and the claims' own files:
    ``claims/_framework.py``, ``claims/_envelope.py`` and ``claims/test_*.py``. The
    deviation entries (``claims/deviations.py``) and the test plumbing are left out: they
    change what a verdict is called, not a seed's numbers.
    """
    from ..fingerprints import code_fingerprint

    # Every module of the package, not the package alone: its ``__init__`` imports only
    # the workspace, and the kernels (geometry, probes, similarity) come in through the
    # analysis modules.
    digest = hashlib.sha256()
    for module in analysis_modules():
        digest.update(module.encode() + b"\0" + code_fingerprint(module).encode())
    claims = PROJECT_ROOT / "claims"
    for path in sorted([claims / "_framework.py", claims / "_envelope.py",
                        *claims.glob("test_*.py")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def analysis_modules():
    """The modules of the ``harness.analyses`` package, sorted (each is fingerprinted with
    every harness module it imports)."""
    package = Path(__file__).resolve().parents[1] / "analyses"
    return sorted(["harness.analyses"] + [f"harness.analyses.{p.stem}"
                                          for p in package.glob("*.py") if p.stem != "__init__"])


def protocol(tier_dict):
    """The fields of a tier that define its protocol (what a seed's numbers depend on)."""
    return {k: v for k, v in tier_dict.items() if k not in SELECTION_FIELDS}


def _jsonable(value):
    """Round-trip through JSON, so that comparisons see what a record stores."""
    return json.loads(json.dumps(value, default=json_default))


def json_default(obj):
    """``json.dumps(default=)`` for analysis results: NumPy scalars and arrays as Python
    numbers and lists, anything else as its ``str``."""
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def cost_of_seed(precompute, seed, seeds):
    """The cost of ``seed`` from a precompute summary (``vars(Summary)``) of a run over
    ``seeds``, or None when that run computed none of the seed's units.

    The summary's ``by_seed`` table maps ``"K"`` (units of seed K) and ``"shared"`` (the
    update-0 analyses) to ``{stage: {"units", "seconds", "cpu_s"}}``. A summary without
    it (written before it existed) is used only when its run computed that seed alone:
    its stage totals are then the seed's, with the shared analyses included.
    """
    by_seed = precompute.get("by_seed")
    if by_seed is None:
        if list(seeds) != [seed] or not precompute.get("units"):
            return None
        stages = {stage: {"units": n, "seconds": precompute["seconds"][stage],
                          "cpu_s": precompute.get("cpu_s", {}).get(stage, 0.0)}
                  for stage, n in precompute["units"].items()}
        return {"stages": stages, "shared_included": True}
    own = by_seed.get(str(seed))
    if not own:
        return None
    return {"stages": own, "shared_stages": by_seed.get("shared", {}),
            "shared_included": False}


def previous_provenance(out_dir):
    """The provenance of the report already in ``out_dir`` (``provenance.json``, else the
    JSON block that closes ``REPORT.md``), or None. A run reads it before overwriting
    the report, so that a seed computed by that run keeps the cost it measured."""
    out = Path(out_dir)
    try:
        if (out / "provenance.json").is_file():
            return json.loads((out / "provenance.json").read_text())
        text = (out / "REPORT.md").read_text()
        block = text.rsplit("## Provenance", 1)[1].split("```json", 1)[1].split("```", 1)[0]
        return json.loads(block)
    except (OSError, IndexError, ValueError):
        return None


def build_record(seed, records, tier_dict, environment, cost):
    """The record of ``seed`` from the claim run's evidence records.

    Parameters
    ----------
    seed : int
    records : list of dict
        ``evidence.json``'s records; each decided cell lists its seeds' evidence.
    tier_dict : dict
        ``Tier.to_dict()`` of the run.
    environment : dict
        :func:`harness.store.environment` (versions, git commit, machine).
    cost : dict or None
        :func:`cost_of_seed`, or an earlier record's cost.
    """
    cells = {}
    for r in records:
        for entry in r.get("seeds") or []:
            if entry["seed"] == seed and entry.get("source", "computed") == "computed":
                cells[f"{r['claim']}|{r['cell_id']}"] = {
                    "claim": r["claim"], "cell": r["cell"],
                    **{k: entry.get(k) for k in ("verdict", "holds", "rule", "not_applicable",
                                                 "not_run", "headline", "numbers")}}
    return _jsonable({
        "format": FORMAT, "seed": int(seed), "tier": tier_dict.get("name"),
        "protocol": protocol(tier_dict), "analysis_code": analysis_code_fingerprint(),
        "git_commit": environment.get("git_commit"), "versions": environment.get("versions"),
        "machine": environment.get("machine"), "cost": cost,
        "cells": dict(sorted(cells.items())),
    })


def keep_other_tasks(record, earlier, tasks):
    """``record`` with the cells of ``earlier`` (the same seed's committed record) whose
    task this run did not select, so that a run over some tasks never drops what an
    earlier run measured on others. Each kept cell says which code recorded it
    (``recorded_by``), and ``earlier_runs`` keeps those runs' cost."""
    kept = {}
    for name, cell in earlier["cells"].items():
        task = (cell.get("cell") or {}).get("task")
        if name in record["cells"] or not task or task in tasks:
            continue
        kept[name] = {**cell, "recorded_by": cell.get("recorded_by") or {
            "analysis_code": earlier["analysis_code"], "git_commit": earlier.get("git_commit")}}
    if not kept:
        return record
    runs = [r for r in earlier.get("earlier_runs", [])
            if set(r.get("tasks", ())) & {c["cell"]["task"] for c in kept.values()}]
    runs.append({"tasks": sorted(record_tasks(earlier) - set(tasks)),
                 "git_commit": earlier.get("git_commit"),
                 "analysis_code": earlier["analysis_code"], "cost": earlier.get("cost")})
    return {**record, "cells": dict(sorted({**record["cells"], **kept}.items())),
            "earlier_runs": runs}


def write_record(out_dir, record):
    """Write one record atomically (a reader never sees half a file)."""
    path = record_path(out_dir, record["seed"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=False) + "\n")
    tmp.replace(path)
    return path


def read_record(path):
    """One record, checked; raises :class:`HarnessError` naming the file otherwise."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise HarnessError(f"{path}: not a readable seed record ({err}).") from None
    need = {"format": int, "seed": int, "protocol": dict, "analysis_code": str, "cells": dict}
    for key, kind in need.items():
        if not isinstance(record, dict) or not isinstance(record.get(key), kind):
            raise HarnessError(f"{path}: field {key!r} is missing or not a {kind.__name__}; "
                               "restore the file from git or remove it.")
    if record["format"] != FORMAT:
        raise HarnessError(f"{path}: record format {record['format']}, this code reads "
                           f"format {FORMAT}.")
    if path.name != f"seed-{record['seed']}.json":
        raise HarnessError(f"{path}: holds seed {record['seed']}; a record's file is named "
                           "after its seed.")
    for name, cell in record["cells"].items():
        if not isinstance(cell, dict) or not isinstance(cell.get("numbers"), dict) \
                or cell.get("holds") not in (True, False, None):
            raise HarnessError(f"{path}: cell {name!r} is malformed (it needs 'numbers' and "
                               "'holds' true, false or null).")
    return record


def report_seed(committed):
    """The committed seed whose stored arrays a report written from records draws.

    Analyses are stored under the fingerprint of the code that computed them, so the
    store holds a seed's arrays under this code only if this code recorded it. That is
    the lowest seed all of whose cells this analysis code recorded; else the lowest seed
    (its sections then say what the store lacks).

    Parameters
    ----------
    committed : dict
        ``{seed: record}``, as :func:`committed_records` returns.
    """
    code = analysis_code_fingerprint()
    current = [seed for seed, record in sorted(committed.items())
               if all((cell.get("recorded_by") or record)["analysis_code"] == code
                      for cell in record["cells"].values())]
    return (current or sorted(committed))[0]


def committed_records(out_dir, tier_dict):
    """``{seed: record}`` of the records in ``out_dir/seeds`` (:func:`records_in`)."""
    return records_in(Path(out_dir) / SEEDS_DIR, tier_dict)


def records_in(folder, tier_dict):
    """``{seed: record}`` of the records (``seed-K.json``) in ``folder`` for this tier's
    protocol.

    Raises
    ------
    HarnessError
        A record is unreadable, or was measured under another protocol (its
        :func:`protocol` differs): deciding over it would mix two experiments.
    """
    folder = Path(folder)
    found = {}
    if not folder.is_dir():
        return found
    mine = _jsonable(protocol(tier_dict))
    for path in sorted(folder.glob("seed-*.json")):
        record = read_record(path)
        tasks = set(tier_dict.get("tasks") or ()) & record_tasks(record)
        changed = _differences(mine, record["protocol"], tasks)
        if changed:
            raise HarnessError(f"{path}: measured under another protocol of tier "
                               f"{tier_dict.get('name')!r} (differs in {', '.join(changed)}); "
                               "move it away, or rerun that seed with this protocol.")
        found[record["seed"]] = record
    return found


def _differences(mine, theirs, tasks=()):
    """Protocol fields that differ; data caps only for the tasks both runs cover.

    ``tasks`` are the tasks of the run and the record both; a task's caps are its entry in
    ``data_options``, else the tier's ``default_caps`` for its kind (``Tier.task_data_options``).
    """
    changed = sorted(k for k in set(mine) | set(theirs)
                     if k != "data_options" and mine.get(k) != theirs.get(k))
    changed += [f"data_options[{t}]" for t in sorted(tasks)
                if _task_caps(mine, t) != _task_caps(theirs, t)]
    return changed


def _task_caps(proto, task):
    listed = proto.get("data_options") or {}
    if task in listed:
        return listed[task]
    defaults = proto.get("default_caps") or {}
    if not defaults:
        return {}
    from ..data.registry import task_kind

    try:
        return defaults.get(task_kind(task), {})
    except Exception:  # an own task file not at hand: only an explicit entry can differ
        return {}


def record_tasks(record):
    """The tasks a record's cells were measured on."""
    return {cell["cell"]["task"] for cell in record["cells"].values()
            if isinstance(cell.get("cell"), dict) and cell["cell"].get("task")}
