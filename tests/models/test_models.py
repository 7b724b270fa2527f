"""Model registry and loading: offline default, the hub-cache path, clear failures."""

import json
import os
import subprocess
import sys

import pytest

from harness.exceptions import ModelNotAvailableError, UnknownNameError
from harness.models import load_model, resolve_model
from harness.models.registry import PAPER_MODELS

TINY_ID = "google/bert_uncased_L-2_H-128_A-2"


def test_registry_names_resolve_to_paper_hub_ids():
    assert resolve_model("bert-tiny").source == f"hub:{TINY_ID}"
    assert resolve_model("bert-base").epochs == 3
    assert all(resolve_model(m).epochs == 10 for m in PAPER_MODELS if m != "bert-base")
    assert resolve_model("minilm-l6").scheme == "package"
    assert resolve_model("someorg/some-model").source == "hub:someorg/some-model"


def test_unknown_name_suggests():
    with pytest.raises(UnknownNameError, match="Did you mean: minilm-l6"):
        resolve_model("minilm-16")


def test_offline_default_loads(minilm):
    assert minilm.n_layers == 6 and minilm.hidden_size == 384
    assert minilm.tokenizer.is_fast
    assert len(minilm.fingerprint) == 16


def make_hub_cache(cache, repo_id, tokenizer_source):
    """A Hugging Face hub cache holding a small random BERT under ``repo_id``."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=37)
    BertModel(config).save_pretrained(snapshot)
    AutoTokenizer.from_pretrained(tokenizer_source).save_pretrained(snapshot)
    return snapshot


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory, minilm):
    cache = tmp_path_factory.mktemp("hf") / "hub"
    make_hub_cache(cache, TINY_ID, minilm.directory)
    return cache


def test_layer_count_of_a_hub_id_is_read_from_the_local_cache_only(hub_cache, monkeypatch):
    """`--models org/name` gets its per-layer cells from the cached config.json; an id
    that is not cached is unknown (None), never downloaded."""
    import socket

    import huggingface_hub.constants as hf_constants

    from harness.models.layers import n_layers

    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(hub_cache))

    def no_network(*args, **kwargs):
        raise AssertionError("n_layers opened a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    assert n_layers(TINY_ID) == 2
    assert n_layers("nobody/not-a-cached-model") is None


def test_paper_model_loads_from_local_hub_cache(hub_cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = load_model("bert-tiny", cache_dir=hub_cache, device="cpu")
    assert loaded.directory.parent.parent.name == "models--google--bert_uncased_L-2_H-128_A-2"
    assert loaded.n_layers == 2 and loaded.hidden_size == 32
    enc = loaded.tokenizer(["hello", "world"], is_split_into_words=True, return_tensors="pt")
    out = loaded.model(**enc, output_hidden_states=True)
    assert len(out.hidden_states) == 3


def test_paper_model_loads_through_hf_home_env(hub_cache):
    # The environment variable path, in a fresh process (huggingface_hub reads env at import).
    code = ("from harness.models import load_model; m = load_model('bert-tiny', device='cpu'); "
            "print(m.n_layers, m.hidden_size)")
    env = {**os.environ, "HF_HOME": str(hub_cache.parent), "HF_HUB_OFFLINE": "1"}
    env.pop("HF_HUB_CACHE", None)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["2", "32"]


def test_missing_hub_model_says_how_to_provide_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotAvailableError, match="HF_HOME") as err:
        load_model("bert-small", cache_dir=tmp_path)
    assert "google/bert_uncased_L-4_H-512_A-8" in str(err.value)


def test_local_directory_passes_through(hub_cache, tmp_path):
    snapshot = next((hub_cache / "models--google--bert_uncased_L-2_H-128_A-2" / "snapshots").iterdir())
    spec = resolve_model(str(snapshot))
    assert spec.scheme == "dir"
    assert load_model(str(snapshot), device="cpu").hidden_size == 32


def test_directory_without_weights_fails_clearly(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ModelNotAvailableError, match="has no weights"):
        load_model(str(tmp_path))


def test_half_precision_checkpoint_loads_as_float32(hub_cache, tmp_path):
    # transformers 5 would keep the checkpoint's dtype ("auto"); fine-tuning needs fp32.
    import torch
    from transformers import AutoModel

    snapshot = next((hub_cache / "models--google--bert_uncased_L-2_H-128_A-2" / "snapshots").iterdir())
    half = tmp_path / "bf16"
    AutoModel.from_pretrained(snapshot, dtype=torch.bfloat16).save_pretrained(half)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (snapshot / name).exists():
            (half / name).write_bytes((snapshot / name).read_bytes())
    assert AutoModel.from_pretrained(half).dtype == torch.bfloat16  # what "auto" does
    loaded = load_model(str(half), device="cpu")
    assert {p.dtype for p in loaded.model.parameters()} == {torch.float32}
