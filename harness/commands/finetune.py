"""``harness finetune``: fine-tune a model on a task with representation snapshots."""

import argparse
import json
import logging
from dataclasses import replace

from ..exceptions import HarnessError
from ..params import FINETUNE_RANGES, SPLITS
from ._common import (add_data_caps, add_data_dir, add_store, add_tier, check_layers,
                      existing_data_dir, fmt_number, human_bytes, known_tier, model_config,
                      task_names, writable_store)

# Options that set the FinetuneConfig field of the same name when given; tuples are
# converted. Every one defaults to None, "not given": the tier's value stands.
_SCALARS = ("learning_rate", "batch_size", "epochs", "max_updates", "warmup_fraction",
            "weight_decay", "dropout", "max_grad_norm", "max_length", "snapshot_every",
            "n_snapshots", "snapshot_dtype", "intermediate_dtype", "all_layers_until",
            "checkpoint_every", "precision")
_TUPLES = ("snapshot_layers", "snapshot_splits", "intermediate_layers", "intermediate_splits")
_CAPS = ("max_train_sentences", "max_test_sentences")
logger = logging.getLogger(__name__)


def register(subparsers):
    ranges = FINETUNE_RANGES  # one declaration for FinetuneConfig.validate and the flags
    parser = subparsers.add_parser(
        "finetune", help="fine-tune a model on a task, snapshotting representations "
                         "(resumes an interrupted run with the same configuration)",
        description="Fine-tune with the tier's configuration (--tier, default tiny), the "
                    "run `harness probe` and `harness verify` use for the same tier, model, "
                    "task and seed, so it is trained once. Each option given overrides the "
                    "tier; the overrides are logged and the run's manifest holds the whole "
                    "configuration (`harness store ls`).")
    add_tier(parser, "tier whose fine-tuning configuration and data caps to use")
    parser.add_argument("--model", default=None,
                        help="registry name, directory or hub id (default: the tier's first "
                             "model, minilm-l6 for tiny and paper)")
    parser.add_argument("--task", default="pos",
                        help="task name or task file (.yaml, docs/own-task.md; default: pos)")
    parser.add_argument("--seed", type=ranges["seed"].parse, default=None,
                        help="fine-tuning seed (default: the tier's first, 0)")
    parser.add_argument("--learning-rate", type=ranges["learning_rate"].parse, default=None,
                        help="AdamW learning rate (default: the paper's 3e-4)")
    parser.add_argument("--batch-size", type=ranges["batch_size"].parse, default=None,
                        help="sentences per update (default: the paper's 32)")
    parser.add_argument("--epochs", type=ranges["epochs"].parse, default=None,
                        help="default: the paper's (10; 3 for bert-base)")
    parser.add_argument("--max-updates", type=ranges["max_updates"].parse, default=None,
                        help="stop after this many updates, for smoke runs (default: all epochs)")
    parser.add_argument("--warmup-fraction", type=ranges["warmup_fraction"].parse, default=None,
                        help="linear warm-up share of the updates (default: 0.1)")
    parser.add_argument("--weight-decay", type=ranges["weight_decay"].parse, default=None,
                        help="AdamW weight decay, not on biases and LayerNorm (default: 0.01)")
    parser.add_argument("--dropout", type=ranges["dropout"].parse, default=None,
                        help="dropout in the model and before the head (default: the model's)")
    parser.add_argument("--max-grad-norm", type=ranges["max_grad_norm"].parse, default=None,
                        help="gradient clipping norm, 0 = no clipping (default: 1.0)")
    parser.add_argument("--max-length", type=ranges["max_length"].parse, default=None,
                        help="subwords per window; longer sentences are windowed (default: "
                             "the model's limit)")
    parser.add_argument("--snapshot-every", type=ranges["snapshot_every"].parse, default=None,
                        help="updates between snapshots (paper: 5; the tiny tier takes about "
                             "--n-snapshots evenly spaced ones instead)")
    parser.add_argument("--n-snapshots", type=ranges["n_snapshots"].parse, default=None,
                        help="about this many evenly spaced snapshots, over --snapshot-every "
                             "(default: the tier's; tiny: 8)")
    parser.add_argument("--snapshot-layers", type=int, nargs="+", default=None,
                        help="hidden-state indices to snapshot (default all; 0 = embeddings)")
    parser.add_argument("--snapshot-splits", nargs="+", default=None, choices=list(SPLITS),
                        help="splits to snapshot (default: train test)")
    parser.add_argument("--snapshot-dtype", choices=["float32", "float16"], default=None,
                        help="dtype of the stored snapshots (default: float32)")
    schedule = parser.add_argument_group(
        "per-snapshot rule", "keep less between the first and the last snapshot "
        "(harness.finetune.snapshot_plan; the paper tier's: docs/paper-tier.md)")
    schedule.add_argument("--intermediate-layers", type=int, nargs="+", default=None,
                          help="layers of the snapshots in between, e.g. -1 (default: all)")
    schedule.add_argument("--all-layers-every", default=None, type=_every, metavar="N|epoch",
                          help="with --intermediate-layers: all layers at the first snapshot "
                               "past every multiple of this many updates, or 'epoch'")
    schedule.add_argument("--all-layers-until", type=int, default=None,
                          help="with --intermediate-layers: all layers up to this update "
                               "(default: 0)")
    schedule.add_argument("--intermediate-splits", nargs="*", default=None,
                          help="splits of the snapshots in between (none: the ends only; "
                               "default: the tier's, tiny: train)")
    schedule.add_argument("--intermediate-dtype", choices=["float32", "float16"], default=None,
                          help="dtype of the snapshots in between (default: --snapshot-dtype)")
    schedule.add_argument("--checkpoint-every", type=int, default=None,
                          help="updates between checkpoints (default: every snapshot)")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default=None,
                        help="bf16 autocast (CUDA only); fp32 (the default) is the only mode "
                             "on CPU")
    add_data_caps(parser, "use", " (default: the tier's cap)")
    parser.add_argument("--json", action="store_true", help="print the run's history as JSON")
    add_data_dir(parser)
    add_store(parser)
    parser.set_defaults(func=run)


def overrides_from_args(args):
    """``{FinetuneConfig field: value}`` for the options given on the command line."""
    given = {}
    for name in _SCALARS + _TUPLES:
        value = getattr(args, name)
        if value is not None:
            given[name] = tuple(value) if name in _TUPLES else value
    if args.all_layers_every is not None:
        given["all_layers_every"] = args.all_layers_every
    if "snapshot_every" in given and "n_snapshots" not in given:
        given["n_snapshots"] = None  # an explicit interval replaces the tier's count
    return given


def _every(text):
    """``--all-layers-every``: an int >= 1 or ``epoch`` (argparse names the flag)."""
    if text == "epoch":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1 or 'epoch'; got {text!r}")
    return value


def _check_no_idle_options(config, overrides):
    """Refuse the per-snapshot options that would change nothing but the store key: they
    apply only when some snapshots are thin (``intermediate_layers``)."""
    idle = [f"--{name.replace('_', '-')}" for name in ("all_layers_every", "all_layers_until")
            if name in overrides and config.intermediate_layers is None]
    if idle:
        raise HarnessError(f"{' and '.join(idle)} appl{'y' if len(idle) > 1 else 'ies'} only "
                           "with --intermediate-layers (all snapshots hold every layer "
                           "without it); add --intermediate-layers, or leave "
                           f"{'them' if len(idle) > 1 else 'it'} out.")


def config_from_args(args):
    """The run's :class:`~harness.finetune.FinetuneConfig` (see :func:`resolve_config`)."""
    return resolve_config(args)[0]


def resolve_config(args):
    """``(FinetuneConfig, overrides)``: the tier's configuration for the model, task and
    seed (what :meth:`harness.tiers.Tier.finetune_config` gives ``harness probe`` and
    ``harness verify``), with the given options over it."""
    tier = known_tier(args.tier)
    task = task_names([args.task])[0]  # a task file stands for its declared name
    config = tier.finetune_config(tier.models[0] if args.model is None else args.model, task,
                                  args.seed)
    overrides = overrides_from_args(args)
    caps = {k: getattr(args, k) for k in _CAPS if getattr(args, k) is not None}
    if caps:
        overrides["data_options"] = {**config.data_options, **caps}
    return replace(config, **overrides), overrides


def run(args):
    from ..finetune import finetune

    # finetune() checks the configuration, the model and the precision before loading
    # anything; the store and the data directory are checked here first.
    config, overrides = resolve_config(args)
    config.validate()
    _check_no_idle_options(config, overrides)
    check_layers(args.snapshot_layers, model_config(config.model), "--snapshot-layers")
    store = writable_store(args.store)
    existing_data_dir(args.data_dir)
    shown = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "none"
    logger.info("tier %s, %s/%s seed %d; overrides of the tier: %s", args.tier, config.model,
                config.task, config.seed, shown)
    result = finetune(config, store=store, data_dir=args.data_dir)
    if args.json:
        print(json.dumps({"key": result.key, "history": result.history}, indent=1))
        return 0
    m = result.manifest
    seconds = m["timings"].get("train_s", 0.0)
    updates = m["meta"]["n_updates"]
    size = store.size_bytes(result.key) + sum(
        store.size_bytes(k) for splits in result.snapshots.values() for k in splits.values())
    first, last = result.history[0], result.history[-1]
    print(f"{config.model}/{config.task}: {updates} updates, {len(result.snapshots)} snapshots, "
          f"{seconds:.0f} s ({updates / max(seconds, 1e-9):.2f} updates/s), head test accuracy "
          f"{fmt_number(first['test_head_accuracy'], '.4f')} -> "
          f"{fmt_number(last['test_head_accuracy'], '.4f')}, "
          f"store {human_bytes(size)}, run {result.key}")
    return 0
