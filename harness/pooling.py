"""From subword hidden states to the vectors the paper probes (differentiable, batched).

* word vector = mean of the word's subword vectors;
* token task (POS, PS): the target word's vector;
* pair task (DEP): concat(head word vector, modifier word vector), in that order;
* sentence task (TREC): the ``[CLS]`` vector (of the sentence's first window).
"""

import numpy as np
import torch


def word_vectors(hidden, token_word, n_words):
    """Mean of each word's subword vectors.

    Parameters
    ----------
    hidden : torch.Tensor of shape (..., n_windows, n_tokens, dim)
        Leading dimensions (e.g. layers) are kept.
    token_word : torch.Tensor of int64, shape (n_windows, n_tokens)
        Word index of each token, -1 for special and padding tokens.
    n_words : int

    Returns
    -------
    torch.Tensor of shape (..., n_words, dim)
    """
    lead = hidden.shape[:-3]
    dim = hidden.shape[-1]
    flat_words = token_word.reshape(-1)
    keep = flat_words >= 0
    idx = flat_words[keep]
    tokens = hidden.reshape(*lead, -1, dim)[..., keep, :]
    sums = torch.zeros(*lead, n_words, dim, dtype=hidden.dtype, device=hidden.device)
    sums.index_add_(len(lead), idx, tokens)
    counts = torch.bincount(idx, minlength=n_words).clamp_min(1).to(hidden.dtype)
    return sums / counts.unsqueeze(-1)


def example_index(split, sentence_ids, word_offsets, kind, examples_by_sentence):
    """Where each example of the given sentences finds its vector(s) in a batch.

    Returns
    -------
    rows : np.ndarray of int64, shape (n_examples,)
        The examples' positions in the split (the rows to write).
    gather : np.ndarray of int64
        ``(n,)`` batch word indices (token), ``(n, 2)`` head/modifier indices (pair), or
        ``(n,)`` batch sentence positions (sentence).
    """
    rows, gather = [], []
    for k, s in enumerate(sentence_ids):
        for e in examples_by_sentence[s]:
            ex = split.examples[e]
            rows.append(e)
            if kind == "sentence":
                gather.append(k)
            else:
                gather.append([word_offsets[k] + p for p in ex.positions])
    rows = np.asarray(rows, dtype=np.int64)
    gather = np.asarray(gather, dtype=np.int64)
    if kind == "token":
        gather = gather.reshape(-1)
    elif kind == "pair":
        gather = gather.reshape(-1, 2)
    return rows, gather


def example_vectors(words, cls, gather, kind):
    """Select (token), concatenate (pair) or take ``[CLS]`` (sentence) vectors.

    ``words`` is ``(..., n_words, dim)``, ``cls`` is ``(..., n_sentences, dim)``.
    """
    if kind == "token":
        return words[..., gather, :]
    if kind == "pair":
        return torch.cat([words[..., gather[:, 0], :], words[..., gather[:, 1], :]], dim=-1)
    if kind == "sentence":
        return cls[..., gather, :]
    raise ValueError(f"kind must be one of 'token', 'pair', 'sentence'. Got {kind!r} instead.")


def first_window_rows(window_sentence):
    """Row of the first window of each sentence (where its ``[CLS]`` is read)."""
    window_sentence = np.asarray(window_sentence)
    _, first = np.unique(window_sentence, return_index=True)
    return first


def group_examples(split):
    """Example indices of each sentence, in example order."""
    by_sentence = [[] for _ in split.sentences]
    for e, ex in enumerate(split.examples):
        by_sentence[ex.sentence].append(e)
    return by_sentence
