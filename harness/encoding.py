"""Turn a split's word-tokenised sentences into subword sequences with word alignment.

Shared by extraction and fine-tuning, so that both see exactly the same subwords.
A sentence longer than the model's limit is cut into consecutive windows of whole words
(each with its own ``[CLS]``/``[SEP]``), so no labelled word is ever dropped; the number
of windowed sentences is logged and recorded.
"""

import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncodedSentence:
    """Subword ids of one sentence, in one or more windows.

    Attributes
    ----------
    windows : list of np.ndarray of int64
        Subword ids of each window, special tokens included.
    word_index : list of np.ndarray of int64
        Per window, the sentence word index of each subword (-1 for special tokens).
    n_words : int
    """

    windows: list
    word_index: list
    n_words: int

    @property
    def n_tokens(self):
        return max(len(w) for w in self.windows)


def encode_sentences(tokenizer, sentences, max_length=512):
    """Encode word lists with a fast tokenizer; every word gets at least one subword.

    Words that a tokenizer maps to no subword at all (e.g. a lone control character) are
    replaced by the unknown token, so every labelled word keeps a vector.

    Returns
    -------
    list of EncodedSentence
    """
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    unk = tokenizer.unk_token
    body_limit = max_length - 2
    encoded, n_windowed = [], 0
    batch = tokenizer([list(s) for s in sentences], is_split_into_words=True,
                      add_special_tokens=False)
    for i, words in enumerate(sentences):
        ids = np.asarray(batch["input_ids"][i], dtype=np.int64)
        word_ids = batch.word_ids(i)
        word_index = np.asarray([-1 if w is None else w for w in word_ids], dtype=np.int64)
        if len(words) and len(np.unique(word_index[word_index >= 0])) != len(words):
            fixed = [w if tokenizer.tokenize(w) else unk for w in words]
            redo = tokenizer([fixed], is_split_into_words=True, add_special_tokens=False)
            ids = np.asarray(redo["input_ids"][0], dtype=np.int64)
            word_index = np.asarray([-1 if w is None else w for w in redo.word_ids(0)],
                                    dtype=np.int64)
        windows, indices = [], []
        start = 0
        while True:
            stop = start + body_limit
            if stop < len(ids):
                # Cut before the first subword of the word that would be split.
                while stop > start and word_index[stop] == word_index[stop - 1]:
                    stop -= 1
                if stop == start:
                    raise ValueError(f"sentence {i}: one word has more than {body_limit} subwords")
            chunk = slice(start, min(stop, len(ids)))
            windows.append(np.concatenate([[cls_id], ids[chunk], [sep_id]]))
            indices.append(np.concatenate([[-1], word_index[chunk], [-1]]))
            if stop >= len(ids):
                break
            start = stop
        n_windowed += len(windows) > 1
        encoded.append(EncodedSentence(windows, indices, len(words)))
    if n_windowed:
        logger.warning("%d sentence(s) exceed %d subwords and were split into windows of whole "
                       "words", n_windowed, max_length)
    return encoded


def length_batches(encoded, batch_size):
    """Sentence indices grouped into batches of similar length (longest first).

    Deterministic: ties keep the original order.
    """
    order = sorted(range(len(encoded)), key=lambda i: (-encoded[i].n_tokens, i))
    return [order[k:k + batch_size] for k in range(0, len(order), batch_size)]


def collate(encoded, sentence_ids, pad_id=0):
    """Pad the windows of the given sentences into one batch.

    Returns
    -------
    input_ids, attention_mask : np.ndarray of shape (n_windows, n_tokens)
    token_word : np.ndarray of shape (n_windows, n_tokens)
        Index of the word each token belongs to, over all words of the batch's sentences in
        order (sentence by sentence), or -1 for special and padding tokens.
    window_sentence : np.ndarray of shape (n_windows,)
        Position in ``sentence_ids`` of each window's sentence.
    word_offsets : np.ndarray of shape (len(sentence_ids) + 1,)
        Batch word index where each sentence's words start.
    """
    windows, words, owner = [], [], []
    offsets = [0]
    for k, s in enumerate(sentence_ids):
        enc = encoded[s]
        for ids, widx in zip(enc.windows, enc.word_index):
            windows.append(ids)
            words.append(np.where(widx >= 0, widx + offsets[-1], -1))
            owner.append(k)
        offsets.append(offsets[-1] + enc.n_words)
    width = max(len(w) for w in windows)
    input_ids = np.full((len(windows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(windows), width), dtype=np.int64)
    token_word = np.full((len(windows), width), -1, dtype=np.int64)
    for r, (ids, widx) in enumerate(zip(windows, words)):
        input_ids[r, :len(ids)] = ids
        mask[r, :len(ids)] = 1
        token_word[r, :len(ids)] = widx
    return input_ids, mask, token_word, np.asarray(owner), np.asarray(offsets)
