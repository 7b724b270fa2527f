"""``harness finetune``: fine-tune a model on a task with representation snapshots."""

import json

from ..params import FINETUNE_RANGES, SPLITS
from ._common import (POSITIVE_INT, add_data_dir, add_store, check_layers, existing_data_dir,
                      fmt_number, human_bytes, model_config, writable_store)


def register(subparsers):
    ranges = FINETUNE_RANGES  # one declaration for FinetuneConfig.validate and the flags
    parser = subparsers.add_parser(
        "finetune", help="fine-tune a model on a task, snapshotting representations "
                         "(resumes an interrupted run with the same configuration)")
    parser.add_argument("--model", default="minilm-l6")
    parser.add_argument("--task", default="pos")
    parser.add_argument("--seed", type=ranges["seed"].parse, default=0)
    parser.add_argument("--learning-rate", type=ranges["learning_rate"].parse, default=3e-4)
    parser.add_argument("--batch-size", type=ranges["batch_size"].parse, default=32)
    parser.add_argument("--epochs", type=ranges["epochs"].parse, default=None,
                        help="default: the paper's (10; 3 for bert-base)")
    parser.add_argument("--max-updates", type=ranges["max_updates"].parse, default=None)
    parser.add_argument("--warmup-fraction", type=ranges["warmup_fraction"].parse, default=0.1)
    parser.add_argument("--weight-decay", type=ranges["weight_decay"].parse, default=0.01)
    parser.add_argument("--dropout", type=ranges["dropout"].parse, default=None)
    parser.add_argument("--max-grad-norm", type=ranges["max_grad_norm"].parse, default=1.0,
                        help="gradient clipping norm (0 = no clipping)")
    parser.add_argument("--max-length", type=ranges["max_length"].parse, default=None)
    parser.add_argument("--snapshot-every", type=ranges["snapshot_every"].parse, default=5,
                        help="updates between snapshots (paper: 5)")
    parser.add_argument("--snapshot-layers", type=int, nargs="+", default=None,
                        help="hidden-state indices to snapshot (default all; 0 = embeddings)")
    parser.add_argument("--snapshot-splits", nargs="+", default=["train", "test"],
                        choices=list(SPLITS))
    parser.add_argument("--snapshot-dtype", choices=["float32", "float16"], default="float32")
    schedule = parser.add_argument_group(
        "per-snapshot rule", "keep less between the first and the last snapshot "
        "(harness.finetune.snapshot_plan; the paper tier's: docs/paper-tier.md)")
    schedule.add_argument("--intermediate-layers", type=int, nargs="+", default=None,
                          help="layers of the snapshots in between, e.g. -1 (default: all)")
    schedule.add_argument("--all-layers-every", default=None,
                          help="with --intermediate-layers: all layers at the first snapshot "
                               "past every multiple of this many updates, or 'epoch'")
    schedule.add_argument("--all-layers-until", type=int, default=0,
                          help="with --intermediate-layers: all layers up to this update")
    schedule.add_argument("--intermediate-splits", nargs="*", default=None,
                          help="splits of the snapshots in between (none: the ends only)")
    schedule.add_argument("--intermediate-dtype", choices=["float32", "float16"], default=None)
    schedule.add_argument("--checkpoint-every", type=int, default=None,
                          help="updates between checkpoints (default: every snapshot)")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                        help="bf16 autocast (CUDA only); fp32 is the only mode on CPU")
    parser.add_argument("--max-train-sentences", type=POSITIVE_INT.parse, default=None)
    parser.add_argument("--max-test-sentences", type=POSITIVE_INT.parse, default=None)
    parser.add_argument("--json", action="store_true", help="print the run's history as JSON")
    add_data_dir(parser)
    add_store(parser)
    parser.set_defaults(func=run)


def config_from_args(args):
    from ..finetune import FinetuneConfig

    data_options = {k: v for k, v in (("max_train_sentences", args.max_train_sentences),
                                      ("max_test_sentences", args.max_test_sentences))
                    if v is not None}
    return FinetuneConfig(
        model=args.model, task=args.task, seed=args.seed, learning_rate=args.learning_rate,
        batch_size=args.batch_size, epochs=args.epochs, max_updates=args.max_updates,
        warmup_fraction=args.warmup_fraction, weight_decay=args.weight_decay,
        dropout=args.dropout, max_grad_norm=args.max_grad_norm, max_length=args.max_length,
        snapshot_every=args.snapshot_every,
        snapshot_layers=tuple(args.snapshot_layers) if args.snapshot_layers else None,
        snapshot_splits=tuple(args.snapshot_splits), snapshot_dtype=args.snapshot_dtype,
        intermediate_layers=(tuple(args.intermediate_layers) if args.intermediate_layers
                             else None),
        all_layers_every=(args.all_layers_every if args.all_layers_every in (None, "epoch")
                          else int(args.all_layers_every)),
        all_layers_until=args.all_layers_until,
        intermediate_splits=(None if args.intermediate_splits is None
                             else tuple(args.intermediate_splits)),
        intermediate_dtype=args.intermediate_dtype, checkpoint_every=args.checkpoint_every,
        precision=args.precision,
        data_options=data_options)


def run(args):
    from ..finetune import finetune

    # finetune() checks the configuration, the model and the precision before loading
    # anything; the store and the data directory are checked here first.
    config = config_from_args(args).validate()
    check_layers(args.snapshot_layers, model_config(args.model), "--snapshot-layers")
    store = writable_store(args.store)
    existing_data_dir(args.data_dir)
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
    print(f"{args.model}/{args.task}: {updates} updates, {len(result.snapshots)} snapshots, "
          f"{seconds:.0f} s ({updates / max(seconds, 1e-9):.2f} updates/s), head test accuracy "
          f"{fmt_number(first['test_head_accuracy'], '.4f')} -> "
          f"{fmt_number(last['test_head_accuracy'], '.4f')}, "
          f"store {human_bytes(size)}, run {result.key}")
    return 0
