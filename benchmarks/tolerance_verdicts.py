"""How a tier's verdicts change with the separability tolerance.

Reads the ``evidence.json`` of runs of the same seeds at several tolerances
(``harness verify --separability-tol TAU --out DIR``) and prints, as Markdown:

1. the linear/non-linear decision of every layer each run read (F3's ``linear_before``
   and ``linear_after`` with the cluster counts, F7's ``layers_not_linear``), one row
   per (task, layer) where any run differs, and a count of the rows that agree;
2. every cell whose verdict differs between the runs.

Usage::

    harness verify --tier paper --seeds 0 --separability-tol 1e-4 --out paper-1e-4
    python benchmarks/tolerance_verdicts.py 1e-4=paper-1e-4/evidence.json \\
        1e-6=reports/paper/evidence.json

A cell missing from a run (a task it did not select) is shown as ``-``.
"""

import argparse
import json
from pathlib import Path


def load(path):
    """``{(claim, cell_id): record}`` of one evidence file."""
    records = json.loads(Path(path).read_text())["records"]
    return {(r["claim"], r["cell_id"]): r for r in records}


def layer_decisions(runs):
    """``{(cell_id, what): [decision per run]}`` of F3's and F7's linearity reads."""
    out = {}
    for k, run in enumerate(runs):
        for (claim, cell), r in run.items():
            n = r.get("numbers") or {}
            if claim == "F3" and "linear_before" in n:
                for when in ("before", "after"):
                    key = (cell, when)
                    text = (f"{'linear' if n[f'linear_{when}'] else 'not linear'} "
                            f"({n.get(f'clusters_{when}', '?')} cl.)")
                    out.setdefault(key, ["-"] * len(runs))[k] = text
            if claim == "F7" and "layers_not_linear" in n:
                key = (cell, "F7 layers not linear")
                out.setdefault(key, ["-"] * len(runs))[k] = str(n["layers_not_linear"]) or "[]"
    return out


def verdicts(runs):
    """``{(claim, cell_id): [verdict per run]}`` over every cell of any run."""
    keys = sorted({key for run in runs for key in run})
    return {key: [run[key]["verdict"] if key in run else "-" for run in runs] for key in keys}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="TAU=EVIDENCE",
                        help="a tolerance and the evidence.json of the run at it")
    args = parser.parse_args(argv)
    names, runs = [], []
    for item in args.runs:
        name, _, path = item.partition("=")
        if not path:
            parser.error(f"{item!r}: give TAU=PATH")
        names.append(name)
        runs.append(load(path))
    head = "| " + " | ".join(f"tau = {n}" for n in names) + " |"
    rule = "|---" * (len(names) + 1) + "|"

    decisions = layer_decisions(runs)
    differ = {k: v for k, v in decisions.items() if len(set(x for x in v if x != "-")) > 1}
    print(f"Layer decisions: {len(decisions)} read, {len(differ)} differ between the runs.\n")
    if differ:
        print("| cell, when " + head)
        print(rule)
        for (cell, when), values in sorted(differ.items()):
            print(f"| {cell} {when} | " + " | ".join(values) + " |")
        print()
    table = verdicts(runs)
    changed = {k: v for k, v in table.items() if len(set(x for x in v if x != "-")) > 1}
    print(f"Verdicts: {len(table)} cells, {len(changed)} differ between the runs.\n")
    if changed:
        print("| claim | cell " + head)
        print(rule + "---|")
        for (claim, cell), values in changed.items():
            print(f"| {claim} | {cell} | " + " | ".join(values) + " |")


if __name__ == "__main__":
    main()
