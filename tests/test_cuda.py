"""The CUDA paths: bf16 autocast for extraction and fine-tuning, the probe on the GPU.

Skipped on machines without CUDA (CI); run on a GPU machine with
``pytest tests/test_cuda.py``. ``benchmarks/device_check.sh`` runs them there.
"""

import numpy as np
import pytest
import torch

from harness.data.base import Example, Split
from harness.extract import extract_split
from harness.finetune import FinetuneConfig, finetune
from harness.store import RunStore

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

SENTENCES = (("The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "."),
             ("Where", "is", "the", "Eiffel", "Tower", "?"))
SPLIT = Split(SENTENCES, tuple(Example(s, (i,), "X") for s, sent in enumerate(SENTENCES)
                               for i in range(len(sent))))


@pytest.fixture(scope="module")
def minilm_cuda():
    from harness.models import load_model

    return load_model("minilm-l6", device="cuda")


def test_bf16_extraction_close_to_fp32(minilm_cuda):
    m = minilm_cuda
    fp32 = extract_split(m.model, m.tokenizer, SPLIT, "token", progress=False)
    bf16 = extract_split(m.model, m.tokenizer, SPLIT, "token", precision="bf16", progress=False)
    layers = [k for k in fp32 if k != "_stats"]
    assert layers == list(range(7))
    for layer in layers:
        a, b = fp32[layer], bf16[layer]
        assert a.dtype == b.dtype == np.float32
        cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        assert cos.min() > 0.98, (layer, cos.min())


def test_fp32_extraction_on_cuda_matches_cpu(minilm_cuda):
    from harness.models import load_model

    cpu = load_model("minilm-l6", device="cpu")
    a = extract_split(minilm_cuda.model, minilm_cuda.tokenizer, SPLIT, "token", layers=[-1],
                      progress=False)[6]
    b = extract_split(cpu.model, cpu.tokenizer, SPLIT, "token", layers=[-1], progress=False)[6]
    np.testing.assert_allclose(a, b, atol=2e-3, rtol=1e-3)  # TF32/cuBLAS vs CPU rounding


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_finetune_on_cuda(tmp_path, precision):
    # A real run on real PUD sentences: snapshots written, training loss falls, the head
    # learns, weights stay float32 under bf16 autocast.
    run = finetune(_smoke_config(precision), store=RunStore(tmp_path), device="cuda",
                   progress=False)
    _check_smoke_run(run)


def _smoke_config(precision):
    return FinetuneConfig(task="pos", batch_size=8, epochs=4, snapshot_every=5,
                          snapshot_layers=(0, 6), precision=precision,
                          data_options={"max_train_sentences": 40, "max_test_sentences": 10})


def _check_smoke_run(run):
    losses = [h["train_loss"] for h in run.history if h["train_loss"] is not None]
    assert len(losses) == 4 and sorted(run.snapshots, key=int)[0] in (0, "0")
    assert losses[-1] < 0.7 * losses[0], losses
    assert run.history[-1]["test_head_accuracy"] > 0.5, run.history


def test_torch_probe_on_cuda_matches_cpu_accuracy():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from harness.probes import probe_grid_search

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.3, random_state=0)
    grid = {"hidden_sizes": [(64, 64)], "alpha": [1e-4], "max_iter": 200}
    res = {d: probe_grid_search(Xtr, ytr, Xte, yte, grid=grid, backend="torch", device=d,
                                progress=False) for d in ("cpu", "cuda")}
    assert abs(res["cpu"].accuracy_mean - res["cuda"].accuracy_mean) < 0.01, res
