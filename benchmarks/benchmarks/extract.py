"""Extraction throughput: ``harness.extract.extract_split`` vs a bare model forward.

The bare baseline runs ``model(input_ids=..., attention_mask=..., output_hidden_states=True)``
under ``torch.no_grad`` over exactly the batches ``extract_split`` builds (same
tokenisation, same length-sorted order, same padding), collated *before* timing. The
difference is the harness's own cost: tokenisation + word alignment, per-batch collate
and example indexing, ``torch.stack`` of the hidden states, subword mean pooling and the
copy into the output arrays.

Tokens are non-padding subwords (``[CLS]``/``[SEP]`` included), the count that
``extract_split`` reports in ``_stats["n_tokens"]``.

The module-level helpers are also used by ``benchmarks/throughput.py``.
"""

import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

N_THREADS = 1
BATCH_SIZE = 32

# asv runs benchmarks from a temporary directory, where the harness's default data
# location (``../shared/data`` beside the current directory) does not exist: point it at
# the checkout's ``../shared/data`` when that exists and nothing else was configured.
_SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
if not os.environ.get("HARNESS_DATA_DIR") and _SHARED_DATA.is_dir():
    os.environ["HARNESS_DATA_DIR"] = str(_SHARED_DATA)


def pin_threads(n=N_THREADS):
    """Pin torch and BLAS threads (the benchmark machine is shared)."""
    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:  # pragma: no cover
        pass


def load(n_sentences, task="pos", model="minilm-l6"):
    """``(LoadedModel, TaskData)`` with the first ``n_sentences`` train and test sentences."""
    from harness.data import load_task
    from harness.models import load_model

    loaded = load_model(model, device="cpu")
    data = load_task(task, max_train_sentences=n_sentences, max_test_sentences=n_sentences)
    return loaded, data


def bare_batches(loaded, split, batch_size=BATCH_SIZE, max_length=None):
    """The batches ``extract_split`` forwards, as ready tensors: ``[(input_ids, mask)]``.

    Returns
    -------
    batches : list of (torch.Tensor, torch.Tensor)
    n_tokens : int
        Non-padding subwords over all batches.
    """
    from harness import encoding

    max_length = max_length or loaded.max_length
    encoded = encoding.encode_sentences(loaded.tokenizer, split.sentences, max_length)
    pad = loaded.tokenizer.pad_token_id or 0
    out, n_tokens = [], 0
    for ids in encoding.length_batches(encoded, batch_size):
        input_ids, mask, *_ = encoding.collate(encoded, ids, pad)
        out.append((torch.as_tensor(input_ids), torch.as_tensor(mask)))
        n_tokens += int(mask.sum())
    return out, n_tokens


@torch.no_grad()
def bare_forward(model, batches):
    """Plain all-layer forward over pre-collated batches (eval mode, no pooling)."""
    was_training = model.training
    model.eval()
    try:
        for input_ids, mask in batches:
            model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
    finally:
        model.train(was_training)


def harness_extract(loaded, split, kind, batch_size=BATCH_SIZE):
    from harness.extract import extract_split

    return extract_split(loaded.model, loaded.tokenizer, split, kind, layers=None,
                         batch_size=batch_size, progress=False)


def interleaved(fns, repeats, warmup=1, cpu=False):
    """Run the callables in ABAB... order (alternating start) -> ``{name: [seconds]}``.

    ``fns`` is ``{name: callable}``. The starting callable alternates between rounds so
    that slow drifts of the machine's load hit every candidate alike. With ``cpu=True``
    returns ``(wall, cpu)``: the second dict holds this process's CPU seconds
    (``time.process_time``), which with one torch thread is far less sensitive than wall
    time to other processes competing for the cores.
    """
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    wall = {name: [] for name in names}
    cpu_s = {name: [] for name in names}
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            t0, c0 = time.perf_counter(), time.process_time()
            fns[name]()
            wall[name].append(time.perf_counter() - t0)
            cpu_s[name].append(time.process_time() - c0)
    return (wall, cpu_s) if cpu else wall


def paired_ratio(times, a, b):
    """Median over rounds of ``time[a] / time[b]`` (pairs measured back to back)."""
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def compare_extraction(loaded, split, kind, repeats=5, warmup=1):
    """Interleaved harness-vs-bare timing of one split -> dict of figures."""
    batches, n_tokens = bare_batches(loaded, split)
    times = interleaved({"harness": lambda: harness_extract(loaded, split, kind),
                         "bare": lambda: bare_forward(loaded.model, batches)},
                        repeats, warmup)
    t_h, t_b = statistics.median(times["harness"]), statistics.median(times["bare"])
    ratio = paired_ratio(times, "harness", "bare")
    return {"n_sentences": len(split.sentences), "n_examples": len(split.examples),
            "n_tokens": n_tokens, "n_batches": len(batches),
            "harness_s": t_h, "bare_s": t_b,
            "harness_tok_s": n_tokens / t_h, "bare_tok_s": n_tokens / t_b,
            "ratio": ratio, "overhead_pct": 100.0 * (ratio - 1.0),
            "times": times}


class ExtractSplit:
    """asv: ``extract_split`` (all 7 layers, POS) against a bare forward of the same batches."""

    params = [[50, 200]]
    param_names = ["n_sentences"]
    timeout = 600
    number = 1
    repeat = (1, 5, 120.0)
    warmup_time = 0.0

    def setup(self, n_sentences):
        pin_threads()
        self.loaded, self.data = load(n_sentences)
        self.split = self.data.train
        self.batches, self.n_tokens = bare_batches(self.loaded, self.split)

    def time_extract_split(self, n_sentences):
        harness_extract(self.loaded, self.split, self.data.kind)

    def time_bare_forward(self, n_sentences):
        bare_forward(self.loaded.model, self.batches)

    def peakmem_extract_split(self, n_sentences):
        harness_extract(self.loaded, self.split, self.data.kind)

    def track_overhead_pct(self, n_sentences):
        """Median paired (harness / bare - 1) in % of CPU time, 3 rounds after a warm-up; target <= 15."""
        _, cpu = interleaved({"harness": lambda: harness_extract(self.loaded, self.split,
                                                                 self.data.kind),
                              "bare": lambda: bare_forward(self.loaded.model, self.batches)},
                             repeats=3, warmup=1, cpu=True)
        return 100.0 * (paired_ratio(cpu, "harness", "bare") - 1.0)

    track_overhead_pct.unit = "%"

    def track_extract_tokens_per_s(self, n_sentences):
        t0 = time.perf_counter()
        harness_extract(self.loaded, self.split, self.data.kind)
        return self.n_tokens / (time.perf_counter() - t0)

    track_extract_tokens_per_s.unit = "tokens/s"
