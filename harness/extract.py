"""All-layer representations of a task split, streamed batch by batch.

One forward pass per batch yields the embedding output and every transformer layer
(``output_hidden_states``); the selected layers are pooled into example vectors (see
:mod:`harness.pooling`) and written straight into memory-mapped arrays, so memory stays
bounded by one batch, not by the dataset.
"""

import contextlib
import logging
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from . import encoding, pooling

logger = logging.getLogger(__name__)


PRECISIONS = ("fp32", "bf16")


def autocast(device, precision):
    """Context for the forward pass: fp32 (default), or bf16 autocast on CUDA only.

    bf16 is offered for CUDA alone; on CPU fp32 is the only mode, and asking for bf16
    there raises rather than silently running something else.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}. Got {precision!r} instead.")
    if precision == "fp32":
        return contextlib.nullcontext()
    if torch.device(device).type != "cuda":
        raise ValueError(f"precision='bf16' needs a CUDA device; got {device}. fp32 is the only "
                         "mode on CPU.")
    return torch.autocast("cuda", dtype=torch.bfloat16)


def output_dim(hidden_size, kind):
    return 2 * hidden_size if kind == "pair" else hidden_size


def resolve_layers(layers, n_layers):
    """``None`` -> all layers ``0..n_layers`` (0 = embeddings); negatives count from the top."""
    if layers is None:
        return list(range(n_layers + 1))
    out = []
    for layer in layers:
        layer = int(layer)
        resolved = layer + n_layers + 1 if layer < 0 else layer
        if not 0 <= resolved <= n_layers:
            raise ValueError(f"layer {layer} is out of range for a model with {n_layers} layers "
                             f"(valid: 0..{n_layers}, or negatives from the top).")
        out.append(resolved)
    return sorted(set(out))


@torch.no_grad()
def extract_split(model, tokenizer, split, kind, *, layers=None, batch_size=32,
                  max_length=None, out=None, dtype=np.float32, progress=True, desc="extract",
                  precision="fp32"):
    """Representations of every example of ``split`` at the chosen layers.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        An encoder; it is put in eval mode for the call and restored afterwards.
    tokenizer : fast tokenizer
    split : harness.data.base.Split
    kind : {"token", "pair", "sentence"}
    layers : list of int, optional
        Hidden-state indices (0 = embedding output); default all.
    batch_size : int
        Sentences per forward pass (sorted by length).
    max_length : int, optional
        Subword limit per window; default the model's position limit.
    out : dict, optional
        ``{layer: array}`` to write into (e.g. store memmaps of shape
        ``(n_examples, dim)``); allocated in memory when omitted.
    dtype : numpy dtype
        Storage dtype (float32 default; float16 halves storage).
    precision : {"fp32", "bf16"}
        Forward precision; bf16 autocast on CUDA only (see :func:`autocast`).

    Returns
    -------
    dict
        ``{layer: array of shape (n_examples, dim)}`` and the key ``"_stats"`` with the
        number of windows, tokens and seconds.
    """
    n_layers = model.config.num_hidden_layers
    layers = resolve_layers(layers, n_layers)
    max_length = max_length or model.config.max_position_embeddings
    device = next(model.parameters()).device
    precision_context = autocast(device, precision)
    dim = output_dim(model.config.hidden_size, kind)
    n_examples = len(split.examples)
    if out is None:
        out = {layer: np.empty((n_examples, dim), dtype=dtype) for layer in layers}
    encoded = encoding.encode_sentences(tokenizer, split.sentences, max_length)
    by_sentence = pooling.group_examples(split)
    layer_index = torch.as_tensor(layers, device=device)
    was_training = model.training
    model.eval()
    started, n_tokens = time.perf_counter(), 0
    try:
        batches = encoding.length_batches(encoded, batch_size)
        for sentence_ids in tqdm(batches, desc=desc, unit="batch", disable=not progress,
                                 leave=False):
            rows, gather = pooling.example_index(split, sentence_ids,
                                                 _offsets(encoded, sentence_ids), kind,
                                                 by_sentence)
            if len(rows) == 0:
                continue
            with precision_context:
                vectors = forward_examples(model, encoded, sentence_ids, gather, kind,
                                           layer_index, tokenizer.pad_token_id or 0)
            n_tokens += sum(len(w) for s in sentence_ids for w in encoded[s].windows)
            vectors = vectors.float().cpu().numpy()
            for j, layer in enumerate(layers):
                out[layer][rows] = vectors[j]
    finally:
        model.train(was_training)
    seconds = time.perf_counter() - started
    out["_stats"] = {"n_examples": n_examples, "n_sentences": len(split.sentences),
                     "n_windows": sum(len(e.windows) for e in encoded), "n_tokens": n_tokens,
                     "seconds": seconds}
    return out


def _offsets(encoded, sentence_ids):
    return np.concatenate([[0], np.cumsum([encoded[s].n_words for s in sentence_ids])])


def forward_examples(model, encoded, sentence_ids, gather, kind, layer_index, pad_id=0):
    """One forward pass over a batch of sentences -> (n_layers_selected, n_examples, dim).

    Differentiable when called with gradients enabled (fine-tuning uses it with the last
    layer only).
    """
    device = layer_index.device
    input_ids, mask, token_word, window_sentence, offsets = encoding.collate(
        encoded, sentence_ids, pad_id)
    output = model(input_ids=torch.as_tensor(input_ids, device=device),
                   attention_mask=torch.as_tensor(mask, device=device),
                   output_hidden_states=True)
    # Stack only the selected layers: fine-tuning needs one, and stacking all of them
    # would copy every layer through autograd.
    hidden = torch.stack([output.hidden_states[i] for i in layer_index.tolist()])
    if kind == "sentence":
        cls = hidden[:, torch.as_tensor(pooling.first_window_rows(window_sentence),
                                        device=device), 0, :]
        words = None
    else:
        cls = None
        words = pooling.word_vectors(hidden, torch.as_tensor(token_word, device=device),
                                     int(offsets[-1]))
    return pooling.example_vectors(words, cls, torch.as_tensor(gather, device=device), kind)
