"""A model folder that disagrees with itself, or is damaged, is one line before any work
(issue 22): exit 2 and the file named, never "internal error", never a run trained with
random layers or a 5-token vocabulary."""

import json
import shutil

import pytest

import harness.models
from harness.cli import main
from harness.exceptions import ModelFormatError
from harness.models import load_model, model_config


@pytest.fixture(scope="module")
def small_bert(tmp_path_factory, minilm):
    """A random 2-layer BERT (hidden 32) with minilm's tokenizer: a sound model folder."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("model") / "bert"
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=37)
    BertModel(config).save_pretrained(folder)
    minilm.tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def folder(small_bert, tmp_path):
    """A copy of the sound folder, to be damaged by the test."""
    return shutil.copytree(small_bert, tmp_path / "model")


def edit_config(folder, **changes):
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))


def finetune_error(capsys, monkeypatch, folder):
    """``harness finetune --model folder``: the one error line (the model must not load)."""
    monkeypatch.setattr(harness.models, "load_model",
                        lambda *a, **k: pytest.fail("loaded before the folder was checked"))
    assert main(["finetune", "--model", str(folder)]) == 2
    err = [x for x in capsys.readouterr().err.splitlines() if not x.startswith("INFO")]
    assert len(err) == 1 and err[0].startswith("harness finetune: error: "), err
    return err[0]


def test_the_sound_folder_loads(small_bert):
    assert model_config(str(small_bert))["num_hidden_layers"] == 2
    assert load_model(str(small_bert)).n_layers == 2


def _damage_layers_more(f):
    edit_config(f, num_hidden_layers=12)


def _damage_layers_fewer(f):
    edit_config(f, num_hidden_layers=1)


def _damage_hidden(f):
    edit_config(f, hidden_size=64, num_attention_heads=2)


def _damage_vocab(f):
    edit_config(f, vocab_size=100)


def _no_tokenizer(f):
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        (f / name).unlink(missing_ok=True)


def _truncated(f):
    weights = f / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1000])


def _random_bytes(f):
    (f / "model.safetensors").write_bytes(bytes(range(256)) * 40)


def _config_array(f):
    (f / "config.json").write_text("[1, 2, 3]")


@pytest.mark.parametrize("damage, message", [
    (_damage_layers_more, r"config.json: num_hidden_layers is 12, but model.safetensors holds "
                          r"weights for 2 layer\(s\)"),
    (_damage_layers_fewer, "num_hidden_layers is 1, but model.safetensors holds weights for 2"),
    (_damage_hidden, r"config.json: hidden_size is 64, but the word embeddings in "
                     r"model.safetensors have shape \[30522, 32\]"),
    (_damage_vocab, "vocab_size is 100, but the word embeddings"),
    (_no_tokenizer, "no tokenizer files"),
    (_truncated, r"model.safetensors: truncated \(\d+ bytes; its header lists \d+\)"),
    (_random_bytes, r"model.safetensors: not a safetensors file"),
    (_config_array, "config.json: expected a JSON object of settings; got a JSON list"),
    (lambda f: edit_config(f, num_hidden_layers="six"), "num_hidden_layers must be an integer >= 1; got 'six'"),
    (lambda f: edit_config(f, num_hidden_layers=0), "num_hidden_layers must be an integer >= 1; got 0"),
    (lambda f: edit_config(f, hidden_size=33), "hidden_size 33 is not a multiple of num_attention_heads 2"),
])
def test_a_damaged_folder_is_one_line_before_anything_loads(folder, capsys, monkeypatch,
                                                            damage, message):
    import re

    damage(folder)
    line = finetune_error(capsys, monkeypatch, folder)
    assert re.search(message, line), line
    assert "internal error" not in line


def test_weights_left_random_by_transformers_are_an_error(folder):
    # The header agrees with config.json, but one tensor of layer 1 is gone: transformers
    # would initialise it at random and say so only in its loading report.
    from safetensors.torch import load_file, save_file

    weights = load_file(folder / "model.safetensors")
    del weights["encoder.layer.1.output.dense.weight"]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ModelFormatError, match=r"1 weight\(s\) are missing from the weights "
                                               r"\(they would be random\) \(encoder.layer.1"):
        load_model(str(folder))


def test_unused_encoder_weights_are_an_error(folder):
    from safetensors.torch import load_file, save_file

    weights = load_file(folder / "model.safetensors")
    weights["encoder.extra.weight"] = weights["embeddings.LayerNorm.weight"].clone()
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ModelFormatError, match="are not used by the architecture"):
        load_model(str(folder))


def test_an_empty_model_name_is_refused(capsys, monkeypatch):
    line = finetune_error(capsys, monkeypatch, "")
    assert "The model name is empty" in line
