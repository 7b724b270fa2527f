"""``harness probe``: MLP probe accuracy of the original and the fine-tuned last layer."""

from dataclasses import replace

from ..exceptions import UnknownNameError
from ..params import FINETUNE_RANGES

from ._common import (POSITIVE_INT, add_data_dir, add_store, add_tier, check_layers,
                      existing_data_dir, fmt_number, known_tier, model_config, task_names,
                      writable_store)


def register(subparsers):
    parser = subparsers.add_parser(
        "probe", help="MLP probe accuracy of the original and fine-tuned last layer "
                      "(fine-tunes first if the run is not in the store)")
    add_tier(parser, "tier whose fine-tuning configuration, data caps and probe settings to "
                     "use (the run `harness finetune` trains for the same tier)")
    parser.add_argument("--model", default=None,
                        help="registry name, directory or hub id (default: the tier's first "
                             "model, minilm-l6 for tiny and paper)")
    parser.add_argument("--tasks", "--task", nargs="+", default=["pos"], dest="tasks",
                        help="task names or task files (.yaml; default: pos)")
    parser.add_argument("--seed", type=FINETUNE_RANGES["seed"].parse, default=None,
                        help="fine-tuning seed of the probed run (default: the tier's first, 0)")
    parser.add_argument("--grid", default=None,
                        help="probe grid: tiny or paper (default: the tier's)")
    parser.add_argument("--backend", choices=["torch", "sklearn"], default=None,
                        help="probe backend: batched torch or the scikit-learn reference "
                             "(default: the tier's, torch)")
    parser.add_argument("--seeds", type=POSITIVE_INT.parse, default=None,
                        help="probe initialisations of the selected setting (default: the "
                             "tier's, 5)")
    parser.add_argument("--layer", type=int, default=-1,
                        help="hidden-state index (0 = embeddings, negatives from the top)")
    add_data_dir(parser)
    add_store(parser)
    parser.set_defaults(func=run)


def tier_from_args(args):
    """The tier narrowed to the probed model, tasks and seed: its runs are the ones
    ``harness finetune --tier TIER`` trains (same :meth:`~harness.tiers.Tier.finetune_config`)."""
    tier = known_tier(args.tier)
    model = tier.models[0] if args.model is None else args.model
    args.tasks = task_names(args.tasks)  # task files stand for their declared names
    return tier.with_selection([model], args.tasks,
                               None if args.seed is None else [args.seed])


def run(args):
    from ..analyses import Workspace, probing
    from ..probes import GRIDS
    from ..registry import unknown_name_message

    # Check every option before fine-tuning or loading anything.
    tier = tier_from_args(args)
    model = tier.models[0]
    if args.grid is not None and args.grid not in GRIDS:
        raise UnknownNameError(unknown_name_message("probe grid", args.grid, sorted(GRIDS)))
    check_layers([args.layer], model_config(model), "--layer")
    store = writable_store(args.store)
    existing_data_dir(args.data_dir)
    changes = {k: v for k, v in (("probe_grid", args.grid), ("probe_backend", args.backend),
                                 ("probe_seeds", args.seeds)) if v is not None}
    tier = replace(tier, **changes)
    ws = Workspace(tier, store=store, data_dir=args.data_dir)
    print(f"{'task':8s} {'original':>16s} {'fine-tuned':>16s}  sizes (orig -> tuned)  seconds")
    for task in args.tasks:
        r = probing.original_vs_tuned(ws, model, task, args.layer)
        o, t = r["original"], r["tuned"]
        print(f"{task:8s} {_percent(o['accuracy_mean']):>9s} ± {_percent(o['accuracy_std']):>4s} "
              f"{_percent(t['accuracy_mean']):>9s} ± {_percent(t['accuracy_std']):>4s}  "
              f"{tuple(o['hidden_sizes'])} -> {tuple(t['hidden_sizes'])}  "
              f"{(o['seconds'] or 0) + (t['seconds'] or 0):.0f}")
    return 0


def _percent(fraction):
    return fmt_number(None if fraction is None else 100 * fraction, ".2f")
