"""Training throughput: the ``harness.finetune`` loop vs a plain PyTorch loop, and snapshots.

* **harness loop**: ``finetune(FinetuneConfig(..., snapshot_every=10**9, checkpoint_every=10**9,
  snapshot_splits=()), store=<temporary>, on_update=stamp)``. With no snapshot splits the
  two snapshots that always happen (update 0 and the last) store nothing; no checkpoint
  is written. Only the updates are timed: from the ``on_update`` stamp of the first update
  to that of the last (model loading, data loading and the final ``save_pretrained`` are
  outside the window).
* **plain loop**: a fresh copy of the same model, the same seed, the same sentence order
  (``np.random.default_rng([seed, epoch]).permutation``), the same head (dropout + linear),
  AdamW groups, linear warm-up/decay schedule, clipping at 1.0 and mean-of-subwords word
  vectors; batches are tokenised and collated before timing, and the model is called
  without ``output_hidden_states``. Same stamps, same window. Both loops draw the same
  dropout masks, so their mean losses agree (checked by ``compare_training``).
* **snapshot**: one snapshot as ``finetune`` takes it: ``get_representations`` of the train
  and test splits (all layers, float32) into a temporary store, plus the head accuracy
  read back from the stored test vectors.

Tokens are non-padding subwords of the batches in the timed window.
"""

import statistics
import tempfile
import time

import numpy as np
import torch

from . import extract as bext  # noqa: F401  (asv imports this module as part of the package)

SEED = 0
BIG = 10 ** 9


def _pin(n):
    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:  # pragma: no cover
        pass


def harness_loop(n_sentences, n_updates, task="pos", model="minilm-l6", batch_size=32):
    """Run the real ``finetune`` without snapshots -> ``(update stamps, mean loss, tokens)``."""
    from harness.finetune import FinetuneConfig, finetune
    from harness.store import RunStore

    stamps = []
    config = FinetuneConfig(model=model, task=task, seed=SEED, batch_size=batch_size,
                            epochs=BIG, max_updates=n_updates, snapshot_every=BIG,
                            checkpoint_every=BIG, snapshot_splits=(),
                            data_options={"max_train_sentences": n_sentences,
                                          "max_test_sentences": n_sentences})
    with tempfile.TemporaryDirectory(prefix="bench-finetune-") as tmp:
        run = finetune(config, store=RunStore(tmp), device="cpu", progress=False,
                       on_update=lambda u: stamps.append(_stamp()))
        mean_loss = run.history[-1]["train_loss"]
    return stamps, mean_loss


class PlainLoop:
    """A plain PyTorch fine-tuning loop doing the same work as ``harness.finetune``."""

    def __init__(self, n_sentences, n_updates, task="pos", model="minilm-l6", batch_size=32):
        from harness import encoding
        from harness.data import load_task

        self.model_name, self.n_updates = model, n_updates
        data = load_task(task, max_train_sentences=n_sentences, max_test_sentences=n_sentences)
        assert data.kind == "token", "the plain loop implements token tasks only"
        self.data = data
        self.n_labels = len(data.labels)
        label_index = {label: i for i, label in enumerate(data.labels)}
        train = data.train
        by_sentence = [[] for _ in train.sentences]
        for e, ex in enumerate(train.examples):
            by_sentence[ex.sentence].append(e)
        trainable = np.asarray([s for s, ex in enumerate(by_sentence) if ex])
        per_epoch = -(-len(trainable) // batch_size)
        self.total_for_schedule = per_epoch * BIG
        if n_updates is not None:
            self.total_for_schedule = min(self.total_for_schedule, n_updates)
        from harness.models import load_model

        self.tokenizer = load_model(model, device="cpu").tokenizer
        encoded = encoding.encode_sentences(self.tokenizer, train.sentences, 512)
        pad = self.tokenizer.pad_token_id or 0
        self.batches, self.tokens = [], []
        for update in range(n_updates):
            epoch, position = divmod(update, per_epoch)
            order = np.random.default_rng([SEED, epoch]).permutation(trainable)
            sentences = order[position * batch_size:(position + 1) * batch_size].tolist()
            input_ids, mask, token_word, _, offsets = encoding.collate(encoded, sentences, pad)
            gather, targets = [], []
            for k, s in enumerate(sentences):
                for e in by_sentence[s]:
                    ex = train.examples[e]
                    gather.append(offsets[k] + ex.positions[0])
                    targets.append(label_index[ex.label])
            flat = token_word.reshape(-1)
            keep = np.flatnonzero(flat >= 0)
            self.batches.append(tuple(torch.as_tensor(a) for a in (
                input_ids, mask, keep, flat[keep], np.asarray(gather), np.asarray(targets))) +
                (int(offsets[-1]),))
            self.tokens.append(int(mask.sum()))

    def run(self):
        """Fresh model, seeded like ``finetune`` -> ``(update stamps, mean loss)``."""
        from harness.models import load_model
        import random

        model = load_model(self.model_name, device="cpu").model
        dropout = getattr(model.config, "hidden_dropout_prob", 0.1)
        random.seed(SEED)
        np.random.seed(SEED)
        torch.manual_seed(SEED)
        head = torch.nn.Sequential(torch.nn.Dropout(dropout),
                                   torch.nn.Linear(model.config.hidden_size, self.n_labels))
        no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
        named = list(model.named_parameters()) + list(head.named_parameters())
        optimizer = torch.optim.AdamW([
            {"params": [p for n, p in named if not any(k in n for k in no_decay)],
             "weight_decay": 0.01},
            {"params": [p for n, p in named if any(k in n for k in no_decay)],
             "weight_decay": 0.0}], lr=3e-4)
        total = self.total_for_schedule
        warmup = int(round(0.1 * total))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: (step + 1) / max(1, warmup) if step < warmup
            else max(0.0, (total - step) / max(1, total - warmup)))
        params = list(model.parameters()) + list(head.parameters())
        model.train()
        head.train()
        stamps, losses = [], []
        for input_ids, mask, keep, word, gather, targets, n_words in self.batches:
            hidden = model(input_ids=input_ids, attention_mask=mask).last_hidden_state
            flat = hidden.reshape(-1, hidden.shape[-1])[keep]
            sums = torch.zeros(n_words, hidden.shape[-1]).index_add_(0, word, flat)
            words = sums / torch.bincount(word, minlength=n_words).clamp_min(1).unsqueeze(-1)
            loss = torch.nn.functional.cross_entropy(head(words[gather]), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            stamps.append(_stamp())
        return stamps, float(np.mean(losses))


def _stamp():
    return time.perf_counter(), time.process_time()


def window_seconds(stamps, clock=0):
    """Seconds from the end of the first update to the end of the last (0 wall, 1 CPU)."""
    return stamps[-1][clock] - stamps[0][clock]


def compare_training(n_sentences, n_updates, repeats=3, warmup=1):
    """Interleaved harness-vs-plain loop timing -> dict of figures."""
    plain = PlainLoop(n_sentences, n_updates)
    tokens = sum(plain.tokens[1:])  # the window excludes the first update
    fns = {"harness": lambda: harness_loop(n_sentences, n_updates),
           "plain": plain.run}
    names = list(fns)
    losses = {}
    for _ in range(warmup):
        for name in names:
            fns[name]()
    times = {name: [] for name in names}
    cpu = {name: [] for name in names}
    for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            stamps, loss = fns[name]()
            times[name].append(window_seconds(stamps, 0))
            cpu[name].append(window_seconds(stamps, 1))
            losses[name] = loss
    t_h, t_p = statistics.median(times["harness"]), statistics.median(times["plain"])
    ratio = statistics.median(h / p for h, p in zip(times["harness"], times["plain"]))
    c_h, c_p = statistics.median(cpu["harness"]), statistics.median(cpu["plain"])
    cpu_ratio = statistics.median(h / p for h, p in zip(cpu["harness"], cpu["plain"]))
    return {"n_sentences": n_sentences, "n_updates": n_updates, "n_tokens": tokens,
            "harness_s": t_h, "plain_s": t_p, "harness_tok_s": tokens / t_h,
            "plain_tok_s": tokens / t_p, "ratio": ratio, "overhead_pct": 100 * (ratio - 1),
            "harness_s_per_update": t_h / (n_updates - 1),
            "plain_s_per_update": t_p / (n_updates - 1),
            "harness_cpu_s": c_h, "plain_cpu_s": c_p, "harness_cpu_tok_s": tokens / c_h,
            "plain_cpu_tok_s": tokens / c_p, "cpu_ratio": cpu_ratio,
            "cpu_overhead_pct": 100 * (cpu_ratio - 1),
            "mean_loss": losses, "times": times, "cpu_times": cpu}


def snapshot_once(loaded, data, store, head, label_index, update, data_options):
    """One ``finetune`` snapshot (train + test, all layers) -> seconds per part."""
    from harness.finetune import _head_accuracy
    from harness.representations import get_representations

    parts, keys = {}, {}
    c0 = time.process_time()
    for split in ("train", "test"):
        t0 = time.perf_counter()
        art = get_representations(data, loaded, split, layers=None, dtype="float32",
                                  data_options=data_options, store=store,
                                  snapshot={"run": "bench", "update": update}, progress=False)
        parts[split] = time.perf_counter() - t0
        keys[split] = art.key
    t0 = time.perf_counter()
    _head_accuracy(loaded, head, data, store, keys["test"], label_index)
    parts["head_accuracy"] = time.perf_counter() - t0
    parts["total"] = sum(parts.values())
    parts["total_cpu"] = time.process_time() - c0
    return parts


def snapshot_cost(n_sentences=200, repeats=3):
    """Median seconds per snapshot (train + test splits of ``n_sentences`` each)."""
    from harness.finetune import TaskHead
    from harness.store import RunStore

    loaded, data = bext.load(n_sentences)
    opts = {"max_train_sentences": n_sentences, "max_test_sentences": n_sentences}
    head = TaskHead(loaded.hidden_size, len(data.labels), data.kind, 0.1).eval()
    label_index = {label: i for i, label in enumerate(data.labels)}
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as tmp:
        store = RunStore(tmp)
        for update in range(repeats):
            runs.append(snapshot_once(loaded, data, store, head, label_index, update, opts))
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    med["n_train_examples"], med["n_test_examples"] = len(data.train), len(data.test)
    return med


class TrainingLoop:
    """asv: harness fine-tuning loop (no snapshots) against a plain PyTorch loop."""

    params = [[100]]
    param_names = ["n_sentences"]
    timeout = 900
    number = 1
    repeat = (1, 3, 300.0)
    warmup_time = 0.0
    n_updates = 8

    def setup(self, n_sentences):
        _pin(bext.N_THREADS)
        self.plain = PlainLoop(n_sentences, self.n_updates)
        self.tokens = sum(self.plain.tokens[1:])

    def track_harness_tokens_per_s(self, n_sentences):
        return self.tokens / window_seconds(harness_loop(n_sentences, self.n_updates)[0])

    track_harness_tokens_per_s.unit = "tokens/s"

    def track_plain_tokens_per_s(self, n_sentences):
        return self.tokens / window_seconds(self.plain.run()[0])

    track_plain_tokens_per_s.unit = "tokens/s"

    def track_overhead_pct(self, n_sentences):
        """(harness / plain - 1) in % of CPU time, one run each back to back; target <= 10."""
        h = window_seconds(harness_loop(n_sentences, self.n_updates)[0], clock=1)
        p = window_seconds(self.plain.run()[0], clock=1)
        return 100.0 * (h / p - 1.0)

    track_overhead_pct.unit = "%"


class Snapshot:
    """asv: seconds of one snapshot (POS train + test, all layers, float32)."""

    params = [[200]]
    param_names = ["n_sentences"]
    timeout = 900
    number = 1
    repeat = (1, 3, 300.0)
    warmup_time = 0.0

    def setup(self, n_sentences):
        from harness.finetune import TaskHead
        from harness.store import RunStore

        _pin(bext.N_THREADS)
        self.loaded, self.data = bext.load(n_sentences)
        self.opts = {"max_train_sentences": n_sentences, "max_test_sentences": n_sentences}
        self.head = TaskHead(self.loaded.hidden_size, len(self.data.labels), self.data.kind,
                             0.1).eval()
        self.label_index = {label: i for i, label in enumerate(self.data.labels)}
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-snapshot-")
        self.store = RunStore(self.tmp.name)
        self.update = 0

    def teardown(self, n_sentences):
        self.tmp.cleanup()

    def time_snapshot(self, n_sentences):
        self.update += 1  # a new snapshot key each call: always a store miss
        snapshot_once(self.loaded, self.data, self.store, self.head, self.label_index,
                      self.update, self.opts)
