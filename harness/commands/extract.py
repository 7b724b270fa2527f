"""``harness extract``: representations of tasks under a model, into the run store."""

import time

from ._common import (POSITIVE_INT, add_data_caps, add_data_dir, add_store, add_tier, check_layers,
                      existing_data_dir, known_tier, model_config, task_names, writable_store)


def register(subparsers):
    parser = subparsers.add_parser(
        "extract", help="extract all-layer representations of tasks into the run store")
    add_tier(parser, "tier whose model, tasks and per-task data caps to use (the "
                     "representations its claims read)")
    parser.add_argument("--model", default=None,
                        help="registry name, directory or hub id (default: the tier's first "
                             "model, minilm-l6 for tiny and paper)")
    parser.add_argument("--tasks", nargs="+", default=None,
                        help="task names or task files (.yaml; default: the tier's five "
                             "paper tasks)")
    parser.add_argument("--splits", nargs="+", default=["train", "test"],
                        choices=["train", "test"], help="splits to extract (default: both)")
    parser.add_argument("--layers", nargs="+", type=int, default=None,
                        help="hidden-state indices (0 = embeddings, negatives from the top; "
                             "default all)")
    add_data_caps(parser, "use", " (default: the tier's cap)")
    parser.add_argument("--dtype", choices=["float32", "float16"], default="float32",
                        help="dtype of the stored states (default: float32)")
    parser.add_argument("--batch-size", type=POSITIVE_INT.parse, default=32, metavar="N",
                        help="sentences per forward pass; does not change the states "
                             "(default: 32)")
    add_data_dir(parser)
    add_store(parser)
    parser.set_defaults(func=run)


def run(args):
    from ..data import load_task
    from ..models import load_model
    from ..representations import get_representations

    # Check every option, then read the data, then load the model.
    store = writable_store(args.store)
    tier = known_tier(args.tier)
    model_name = tier.models[0] if args.model is None else args.model
    tasks = task_names(args.tasks) or list(tier.tasks)  # checked; task files stand for their names
    config = model_config(model_name)
    check_layers(args.layers, config, "--layers")
    existing_data_dir(args.data_dir)
    explicit = {k: v for k, v in (("max_train_sentences", args.max_train_sentences),
                                  ("max_test_sentences", args.max_test_sentences)) if v is not None}
    caps, data = {}, {}
    for task in tasks:
        caps[task] = {**tier.task_data_options(task), **explicit}
        data[task] = load_task(task, args.data_dir, **caps[task])
    model = load_model(model_name)

    rows = []
    for task in tasks:
        for split in args.splits:
            started = time.perf_counter()
            art = get_representations(data[task], model, split, layers=args.layers,
                                      dtype=args.dtype, batch_size=args.batch_size,
                                      data_options=caps[task], store=store)
            layer_names = [n for n in art.array_names() if n.startswith("layer")]
            first = art.array(layer_names[0])
            n_layers = len(layer_names)
            rows.append((task, split, first.shape[0], len(data[task].labels), n_layers,
                         first.shape[1], art.meta["extract"]["seconds"],
                         time.perf_counter() - started, art.key))
    print(f"{'task':8s} {'split':5s} {'examples':>8s} {'labels':>6s} {'layers':>6s} {'dim':>5s} "
          f"{'extract_s':>9s} {'wall_s':>7s}  key")
    for r in rows:
        print(f"{r[0]:8s} {r[1]:5s} {r[2]:8d} {r[3]:6d} {r[4]:6d} {r[5]:5d} {r[6]:9.1f} "
              f"{r[7]:7.1f}  {r[8]}")
    return 0
