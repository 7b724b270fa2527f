"""Shared fixtures: the data directory and a session-wide offline default model."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def minilm():
    from harness.models import load_model

    return load_model("minilm-l6", device="cpu")


@pytest.fixture(scope="session")
def bert_tiny_shaped(tmp_path_factory, minilm):
    """A model folder of BERT-tiny's shape (2 layers, hidden 128, 2 heads), random weights,
    uncased vocab: a user's small model, fast enough for end-to-end runs in CI."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("bert-tiny-shaped")
    config = BertConfig(vocab_size=30522, hidden_size=128, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=512)
    BertModel(config).save_pretrained(folder)
    minilm.tokenizer.save_pretrained(folder)
    return str(folder)
