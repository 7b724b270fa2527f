"""``harness store ls|gc|verify``: inspect, clean and check the run store."""

import json

from ..exceptions import HarnessError
from ..registry import unknown_name_message
from ._common import add_store, existing_store, human_bytes


def register(subparsers):
    parser = subparsers.add_parser("store", help="inspect (ls), clean (gc) and check (verify) "
                                                 "the run store")
    sub = parser.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    ls = sub.add_parser("ls", help="list artifacts (kind, key, size, config), then unfinished "
                                   "runs and temporary folders with their size")
    add_store(ls)
    ls.add_argument("--json", action="store_true", help="print manifests as JSON lines")
    ls.set_defaults(func=_ls)
    gc = sub.add_parser("gc", help="remove unfinished runs and temporary folders that no live "
                                   "process uses (and, if asked, artifacts)")
    add_store(gc)
    gc.add_argument("--key", action="append", default=[], help="remove this artifact (repeatable)")
    gc.add_argument("--kind", action="append", default=[],
                    help="remove all artifacts of this kind (repeatable)")
    gc.add_argument("--all", action="store_true", help="remove every artifact")
    gc.set_defaults(func=_gc)
    verify = sub.add_parser("verify", help="re-hash every artifact against its manifest and "
                                           "name the broken ones (exit 1 if any)")
    add_store(verify)
    verify.add_argument("--key", action="append", default=[],
                        help="check only this artifact (repeatable)")
    verify.set_defaults(func=_verify)


def _ls(args):
    store = existing_store(args.store)
    manifests = store.ls()
    leftovers = store.leftovers()
    if args.json:
        for m in manifests:
            print(json.dumps(m))
        for item in leftovers:
            print(json.dumps({**item, "path": str(item["path"])}))
        return 0
    print(f"{len(manifests)} artifact(s) in {store.root}")
    for m in manifests:
        cfg = m.get("config", {})
        what = " ".join(f"{k}={cfg[k]}" for k in ("task", "model", "split", "snapshot", "seed")
                        if cfg.get(k) is not None)
        size = human_bytes(store.size_bytes(m["key"]))
        print(f"{m['key']}  {m.get('kind', '?'):16s} {size:>10s}  {m.get('created', '')}  {what}")
    if leftovers:
        total = human_bytes(sum(item["bytes"] for item in leftovers))
        print(f"{len(leftovers)} unfinished item(s), {total} (`harness store gc` removes those "
              "no live process is using; an unfinished run resumes when its command runs again)")
    for item in leftovers:
        state = "in use" if item["active"] else "abandoned"
        if item["kind"] == "incomplete-run":
            cfg = item["config"] or {}
            what = " ".join(f"{k}={cfg[k]}" for k in ("model", "task", "seed") if k in cfg)
            progress = item["progress"]
            at = f"update {progress['update']}/{progress['total']}" if progress else "no checkpoint"
            print(f"{item['key']}  {'incomplete run':16s} {human_bytes(item['bytes']):>10s}  "
                  f"{state}, {at}  {what}")
        else:
            print(f"{item['path'].name}  {'temporary':16s} {human_bytes(item['bytes']):>10s}  "
                  f"{state}")
    return 0


def _known_keys(store, keys):
    """Raise unless every key names an artifact (before anything is removed)."""
    unknown = sorted(set(keys) - set(store.keys()))
    if unknown:
        raise HarnessError(f"no artifact {', '.join(unknown)} in {store.root}; "
                           "`harness store ls` lists the keys.")
    return keys


def _known_kinds(store, kinds):
    """Raise unless every kind is that of some artifact (a typo would remove nothing)."""
    present = sorted({m.get("kind", "?") for m in store.ls()})
    for kind in kinds:
        if kind not in present:
            raise HarnessError(unknown_name_message("artifact kind", kind, present)
                               + f" (kinds present in {store.root})")
    return kinds


def _gc(args):
    store = existing_store(args.store)
    _known_keys(store, args.key)
    _known_kinds(store, args.kind)
    removed = store.gc(keys=set(args.key), kinds=set(args.kind), everything=args.all)
    for path in removed:
        print(f"removed {path}")
    print(f"{len(removed)} path(s) removed from {store.root}")
    return 0


def _verify(args):
    store = existing_store(args.store)
    keys = _known_keys(store, args.key) or store.keys()
    broken = 0
    for key in keys:
        problems = store.verify(key)
        if problems:
            broken += 1
            print(f"BROKEN {key}: {'; '.join(problems)}")
    print(f"{len(keys) - broken} of {len(keys)} artifact(s) sound in {store.root}"
          + (f"; {broken} broken: rerun the command that produced each (it recomputes a broken "
             "artifact), or remove them with `harness store gc --key KEY`" if broken else ""))
    return 1 if broken else 0
