"""``harness probe``: MLP probe accuracy of the original and the fine-tuned last layer."""

from dataclasses import replace

from ._common import add_data_dir, add_store


def register(subparsers):
    parser = subparsers.add_parser(
        "probe", help="MLP probe accuracy of the original and fine-tuned last layer "
                      "(fine-tunes first if the run is not in the store)")
    parser.add_argument("--model", default="minilm-l6")
    parser.add_argument("--tasks", "--task", nargs="+", default=["pos"], dest="tasks")
    parser.add_argument("--tier", default="tiny",
                        help="tier whose fine-tuning configuration and data caps to use")
    parser.add_argument("--grid", default=None, help="probe grid: tiny or paper (default: tier's)")
    parser.add_argument("--backend", choices=["torch", "sklearn"], default=None)
    parser.add_argument("--seeds", type=int, default=None, help="probe initialisations")
    parser.add_argument("--layer", type=int, default=-1)
    add_data_dir(parser)
    add_store(parser)
    parser.set_defaults(func=run)


def run(args):
    from ..analyses import Workspace, probing
    from ..store import RunStore
    from ..tiers import get_tier

    tier = get_tier(args.tier).with_selection([args.model], args.tasks)
    changes = {k: v for k, v in (("probe_grid", args.grid), ("probe_backend", args.backend),
                                 ("probe_seeds", args.seeds)) if v is not None}
    tier = replace(tier, **changes)
    ws = Workspace(tier, store=RunStore(args.store), data_dir=args.data_dir)
    print(f"{'task':8s} {'original':>16s} {'fine-tuned':>16s}  sizes (orig -> tuned)  seconds")
    for task in args.tasks:
        r = probing.original_vs_tuned(ws, args.model, task, args.layer)
        o, t = r["original"], r["tuned"]
        print(f"{task:8s} {100 * o['accuracy_mean']:9.2f} ± {100 * o['accuracy_std']:4.2f} "
              f"{100 * t['accuracy_mean']:9.2f} ± {100 * t['accuracy_std']:4.2f}  "
              f"{tuple(o['hidden_sizes'])} -> {tuple(t['hidden_sizes'])}  "
              f"{(o['seconds'] or 0) + (t['seconds'] or 0):.0f}")
    return 0
