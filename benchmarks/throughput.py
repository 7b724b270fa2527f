"""Extraction and training throughput of the harness against bare PyTorch, as ratio tables.

Run from the repository root::

    .venv/bin/python benchmarks/throughput.py                      # everything (~20 min, 1 thread)
    .venv/bin/python benchmarks/throughput.py --sections extract --sizes 200 800
    .venv/bin/python benchmarks/throughput.py --sections train snapshot --threads 2
    .venv/bin/python benchmarks/throughput.py --sections full       # one real POS tiny-tier run

Sections (see docs/benchmarks-throughput.md):

* ``extract``  ``extract_split`` (POS train, minilm-l6, all 7 layers) vs a bare
  ``model(..., output_hidden_states=True)`` over the same pre-collated batches, interleaved
  (ABAB, alternating start) in this process.
* ``train``    the ``finetune`` loop without snapshots vs a plain PyTorch loop (same model,
  seed, batches, optimiser, schedule, clipping, head), interleaved.
* ``snapshot`` seconds per snapshot (train + test, 200/200 POS sentences, all layers).
* ``full``     one ``finetune`` of POS, 200/200 sentences, 10 epochs, snapshot every 10.

Absolute times on a shared machine are noisy; the ratios (median over back-to-back pairs)
are what to quote. Thread count and load average are printed with every table.
"""

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks import extract as bext  # noqa: E402
from benchmarks import finetune as bft  # noqa: E402


def load_average():
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def header(title, threads):
    print(f"\n## {title}")
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {platform.node()}, "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}, threads={threads}, "
          f"load average (1/5/15 min) {load_average()}")


def table(rows, columns):
    widths = [max(len(c), *(len(str(r[i])) for r in rows)) for i, c in enumerate(columns)]
    print("| " + " | ".join(c.rjust(w) for c, w in zip(columns, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(str(x).rjust(w) for x, w in zip(r, widths)) + " |")


# --------------------------------------------------------------------------- sections

def section_extract(sizes, repeats, threads):
    header("Extraction: extract_split vs bare forward (POS train, minilm-l6, 7 layers, "
           "batch 32)", threads)
    rows = []
    for n in sizes:
        loaded, data = bext.load(n)
        split = data.train
        batches, n_tokens = bext.bare_batches(loaded, split)
        fns = {"harness": lambda: bext.harness_extract(loaded, split, data.kind),
               "bare": lambda: bext.bare_forward(loaded.model, batches)}
        wall, cpu = bext.interleaved(fns, repeats, warmup=1, cpu=True)
        for clock, times in (("wall", wall), ("cpu", cpu)):
            med = {k: statistics.median(v) for k, v in times.items()}
            ratio = bext.paired_ratio(times, "harness", "bare")
            rows.append([n, clock, len(split), n_tokens, len(batches), f"{med['bare']:.2f}",
                         f"{med['harness']:.2f}", f"{n_tokens / med['bare']:.0f}",
                         f"{n_tokens / med['harness']:.0f}", f"{ratio:.3f}",
                         f"{100 * (ratio - 1):+.1f}%"])
        del loaded, data
    table(rows, ["sentences", "clock", "examples", "tokens", "batches", "bare s", "harness s",
                 "bare tok/s", "harness tok/s", "harness/bare", "overhead"])
    print(f"# medians of {repeats} interleaved rounds after 1 warm-up; ratio = median of "
          f"per-round ratios; clock wall = elapsed, cpu = this process's CPU time (1 torch thread: "
          f"insensitive to other processes); target overhead <= 15%")


def section_train(n_sentences, n_updates, repeats, threads):
    header(f"Training: finetune loop (no snapshots) vs plain PyTorch loop (POS, "
           f"{n_sentences} sentences, batch 32, {n_updates} updates)", threads)
    r = bft.compare_training(n_sentences, n_updates, repeats=repeats, warmup=1)
    rows = []
    for clock, key in (("wall", ""), ("cpu", "_cpu")):
        h, p = r[f"harness{key}_s"], r[f"plain{key}_s"]
        ratio = r["ratio" if clock == "wall" else "cpu_ratio"]
        rows.append([clock, r["n_updates"] - 1, r["n_tokens"], f"{p:.2f}", f"{h:.2f}",
                     f"{p / (r['n_updates'] - 1):.2f}", f"{h / (r['n_updates'] - 1):.2f}",
                     f"{r['n_tokens'] / p:.0f}", f"{r['n_tokens'] / h:.0f}", f"{ratio:.3f}",
                     f"{100 * (ratio - 1):+.1f}%"])
    table(rows, ["clock", "timed updates", "tokens", "plain s", "harness s", "plain s/upd",
                 "harness s/upd", "plain tok/s", "harness tok/s", "harness/plain", "overhead"])
    print(f"# medians of {repeats} interleaved rounds after 1 warm-up; mean training loss "
          f"harness {r['mean_loss']['harness']:.6f} vs plain {r['mean_loss']['plain']:.6f} "
          f"(same work); target overhead <= 10%")
    print("# per-round seconds: harness " + " ".join(f"{t:.2f}" for t in r["times"]["harness"])
          + " | plain " + " ".join(f"{t:.2f}" for t in r["times"]["plain"]))
    print("# per-round CPU seconds: harness "
          + " ".join(f"{t:.2f}" for t in r["cpu_times"]["harness"])
          + " | plain " + " ".join(f"{t:.2f}" for t in r["cpu_times"]["plain"]))


def section_snapshot(n_sentences, repeats, threads):
    header(f"Snapshot cost (POS, {n_sentences}/{n_sentences} sentences, train + test, all 7 "
           f"layers, float32)", threads)
    m = bft.snapshot_cost(n_sentences, repeats)
    table([[m["n_train_examples"], m["n_test_examples"], f"{m['train']:.2f}",
            f"{m['test']:.2f}", f"{m['head_accuracy']:.3f}", f"{m['total']:.2f}",
            f"{m['total_cpu']:.2f}"]],
          ["train examples", "test examples", "train s", "test s", "head acc s",
           "s / snapshot", "CPU s / snapshot"])
    print(f"# medians of {repeats} snapshots (each a store miss)")


def section_full(threads):
    from harness.finetune import FinetuneConfig, finetune
    from harness.store import RunStore

    header("Full run: finetune POS, 200/200 sentences, 10 epochs, snapshot every 10, "
           "all layers", threads)
    stamps = []
    config = FinetuneConfig(model="minilm-l6", task="pos", epochs=10, snapshot_every=10,
                            data_options={"max_train_sentences": 200,
                                          "max_test_sentences": 200})
    load_before = load_average()
    t0, c0 = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory(prefix="bench-full-") as tmp:
        run = finetune(config, store=RunStore(tmp), device="cpu", progress=False,
                       on_update=lambda u: stamps.append(time.perf_counter()))
        cpu = time.process_time() - c0
        wall = time.perf_counter() - t0
        train_s = run.manifest.get("timings", {}).get("train_s")
        n_updates = run.manifest["meta"]["n_updates"]
        n_snap = len(run.snapshots)
        acc = run.history[-1]["test_head_accuracy"]
    table([[n_updates, n_snap, f"{wall:.0f}", f"{cpu:.0f}",
            f"{train_s:.0f}" if train_s else "n/a", f"{acc:.4f}"]],
          ["updates", "snapshots", "wall s (incl. load/save)", "CPU s", "train_s (manifest)",
           "final test head acc"])
    print(f"# load average before {load_before}, after {load_average()}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sections", nargs="+", default=["extract", "train", "snapshot"],
                        choices=["extract", "train", "snapshot", "full"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 800],
                        help="POS train sentences for the extraction table")
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--train-sentences", type=int, default=200)
    parser.add_argument("--train-updates", type=int, default=8)
    args = parser.parse_args(argv)
    bext.pin_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")
    for section in args.sections:
        if section == "extract":
            section_extract(args.sizes, args.repeats, args.threads)
        elif section == "train":
            section_train(args.train_sentences, args.train_updates, args.repeats, args.threads)
        elif section == "snapshot":
            section_snapshot(200, args.repeats, args.threads)
        elif section == "full":
            section_full(args.threads)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
