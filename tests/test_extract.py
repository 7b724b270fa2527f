"""Extraction semantics: subword averaging, DEP concatenation order, [CLS], windows."""

import numpy as np
import pytest
import torch

from harness.data.base import Example, Split
from harness.encoding import encode_sentences
from harness.extract import extract_split, resolve_layers


def manual_states(loaded, words):
    """Hidden states of one unpadded sentence and the word id of each subword."""
    enc = loaded.tokenizer(list(words), is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        states = loaded.model(**enc, output_hidden_states=True).hidden_states
    word_ids = np.array([-1 if w is None else w for w in enc.word_ids()])
    return [s[0].numpy() for s in states], word_ids


SENTENCES = (("Tokenization", "is", "unbelievably", "hard"), ("Dogs", "bark"),
             ("A", "much", "longer", "sentence", "pads", "the", "others", "in", "its", "batch"))


def test_word_vector_is_mean_of_its_subwords(minilm):
    # "Tokenization" -> token ##ization; "unbelievably" -> several pieces: a real average.
    states, word_ids = manual_states(minilm, SENTENCES[0])
    assert (word_ids == 0).sum() >= 2 and (word_ids == 2).sum() >= 2
    split = Split(SENTENCES, tuple(Example(0, (i,), "X") for i in range(4)))
    out = extract_split(minilm.model, minilm.tokenizer, split, "token", progress=False)
    for layer in range(7):
        for i in range(4):
            expected = states[layer][word_ids == i].mean(axis=0)
            np.testing.assert_allclose(out[layer][i], expected, atol=2e-5, rtol=1e-4)
    # hand check of the averaging itself on the first word, embedding layer
    first_two = states[0][1:3]
    np.testing.assert_allclose(out[0][0], (first_two[0] + first_two[1]) / 2, atol=2e-5)


def test_pair_is_head_then_modifier(minilm):
    split = Split(SENTENCES, (Example(1, (1, 0), "nsubj"), Example(0, (3, 0), "x")))
    words = extract_split(minilm.model, minilm.tokenizer,
                          Split(SENTENCES, (Example(1, (0,), "a"), Example(1, (1,), "b"),
                                            Example(0, (0,), "c"), Example(0, (3,), "d"))),
                          "token", layers=[-1], progress=False)[6]
    pairs = extract_split(minilm.model, minilm.tokenizer, split, "pair", layers=[-1],
                          progress=False)[6]
    assert pairs.shape == (2, 768)
    np.testing.assert_allclose(pairs[0, :384], words[1], atol=1e-5)  # head "bark"
    np.testing.assert_allclose(pairs[0, 384:], words[0], atol=1e-5)  # modifier "Dogs"
    np.testing.assert_allclose(pairs[1, :384], words[3], atol=1e-5)
    np.testing.assert_allclose(pairs[1, 384:], words[2], atol=1e-5)


def test_sentence_task_reads_cls(minilm):
    split = Split(SENTENCES, (Example(2, (), "q"), Example(1, (), "p")))
    out = extract_split(minilm.model, minilm.tokenizer, split, "sentence", layers=[0, 6],
                        progress=False)
    for row, sentence in ((0, 2), (1, 1)):
        states, _ = manual_states(minilm, SENTENCES[sentence])
        np.testing.assert_allclose(out[6][row], states[6][0], atol=2e-5)
        np.testing.assert_allclose(out[0][row], states[0][0], atol=2e-5)


def test_long_sentences_are_windowed_not_truncated(minilm):
    words = tuple(f"word{i}" for i in range(40))  # each "wordN" is several subwords
    encoded = encode_sentences(minilm.tokenizer, [words], max_length=16)
    assert len(encoded[0].windows) > 2
    covered = np.concatenate([w[w >= 0] for w in encoded[0].word_index])
    assert sorted(set(covered)) == list(range(40))
    # a word is never split across windows
    for w in range(40):
        assert sum(w in set(idx) for idx in encoded[0].word_index) == 1
    split = Split((words,), tuple(Example(0, (i,), "X") for i in range(40)))
    out = extract_split(minilm.model, minilm.tokenizer, split, "token", layers=[6],
                        max_length=16, progress=False)
    assert np.isfinite(out[6]).all() and out["_stats"]["n_windows"] == len(encoded[0].windows)


def test_word_without_subwords_gets_unknown_token(minilm):
    words = ("a", "\u200b", "b")  # zero-width space: no subword at all
    encoded = encode_sentences(minilm.tokenizer, [words])
    assert sorted(set(encoded[0].word_index[0][encoded[0].word_index[0] >= 0])) == [0, 1, 2]


def test_batching_does_not_change_vectors(minilm):
    split = Split(SENTENCES, tuple(Example(s, (0,), "X") for s in range(3)))
    one = extract_split(minilm.model, minilm.tokenizer, split, "token", layers=[6], batch_size=1,
                        progress=False)[6]
    three = extract_split(minilm.model, minilm.tokenizer, split, "token", layers=[6],
                          batch_size=3, progress=False)[6]
    np.testing.assert_allclose(one, three, atol=2e-5)


def test_layer_selection():
    assert resolve_layers(None, 6) == list(range(7))
    assert resolve_layers([-1, 0], 6) == [0, 6]
    with pytest.raises(ValueError, match="out of range"):
        resolve_layers([7], 6)


def test_bf16_is_cuda_only(minilm):
    from harness.extract import autocast

    split = Split(SENTENCES, (Example(0, (0,), "X"),))
    with pytest.raises(ValueError, match="needs a CUDA device"):
        extract_split(minilm.model, minilm.tokenizer, split, "token", precision="bf16",
                      progress=False)
    with pytest.raises(ValueError, match="precision must be one of"):
        autocast("cpu", "fp16")
