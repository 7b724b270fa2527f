"""``harness store ls|gc``: inspect and clean the run store."""

import json

from ._common import add_store, human_bytes


def register(subparsers):
    parser = subparsers.add_parser("store", help="inspect (ls) and clean (gc) the run store")
    sub = parser.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    ls = sub.add_parser("ls", help="list complete artifacts with kind, key, size and config")
    add_store(ls)
    ls.add_argument("--json", action="store_true", help="print manifests as JSON lines")
    ls.set_defaults(func=_ls)
    gc = sub.add_parser("gc", help="remove stale temporary folders (and, if asked, artifacts)")
    add_store(gc)
    gc.add_argument("--key", action="append", default=[], help="remove this artifact (repeatable)")
    gc.add_argument("--kind", action="append", default=[],
                    help="remove all artifacts of this kind (repeatable)")
    gc.add_argument("--all", action="store_true", help="remove every artifact")
    gc.set_defaults(func=_gc)


def _ls(args):
    from ..store import RunStore

    store = RunStore(args.store)
    manifests = store.ls()
    if args.json:
        for m in manifests:
            print(json.dumps(m))
        return 0
    print(f"{len(manifests)} artifact(s) in {store.root}")
    for m in manifests:
        cfg = m.get("config", {})
        what = " ".join(f"{k}={cfg[k]}" for k in ("task", "model", "split", "snapshot", "seed")
                        if cfg.get(k) is not None)
        size = human_bytes(store.size_bytes(m["key"])) if m.get("kind") != "CORRUPT" else "?"
        print(f"{m['key']}  {m.get('kind', '?'):16s} {size:>10s}  {m.get('created', '')}  {what}")
    return 0


def _gc(args):
    from ..store import RunStore

    store = RunStore(args.store)
    removed = store.gc(keys=set(args.key), kinds=set(args.kind), everything=args.all)
    for path in removed:
        print(f"removed {path}")
    print(f"{len(removed)} path(s) removed from {store.root}")
    return 0
