"""``harness extract``: representations of tasks under a model, into the run store."""

import time

from ._common import (POSITIVE_INT, add_data_dir, add_store, check_layers, existing_data_dir,
                      known_tasks, known_tier, model_config, writable_store)

DEFAULT_TASKS = ("pos", "dep", "ps-role", "ps-fxn", "trec-50")


def register(subparsers):
    parser = subparsers.add_parser(
        "extract", help="extract all-layer representations of tasks into the run store")
    parser.add_argument("--model", default="minilm-l6", help="registry name, directory or hub id")
    parser.add_argument("--tasks", nargs="+", default=list(DEFAULT_TASKS), help="task names")
    parser.add_argument("--splits", nargs="+", default=["train", "test"],
                        choices=["train", "test"])
    parser.add_argument("--layers", nargs="+", type=int, default=None,
                        help="hidden-state indices (0 = embeddings, negatives from the top; "
                             "default all)")
    parser.add_argument("--tier", default=None,
                        help="use a tier's per-task data caps (e.g. tiny); explicit caps win")
    parser.add_argument("--max-train-sentences", type=POSITIVE_INT.parse, default=None,
                        metavar="N")
    parser.add_argument("--max-test-sentences", type=POSITIVE_INT.parse, default=None,
                        metavar="N")
    parser.add_argument("--dtype", choices=["float32", "float16"], default="float32")
    parser.add_argument("--batch-size", type=POSITIVE_INT.parse, default=32, metavar="N")
    add_data_dir(parser)
    add_store(parser)
    parser.set_defaults(func=run)


def run(args):
    from ..data import load_task
    from ..models import load_model
    from ..representations import get_representations

    # Check every option, then read the data, then load the model.
    store = writable_store(args.store)
    known_tasks(args.tasks)
    tier = known_tier(args.tier) if args.tier else None
    config = model_config(args.model)
    check_layers(args.layers, config, "--layers")
    existing_data_dir(args.data_dir)
    explicit = {k: v for k, v in (("max_train_sentences", args.max_train_sentences),
                                  ("max_test_sentences", args.max_test_sentences)) if v is not None}
    caps, data = {}, {}
    for task in args.tasks:
        caps[task] = {**(tier.data_options.get(task, {}) if tier else {}), **explicit}
        data[task] = load_task(task, args.data_dir, **caps[task])
    model = load_model(args.model)

    rows = []
    for task in args.tasks:
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
