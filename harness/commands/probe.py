"""``harness probe``: MLP probe accuracy of the original and the fine-tuned last layer."""

from dataclasses import replace

from ..exceptions import UnknownNameError

from ._common import (POSITIVE_INT, add_data_dir, add_store, check_layers, existing_data_dir,
                      fmt_number, known_tasks, known_tier, model_config, writable_store)


def register(subparsers):
    parser = subparsers.add_parser(
        "probe", help="MLP probe accuracy of the original and fine-tuned last layer "
                      "(fine-tunes first if the run is not in the store)")
    parser.add_argument("--model", default="minilm-l6")
    parser.add_argument("--tasks", "--task", nargs="+", default=["pos"], dest="tasks")
    parser.add_argument("--tier", default="tiny",
                        help="tier whose fine-tuning configuration and data caps to use")
    parser.add_argument("--grid", default=None,
                        help="probe grid: tiny or paper (default: the tier's)")
    parser.add_argument("--backend", choices=["torch", "sklearn"], default=None)
    parser.add_argument("--seeds", type=POSITIVE_INT.parse, default=None,
                        help="probe initialisations")
    parser.add_argument("--layer", type=int, default=-1,
                        help="hidden-state index (0 = embeddings, negatives from the top)")
    add_data_dir(parser)
    add_store(parser)
    parser.set_defaults(func=run)


def run(args):
    from ..analyses import Workspace, probing
    from ..probes import GRIDS
    from ..registry import unknown_name_message

    # Check every option before fine-tuning or loading anything.
    tier = known_tier(args.tier).with_selection([args.model], args.tasks)
    if args.grid is not None and args.grid not in GRIDS:
        raise UnknownNameError(unknown_name_message("probe grid", args.grid, sorted(GRIDS)))
    known_tasks(args.tasks)
    check_layers([args.layer], model_config(args.model), "--layer")
    store = writable_store(args.store)
    existing_data_dir(args.data_dir)
    changes = {k: v for k, v in (("probe_grid", args.grid), ("probe_backend", args.backend),
                                 ("probe_seeds", args.seeds)) if v is not None}
    tier = replace(tier, **changes)
    ws = Workspace(tier, store=store, data_dir=args.data_dir)
    print(f"{'task':8s} {'original':>16s} {'fine-tuned':>16s}  sizes (orig -> tuned)  seconds")
    for task in args.tasks:
        r = probing.original_vs_tuned(ws, args.model, task, args.layer)
        o, t = r["original"], r["tuned"]
        print(f"{task:8s} {_percent(o['accuracy_mean']):>9s} ± {_percent(o['accuracy_std']):>4s} "
              f"{_percent(t['accuracy_mean']):>9s} ± {_percent(t['accuracy_std']):>4s}  "
              f"{tuple(o['hidden_sizes'])} -> {tuple(t['hidden_sizes'])}  "
              f"{(o['seconds'] or 0) + (t['seconds'] or 0):.0f}")
    return 0


def _percent(fraction):
    return fmt_number(None if fraction is None else 100 * fraction, ".2f")
