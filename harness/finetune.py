"""Fine-tuning with representation snapshots, resumable and deterministic.

The paper's protocol (section 3 and FINDINGS.md section 1): AdamW, learning rate 3e-4,
linear schedule with 10 % warm-up, batches of 32 sentences, 10 epochs (3 for BERT-base),
word vectors = mean of subwords, a linear head per task kind:

* token (POS, PS-role, PS-fxn): a classifier over the target word's vector; the loss is
  taken on the labelled words only;
* pair (DEP): a classifier over concat(head vector, modifier vector);
* sentence (TREC): a classifier over the ``[CLS]`` vector.

What the paper leaves unstated gets a documented default in :class:`FinetuneConfig`.

Snapshots: at update 0 (the original model), every ``snapshot_every`` updates and after
the last update, representations go into the run store (one artifact per snapshot and
split), with the head's test accuracy and the mean training loss since the previous
snapshot. What each snapshot holds (layers, splits, dtype) follows a per-snapshot rule,
:func:`snapshot_plan`: by default every snapshot holds all layers of train and test in
float32; the paper tier keeps the last layer every 5 updates, all layers every epoch,
the test split and float32 at the two ends only (docs/paper-tier.md).

A checkpoint (model, head, optimiser, scheduler, RNG states, position) is written
atomically every ``checkpoint_every`` updates; a killed run started again with the same configuration resumes from it and
ends with the same artifacts as an uninterrupted run (CPU, same seed).
"""

import dataclasses
import hashlib
import io
import json
import logging
import random
import shutil
import time
import warnings
from dataclasses import dataclass, field
from numbers import Integral
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from . import encoding, extract, pooling
from .exceptions import HarnessWarning, StoreError
from .fingerprints import code_fingerprint
from .params import FINETUNE_RANGES, POSITIVE_INT_OR_NONE, SPLITS
from .store import RunStore, atomic_write_bytes, environment, is_no_space, no_space_error

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinetuneConfig:
    """Everything that determines a fine-tuning run (and so its store key).

    Parameters
    ----------
    model, task : str
        Registry names (or a model directory / hub id).
    seed : int, default=0
        Seeds Python, NumPy and torch (initialisation of the head, dropout, shuffling).
    learning_rate : float, default=3e-4
        The paper's value.
    batch_size : int, default=32
        Sentences per update (the paper's 32); only sentences holding a target count.
    epochs : int >= 1 or None, default=None
        None = the paper's value for the model (10; 3 for BERT-base).
    max_updates : int >= 1 or None
        Stop after this many updates (for smoke runs); None = all epochs.
    warmup_fraction : float, default=0.1
        Linear warm-up over the first 10 % of updates, then linear decay to 0.
    weight_decay : float, default=0.01
        Not stated in the paper; 0.01 is the common BERT fine-tuning value. Not applied to
        biases and LayerNorm weights.
    dropout : float or None, default=None
        None = the model's own dropout (0.1 for BERT); also used before the head.
    max_grad_norm : float >= 0 or None, default=1.0
        Gradient clipping (not stated in the paper; the common BERT value); 0 or None
        = no clipping.
    max_length : int or None, default=None
        Subwords per window; None = the model's limit (512). Longer sentences are split
        into windows of whole words (see :mod:`harness.encoding`).
    snapshot_every : int, default=5
        Updates between snapshots (the paper's 5).
    n_snapshots : int or None
        When set, overrides ``snapshot_every`` with ``ceil(n_updates / n_snapshots)`` so a
        run gets about that many evenly spaced snapshots whatever its length (the tiny
        tier's sparser schedule).
    snapshot_layers : tuple of int or None
        Hidden-state indices to snapshot (None = all, 0 = embeddings).
    snapshot_splits : tuple of str, default=("train", "test")
    intermediate_splits : tuple of str or None
        Splits snapshotted between the first and the last snapshot; None = all of
        ``snapshot_splits``. The tiny tier keeps only ``("train",)`` there (the test split
        is needed at the ends only), which also leaves the head's test accuracy
        unrecorded at those snapshots; ``()`` keeps no snapshot but the two ends.
    snapshot_dtype : {"float32", "float16"}
        float16 halves the store size; distances then carry ~1e-3 relative rounding.
    intermediate_layers : tuple of int or None
        Layers of the *thin* snapshots (see ``all_layers_every``), e.g. ``(-1,)`` for the
        last layer only; None = every snapshot holds ``snapshot_layers``.
    all_layers_every : int, "epoch" or None
        With ``intermediate_layers``: the first snapshot at or after every multiple of
        this many updates holds ``snapshot_layers`` (a *full* snapshot); ``"epoch"`` = the
        run's updates per epoch. The first and the last snapshot are always full.
    all_layers_until : int, default=0
        With ``intermediate_layers``: every snapshot up to this update is full (the paper's
        Fig. 4 shows most of the change within the first ~10 updates).
    intermediate_dtype : {"float32", "float16"} or None
        dtype of the snapshots between the first and the last; None = ``snapshot_dtype``.
        The two ends, which most analyses read, keep ``snapshot_dtype``.
    precision : {"fp32", "bf16"}, default="fp32"
        bf16 autocast for training steps and snapshot extraction, on CUDA only; fp32 is
        the default and the only mode on CPU (asking for bf16 there raises).
    checkpoint_every : int or None
        Updates between resumable checkpoints; None = at every snapshot.
    data_options : dict
        Passed to :func:`harness.data.load_task` (e.g. sentence caps for the tiny tier).
    """

    model: str = "minilm-l6"
    task: str = "pos"
    seed: int = 0
    learning_rate: float = 3e-4
    batch_size: int = 32
    epochs: int = None
    max_updates: int = None
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    dropout: float = None
    max_grad_norm: float = 1.0
    max_length: int = None
    snapshot_every: int = 5
    n_snapshots: int = None
    snapshot_layers: tuple = None
    snapshot_splits: tuple = ("train", "test")
    intermediate_splits: tuple = None
    snapshot_dtype: str = "float32"
    intermediate_layers: tuple = None
    all_layers_every: object = None
    all_layers_until: int = 0
    intermediate_dtype: str = None
    precision: str = "fp32"
    checkpoint_every: int = None
    data_options: dict = field(default_factory=dict)

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["snapshot_layers"] = None if self.snapshot_layers is None else list(self.snapshot_layers)
        d["snapshot_splits"] = list(self.snapshot_splits)
        if self.intermediate_splits is not None:
            d["intermediate_splits"] = list(self.intermediate_splits)
        # The per-snapshot rule enters the key only when used, so that configurations
        # without it keep the form they had before the rule existed.
        for name, default in _SCHEDULE_DEFAULTS.items():
            value = d.pop(name)
            if value != default:
                d[name] = list(value) if isinstance(value, tuple) else value
        return d

    def validate(self):
        """Check every field without loading anything; raise ``ValueError`` (or
        :class:`~harness.exceptions.UnknownNameError` for a task or model name)."""
        from .data import task_spec
        from .models.registry import resolve_model

        owner = "FinetuneConfig"
        for name, allowed in FINETUNE_RANGES.items():  # shared with the CLI's flags
            allowed.check(getattr(self, name), name, owner)
        for name, options in (("snapshot_dtype", ("float32", "float16")),
                              ("precision", extract.PRECISIONS)):
            if getattr(self, name) not in options:
                raise ValueError(f"The {name!r} parameter of {owner} must be one of "
                                 f"{list(options)}. Got {getattr(self, name)!r} instead.")
        if self.intermediate_dtype not in (None, "float32", "float16"):
            raise ValueError(f"The 'intermediate_dtype' parameter of {owner} must be None, "
                             f"'float32' or 'float16'. Got {self.intermediate_dtype!r} instead.")
        every = self.all_layers_every
        if not (every is None or every == "epoch" or (isinstance(every, Integral)
                                                      and not isinstance(every, bool)
                                                      and every >= 1)):
            raise ValueError(f"The 'all_layers_every' parameter of {owner} must be an int "
                             f">= 1, 'epoch' or None. Got {every!r} instead.")
        splits = tuple(self.snapshot_splits)
        if not splits or len(set(splits)) != len(splits) or not set(splits) <= set(SPLITS):
            raise ValueError(f"The 'snapshot_splits' parameter of {owner} must list distinct "
                             f"splits among {list(SPLITS)}. Got {list(splits)!r} instead.")
        if self.intermediate_splits is not None and not set(self.intermediate_splits) <= set(splits):
            raise ValueError(f"The 'intermediate_splits' parameter of {owner} must be a subset "
                             f"of snapshot_splits {list(splits)}. Got "
                             f"{list(self.intermediate_splits)!r} instead.")
        if self.snapshot_layers is not None and (
                not self.snapshot_layers or not all(isinstance(v, Integral) and not isinstance(
                    v, bool) for v in self.snapshot_layers)):
            raise ValueError(f"The 'snapshot_layers' parameter of {owner} must be None or a "
                             f"non-empty tuple of ints. Got {self.snapshot_layers!r} instead.")
        spec = task_spec(self.task)  # an unknown task raises with the nearest names
        unknown = sorted(set(self.data_options) - set(spec.options())
                         - {"max_train_sentences", "max_test_sentences"})
        if unknown:
            raise ValueError(f"The 'data_options' parameter of {owner} has option(s) {unknown} "
                             f"that task {self.task!r} does not take; it takes "
                             f"{sorted(spec.options())} and the sentence caps.")
        for cap in ("max_train_sentences", "max_test_sentences"):
            POSITIVE_INT_OR_NONE.check(self.data_options.get(cap), cap, owner)
        resolve_model(self.model)  # an unknown name raises with the nearest names
        return self

    def check_model(self, model_config):
        """Check the fields that depend on the model, given its ``config.json`` (a dict)."""
        n_layers = model_config.get("num_hidden_layers")
        if self.snapshot_layers is not None and n_layers is not None:
            try:
                extract.resolve_layers(self.snapshot_layers, n_layers)
            except ValueError as err:
                raise ValueError(f"The 'snapshot_layers' parameter of FinetuneConfig: {err}") from None
        limit = model_config.get("max_position_embeddings")
        if self.max_length is not None and limit is not None and self.max_length > limit:
            raise ValueError(f"The 'max_length' parameter of FinetuneConfig must be at most "
                             f"{limit} for model {self.model!r} (its position limit). Got "
                             f"{self.max_length} instead.")
        return self


_SCHEDULE_DEFAULTS = {"intermediate_layers": None, "all_layers_every": None,
                      "all_layers_until": 0, "intermediate_dtype": None}


@dataclass(frozen=True)
class SnapshotSpec:
    """What one snapshot holds: hidden-state indices (None = all), splits and dtype."""

    layers: tuple
    splits: tuple
    dtype: str


def snapshot_interval(config, total):
    """Updates between snapshots: ``snapshot_every``, or ``ceil(total / n_snapshots)``."""
    if config.n_snapshots:
        return max(1, -(-total // config.n_snapshots))
    return config.snapshot_every


def snapshot_plan(config, total, per_epoch):
    """The snapshots of a run of ``total`` updates and what each one holds.

    Snapshots are taken at update 0, every :func:`snapshot_interval` updates and after the
    last update. The two ends hold ``snapshot_layers`` of ``snapshot_splits`` in
    ``snapshot_dtype``. A snapshot in between holds the ``intermediate_splits`` (default
    all) in ``intermediate_dtype`` (default ``snapshot_dtype``), and the
    ``intermediate_layers`` unless it is *full*: within ``all_layers_until`` updates of
    the start, or the first snapshot at or after a multiple of ``all_layers_every``
    (``"epoch"``: ``per_epoch``). Full snapshots hold ``snapshot_layers``.

    Returns
    -------
    dict
        ``{update: SnapshotSpec}``, in update order.
    """
    every = snapshot_interval(config, total)
    full_every = per_epoch if config.all_layers_every == "epoch" else config.all_layers_every
    plan, previous = {}, None
    for update in sorted(set(range(0, total + 1, every)) | {total}):
        end = update in (0, total)
        full = (end or config.intermediate_layers is None
                or update <= config.all_layers_until
                or (full_every and update // full_every > previous // full_every))
        splits = tuple(config.snapshot_splits)
        if not end and config.intermediate_splits is not None:
            splits = tuple(s for s in splits if s in config.intermediate_splits)
            if not splits:  # intermediate_splits=(): the two ends only
                continue
        dtype = config.snapshot_dtype if end else (config.intermediate_dtype
                                                   or config.snapshot_dtype)
        layers = config.snapshot_layers if full else tuple(config.intermediate_layers)
        plan[update] = SnapshotSpec(None if layers is None else tuple(layers), splits, dtype)
        previous = update
    return plan


def planned_updates(n_trainable, batch_size, epochs, max_updates=None):
    """``(total updates, updates per epoch)`` of a run over ``n_trainable`` sentences."""
    per_epoch = -(-n_trainable // batch_size)
    total = per_epoch * epochs
    if max_updates is not None:
        total = min(total, max_updates)
    return total, per_epoch


def run_schedule(config, task_data, epochs):
    """``(total updates, updates per epoch, snapshot plan)`` of ``config`` on ``task_data``.

    What :func:`finetune` will do, known before it runs (``harness verify`` sizes its
    progress bars and plans the analyses of every snapshot from it). Only sentences
    holding a target count towards the batches.
    """
    n_trainable = sum(1 for examples in pooling.group_examples(task_data.train) if examples)
    total, per_epoch = planned_updates(n_trainable, config.batch_size, epochs,
                                       config.max_updates)
    return total, per_epoch, snapshot_plan(config, total, per_epoch)


class TaskHead(torch.nn.Module):
    """Dropout + linear classifier over the example vector of a task kind."""

    def __init__(self, hidden_size, n_labels, kind, dropout):
        super().__init__()
        self.kind = kind
        self.dropout = torch.nn.Dropout(dropout)
        self.linear = torch.nn.Linear(extract.output_dim(hidden_size, kind), n_labels)

    def forward(self, vectors):
        return self.linear(self.dropout(vectors))


@dataclass
class FinetuneRun:
    """A finished (or loaded) run: its key, history and snapshot artifacts."""

    key: str
    config: FinetuneConfig
    path: Path
    manifest: dict

    @property
    def history(self):
        return self.manifest["meta"]["history"]

    @property
    def snapshots(self):
        """``{update: {split: representation artifact key}}``."""
        return {int(u): v for u, v in self.manifest["meta"]["snapshots"].items()}

    def snapshot_layers(self, update, split):
        """Hidden-state indices held by the snapshot of ``update`` and ``split``.

        None for runs written before per-snapshot plans were recorded (read the artifact).
        """
        plan = self.manifest["meta"].get("snapshot_plan")
        if plan is None:
            return None
        entry = plan[str(update)]
        return list(entry["layers"]) if split in entry["splits"] else []

    @property
    def model_dir(self):
        return self.path / "model"


def run_config(config, loaded, task):
    """The configuration that keys a run: every setting, the weights, the data (sha256 of
    each file read, the reader's code) and the code of fine-tuning and everything it
    imports."""
    return {"artifact": "finetune", **config.to_dict(), "model_fingerprint": loaded.fingerprint,
            "data": task.fingerprint, "code": code_fingerprint(__name__)}


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _optimizer(model, head, config):
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    named = list(model.named_parameters()) + [(f"head.{n}", p) for n, p in head.named_parameters()]
    groups = [
        {"params": [p for n, p in named if not any(k in n for k in no_decay)],
         "weight_decay": config.weight_decay},
        {"params": [p for n, p in named if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    # foreach: the multi-tensor update halves the optimiser step on CPU; same arithmetic.
    return torch.optim.AdamW(groups, lr=config.learning_rate, foreach=True)


def _schedule(optimizer, total, warmup):
    def factor(step):
        if step < warmup:
            return (step + 1) / max(1, warmup)  # step 0 already trains (HF convention: 0)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _epoch_batches(trainable, batch_size, seed, epoch):
    order = np.random.default_rng([seed, epoch]).permutation(trainable)
    return [order[k:k + batch_size].tolist() for k in range(0, len(order), batch_size)]


def finetune(config, *, store=None, data_dir=None, device=None, progress=True, on_update=None,
             on_start=None):
    """Fine-tune ``config.model`` on ``config.task`` with snapshots; resume if interrupted.

    Parameters
    ----------
    config : FinetuneConfig
    store : RunStore, optional
    data_dir : path, optional
    device : str, optional
        Default CUDA when available, else CPU.
    on_update : callable, optional
        Called as ``on_update(update)`` after every update (tests use it to interrupt;
        ``harness verify`` to show progress).
    on_start : callable, optional
        Called as ``on_start(done, total)`` once the run knows its length: ``done`` updates
        of ``total`` are already behind it (a resumed run; ``done == total`` when the run
        was stored already).

    Returns
    -------
    FinetuneRun
    """
    from .data import load_task
    from .models import load_model, model_config

    # Everything that can be checked without loading is checked first.
    config.validate()
    store = store or RunStore()
    if store.root.exists():
        store.check_exists()  # a file is refused; writability is checked where it is needed
    config.check_model(model_config(config.model))
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    extract.autocast(device, config.precision)  # bf16 on CPU fails here, before any work

    task = load_task(config.task, data_dir, **config.data_options)
    loaded = load_model(config.model, device=device)
    rc = run_config(config, loaded, task)
    key = store.key(rc)
    done = _stored_run(store, rc)
    if done is not None:
        if on_start is not None:
            on_start(done.meta["n_updates"], done.meta["n_updates"])
        return FinetuneRun(key, config, done.path, done.manifest)
    with store.run_lock(key) as run_dir:
        return _train(config, store, key, rc, run_dir, task, loaded, progress, on_update,
                      on_start)


def _stored_run(store, rc):
    """The stored run of ``rc`` when it and all its snapshots are sound, else None.

    A run whose artifact or any snapshot fails verification (a file deleted, truncated
    or altered) is removed with a warning, so that it is trained again: a snapshot
    cannot be recomputed without the training that led to it. Sound snapshots are kept
    and reused by the new run (same key, same content).
    """
    done = store.get(rc, repair=True)
    if done is None:
        return None
    for update, splits in sorted(done.meta["snapshots"].items(), key=lambda kv: int(kv[0])):
        for split, snap_key in splits.items():
            problems = store.verify(snap_key)
            if problems:
                warnings.warn(f"Run {done.key}: snapshot {split}@{update} ({snap_key}) is "
                              f"corrupt or missing ({'; '.join(problems)}); training the run "
                              "again.", HarnessWarning, stacklevel=3)
                store.remove(snap_key)
                store.remove(done.key)
                return None
    return done


def _train(config, store, key, rc, run_dir, task, loaded, progress, on_update, on_start):
    """The training loop of :func:`finetune` (the run is locked and not stored yet)."""
    from .representations import get_representations

    train = task.train
    label_index = {label: i for i, label in enumerate(task.labels)}
    targets = np.asarray([label_index[label] for label in train.labels])
    by_sentence = pooling.group_examples(train)
    trainable = np.asarray([s for s, ex in enumerate(by_sentence) if ex])
    epochs = loaded.spec.epochs if config.epochs is None else config.epochs
    total, per_epoch, plan = run_schedule(config, task, epochs)
    checkpoint_every = config.checkpoint_every or snapshot_interval(config, total)

    model = loaded.model
    dropout = config.dropout
    if dropout is None:
        dropout = getattr(model.config, "hidden_dropout_prob", 0.1)
    else:
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = dropout
    seed_everything(config.seed)
    head = TaskHead(loaded.hidden_size, len(task.labels), task.kind, dropout).to(model.device)
    optimizer = _optimizer(model, head, config)
    scheduler = _schedule(optimizer, total, int(round(config.warmup_fraction * total)))
    encoded = encoding.encode_sentences(loaded.tokenizer, train.sentences,
                                        config.max_length or loaded.max_length)
    last_layer = torch.as_tensor([loaded.n_layers], device=model.device)
    pad_id = loaded.tokenizer.pad_token_id or 0

    state = {"update": 0, "history": [], "snapshots": {}, "losses": [], "seconds": 0.0}
    checkpoint = run_dir / "checkpoint.pt"
    if checkpoint.is_file():
        state = _load_checkpoint(checkpoint, model, head, optimizer, scheduler)
        logger.info("resuming run %s at update %d", key, state["update"])
    (run_dir / "config.json").write_text(json.dumps(rc, indent=1, default=str))

    def snapshot(update):
        model.eval()
        head.eval()
        entry = {}
        spec = plan[update]
        for split in spec.splits:
            art = get_representations(task, loaded, split, layers=spec.layers,
                                      dtype=spec.dtype, max_length=config.max_length,
                                      data_options=config.data_options, store=store,
                                      snapshot={"run": key, "update": update}, progress=False,
                                      precision=config.precision)
            entry[split] = art.key
        accuracy = _head_accuracy(loaded, head, task, store, entry.get("test"), label_index)
        losses = state["losses"]
        state["history"].append({"update": update, "test_head_accuracy": accuracy,
                                 "train_loss": float(np.mean(losses)) if losses else None})
        state["losses"] = []
        state["snapshots"][str(update)] = entry
        model.train()
        head.train()

    started = time.perf_counter() - state["seconds"]
    n_tokens = 0
    bar = tqdm(total=total, initial=state["update"], desc=f"finetune {config.model}/{config.task}",
               unit="upd", disable=not progress)
    if on_start is not None:
        on_start(state["update"], total)
    if state["update"] == 0 and "0" not in state["snapshots"]:
        snapshot(0)
    model.train()
    head.train()
    update = state["update"]
    while update < total:
        epoch, position = divmod(update, per_epoch)
        batch = _epoch_batches(trainable, config.batch_size, config.seed, epoch)[position]
        rows, gather = pooling.example_index(train, batch, _offsets(encoded, batch), task.kind,
                                             by_sentence)
        with extract.autocast(model.device, config.precision):
            vectors = extract.forward_examples(model, encoded, batch, gather, task.kind,
                                               last_layer, pad_id)[0]
            logits = head(vectors)
        loss = torch.nn.functional.cross_entropy(
            logits.float(), torch.as_tensor(targets[rows], device=model.device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(head.parameters()),
                                           config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        update += 1
        state["update"] = update
        state["losses"].append(loss.item())
        n_tokens += sum(len(w) for s in batch for w in encoded[s].windows)
        bar.set_postfix(loss=f"{state['losses'][-1]:.3f}", epoch=epoch)
        bar.update()
        if update in plan:
            snapshot(update)
        if update % checkpoint_every == 0 and update < total:
            state["seconds"] = time.perf_counter() - started
            _save_checkpoint(checkpoint, model, head, optimizer, scheduler, state)
            # Read by `harness store ls` (the checkpoint itself is too big to open there).
            atomic_write_bytes(run_dir / "progress.json",
                               json.dumps({"update": update, "total": total}).encode())
        if on_update is not None:
            on_update(update)
    bar.close()
    seconds = time.perf_counter() - started
    # The fine-tuned weights (float32) are the artifact's bulk: known before writing.
    store.check_free(4 * sum(p.numel() for p in list(model.parameters()) + list(head.parameters())))
    with store.writer(rc, kind="finetune") as writer:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Writing model shards" bars clutter logs
        model.save_pretrained(writer.path / "model")
        loaded.tokenizer.save_pretrained(writer.path / "model")
        torch.save({"state_dict": head.state_dict(), "labels": list(task.labels),
                    "kind": task.kind}, writer.path / "model" / "head.pt")
        writer.meta.update({"history": state["history"], "snapshots": state["snapshots"],
                            "labels": list(task.labels), "kind": task.kind,
                            "n_updates": total, "epochs": epochs,
                            "updates_per_epoch": per_epoch,
                            "snapshot_plan": {
                                str(u): {"layers": extract.resolve_layers(p.layers,
                                                                          loaded.n_layers),
                                         "splits": list(p.splits), "dtype": p.dtype}
                                for u, p in plan.items()}})
        writer.timings.update({"train_s": seconds, "tokens_seen_this_process": n_tokens})
    shutil.rmtree(run_dir, ignore_errors=True)
    accuracy = state["history"][-1]["test_head_accuracy"]  # None without a test snapshot
    logger.info("fine-tuned %s on %s: %d updates in %.0f s, test head accuracy %s",
                config.model, config.task, total, seconds,
                "n/a" if accuracy is None else f"{accuracy:.4f}")
    return FinetuneRun(key, config, writer.artifact.path, writer.artifact.manifest)


def _offsets(encoded, sentence_ids):
    return np.concatenate([[0], np.cumsum([encoded[s].n_words for s in sentence_ids])])


@torch.no_grad()
def _head_accuracy(loaded, head, task, store, test_key, label_index):
    """Accuracy of the head on the snapshot's stored test vectors (no second forward pass)."""
    if test_key is None:
        return None
    art = store.open(test_key)
    top = f"layer{loaded.n_layers}"
    if top not in art.array_names():
        return None
    X = torch.as_tensor(np.array(art.array(top), dtype=np.float32),
                        device=next(head.parameters()).device)
    gold = np.asarray([label_index.get(label, -1) for label in task.test.labels])
    pred = head(X).argmax(dim=1).cpu().numpy()
    return float(np.mean(pred == gold))


def _save_checkpoint(path, model, head, optimizer, scheduler, state):
    """Write the run's checkpoint atomically, and its sha256 beside it (see
    :func:`_load_checkpoint`).

    Everything in it loads with ``torch.load(weights_only=True)``: tensors, numbers,
    strings and containers of them. NumPy's and Python's RNG states are therefore stored
    as plain lists, not as the objects their ``get_state`` returns.
    """
    np_state = np.random.get_state()
    py_state = random.getstate()
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "head": head.state_dict(),
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "rng": {"torch": torch.get_rng_state(),
                        "numpy": [np_state[0], np_state[1].tolist(), *map(_plain, np_state[2:])],
                        "python": [py_state[0], list(py_state[1]), py_state[2]]},
                "state": state}, buffer)
    data = buffer.getvalue()
    root = Path(path).parents[2]  # <store>/runs/<key>/checkpoint.pt
    RunStore(root).check_free(len(data))
    # The digest file lists the new checkpoint's sha256 and the previous one's: it is
    # written first, so a process killed between the two writes leaves a checkpoint
    # (the previous one) that it still vouches for.
    sums = _checkpoint_sums(path)
    previous = _recorded_checkpoint_sha256(sums)[:1]
    try:
        atomic_write_bytes(sums, json.dumps({"sha256": [hashlib.sha256(data).hexdigest(),
                                                        *previous]}).encode())
        atomic_write_bytes(path, data)
    except OSError as err:
        if is_no_space(err):  # the previous checkpoint and its digest are intact
            raise no_space_error(root, len(data)) from None
        raise


def _plain(value):
    """A NumPy scalar as the Python number it holds (``weights_only`` loads no NumPy)."""
    return value.item() if hasattr(value, "item") else value


def _checkpoint_sums(path):
    return Path(path).with_name(Path(path).name + ".sha256")


def _recorded_checkpoint_sha256(sums):
    """The sha256 digests a checkpoint's digest file vouches for (none when unreadable)."""
    try:
        recorded = json.loads(Path(sums).read_text())["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [d for d in recorded if isinstance(d, str)] if isinstance(recorded, list) else []


def _load_checkpoint(path, model, head, optimizer, scheduler):
    """Restore a run from its checkpoint; refuse one that its digest file does not vouch
    for, or that holds anything but tensors and plain data.

    Nothing in the file is executed: its sha256 is checked against the digest written
    with it before it is opened, and ``torch.load(weights_only=True)`` refuses any
    pickled object other than tensors and containers (a shared store on a cluster is
    written by many hands).

    Raises
    ------
    StoreError
        The checkpoint does not match its recorded sha256, or it is not a plain
        checkpoint; it is left in place, unread, and the message says how to remove it.
    """
    import pickle

    def refuse(why):
        return StoreError(f"{path}: checkpoint refused, not loaded ({why}). Remove the "
                          "unfinished run with `harness store gc` (its training then starts "
                          "from update 0).")

    with open(path, "rb") as fh:
        actual = hashlib.file_digest(fh, "sha256").hexdigest()
    if actual not in _recorded_checkpoint_sha256(_checkpoint_sums(path)):
        raise refuse(f"its sha256 is not the one recorded in {_checkpoint_sums(path).name}")
    try:
        ckpt = torch.load(path, map_location=model.device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, ValueError, EOFError) as err:
        raise refuse(f"it holds more than tensors and plain data: {str(err).splitlines()[0]}") from None
    model.load_state_dict(ckpt["model"])
    head.load_state_dict(ckpt["head"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    torch.set_rng_state(ckpt["rng"]["torch"])
    kind, keys, *rest = ckpt["rng"]["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))
    version, internal, gauss = ckpt["rng"]["python"]
    random.setstate((version, tuple(internal), gauss))
    return ckpt["state"]


def load_finetuned(run, *, device=None):
    """The fine-tuned encoder of a finished run, as a :class:`~harness.models.LoadedModel`."""
    from .models import load_model
    from .models.registry import ModelSpec
    from .store import Artifact

    # transformers reads the files directly: check them against the manifest first.
    problems = Artifact(run.path, run.manifest).problems(full=True)
    if problems:
        raise StoreError(f"{run.path}: {'; '.join(problems)}; the fine-tuned model is corrupt. "
                         "Run the same command again to train it anew, or remove it with "
                         f"`harness store gc --key {run.key}`.")
    spec = ModelSpec(f"{run.config.model}@{run.config.task}#{run.key[:8]}", f"dir:{run.model_dir}")
    loaded = load_model(spec, device=device)
    loaded.fingerprint = f"finetune:{run.key}"
    return loaded
