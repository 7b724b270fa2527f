"""Fine-tuning: heads learn, snapshot schedule and content, resume after a kill."""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from harness.data.base import Example, Split
from harness.encoding import encode_sentences
from harness.extract import forward_examples
from harness.finetune import FinetuneConfig, TaskHead, finetune, load_finetuned
from harness.pooling import example_index, group_examples
from harness.exceptions import StoreError
from harness.store import RunStore

SMALL = {"max_train_sentences": 12, "max_test_sentences": 6}


def _head_loss_falls(minilm, kind, split, n_labels):
    """Train a head plus encoder on one repeated batch; the loss must fall."""
    model = minilm.model
    state = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(0)
    head = TaskHead(minilm.hidden_size, n_labels, kind, 0.0)
    opt = torch.optim.AdamW(list(model.parameters()) + list(head.parameters()), lr=1e-4)
    encoded = encode_sentences(minilm.tokenizer, split.sentences)
    batch = list(range(len(split.sentences)))
    offsets = np.concatenate([[0], np.cumsum([e.n_words for e in encoded])])
    rows, gather = example_index(split, batch, offsets, kind, group_examples(split))
    labels = sorted(set(split.labels))
    target = torch.as_tensor([labels.index(split.examples[r].label) for r in rows])
    losses = []
    model.train()
    try:
        for _ in range(6):
            vec = forward_examples(model, encoded, batch, gather, kind, torch.as_tensor([6]))[0]
            loss = torch.nn.functional.cross_entropy(head(vec), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    finally:
        model.load_state_dict(state)
        model.eval()
    assert losses[-1] < 0.5 * losses[0], losses


SENTS = (("The", "cat", "sat", "on", "the", "mat"), ("Where", "is", "Paris", "?"))


def test_token_head_learns(minilm):
    ex = tuple(Example(s, (i,), lab) for s, tags in ((0, "DNVADN"), (1, "AVNP"))
               for i, lab in enumerate(tags))
    _head_loss_falls(minilm, "token", Split(SENTS, ex), 5)


def test_pair_head_learns(minilm):
    ex = (Example(0, (2, 1), "nsubj"), Example(0, (1, 0), "det"), Example(0, (5, 4), "det"),
          Example(1, (1, 0), "advmod"), Example(1, (1, 2), "nsubj"))
    _head_loss_falls(minilm, "pair", Split(SENTS, ex), 3)


def test_sentence_head_learns(minilm):
    _head_loss_falls(minilm, "sentence", Split(SENTS, (Example(0, (), "DESC"),
                                                       Example(1, (), "LOC"))), 2)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("store"))
    config = FinetuneConfig(task="pos", batch_size=4, epochs=2, snapshot_every=2,
                            snapshot_layers=(0, 3, 6), data_options=SMALL)
    return finetune(config, store=store, progress=False), store


def test_snapshot_schedule_and_content(small_run):
    run, store = small_run
    assert run.manifest["meta"]["n_updates"] == 6  # 12 sentences / 4 per batch x 2 epochs
    assert sorted(run.snapshots) == [0, 2, 4, 6]
    assert [h["update"] for h in run.history] == [0, 2, 4, 6]
    first, last = store.open(run.snapshots[0]["train"]), store.open(run.snapshots[6]["train"])
    assert first.array_names() == ["labels", "layer0", "layer3", "layer6"]
    assert first.array("layer6").shape == last.array("layer6").shape
    assert first.array("layer6").shape[1] == 384
    # update 0 is the original model; the embedding layer moves less than the top layer
    move = {layer: np.linalg.norm(np.asarray(last.array(f"layer{layer}"))
                                  - np.asarray(first.array(f"layer{layer}")))
            for layer in (0, 6)}
    assert 0 < move[0] < move[6]
    assert run.history[-1]["test_head_accuracy"] > run.history[0]["test_head_accuracy"]


def test_cross_task_representations(small_run):
    from harness.data import load_task
    from harness.representations import get_representations

    run, store = small_run
    tuned = load_finetuned(run)
    fxn = load_task("ps-fxn", **SMALL)
    art = get_representations(fxn, tuned, "test", layers=[-1], data_options=SMALL, store=store,
                              progress=False)
    assert art.array("layer6").shape == (len(fxn.test), 384)
    assert art.config["model_fingerprint"] == f"finetune:{run.key}"


KILLER = r"""
import os, signal, sys
from harness.finetune import FinetuneConfig, finetune
from harness.exceptions import StoreError
from harness.store import RunStore
config = FinetuneConfig(task="pos", batch_size=4, epochs=2, snapshot_every=2,
                        snapshot_layers=(6,), data_options={"max_train_sentences": 12,
                                                            "max_test_sentences": 6})
def die(update):
    if update == 3:
        os.kill(os.getpid(), signal.SIGKILL)
finetune(config, store=RunStore(sys.argv[1]), progress=False, on_update=die)
"""


def test_resume_after_kill_equals_uninterrupted(tmp_path):
    killed = subprocess.run([sys.executable, "-c", KILLER, str(tmp_path / "a")], timeout=600)
    assert killed.returncode == -signal.SIGKILL
    config = FinetuneConfig(task="pos", batch_size=4, epochs=2, snapshot_every=2,
                            snapshot_layers=(6,), data_options=SMALL)
    assert list((tmp_path / "a" / "runs").glob("*/checkpoint.pt"))
    resumed = finetune(config, store=RunStore(tmp_path / "a"), progress=False)
    fresh = finetune(config, store=RunStore(tmp_path / "b"), progress=False)
    assert resumed.key == fresh.key
    assert resumed.history == fresh.history
    for update, splits in fresh.snapshots.items():
        for split, key in splits.items():
            a = RunStore(tmp_path / "a").open(resumed.snapshots[update][split]).array("layer6")
            b = RunStore(tmp_path / "b").open(key).array("layer6")
            np.testing.assert_array_equal(a, b)
    wa = torch.load(resumed.model_dir / "head.pt")["state_dict"]["linear.weight"]
    wb = torch.load(fresh.model_dir / "head.pt")["state_dict"]["linear.weight"]
    assert torch.equal(wa, wb)
    assert not (tmp_path / "a" / "runs" / resumed.key).exists()


def test_config_validation():
    with pytest.raises(ValueError, match="snapshot_dtype"):
        FinetuneConfig(snapshot_dtype="int8").validate()


@pytest.mark.parametrize("change, message", [
    ({"epochs": 0}, "'epochs' parameter of FinetuneConfig must be an int >= 1 or None. Got 0"),
    ({"epochs": -1}, "'epochs' parameter .* Got -1"),
    ({"max_updates": -3}, "'max_updates' parameter .* Got -3"),
    ({"batch_size": 0}, "'batch_size' parameter .* >= 1. Got 0"),
    ({"snapshot_every": 0}, "'snapshot_every' parameter .* Got 0"),
    ({"n_snapshots": 0}, "'n_snapshots'"),
    ({"checkpoint_every": 0}, "'checkpoint_every'"),
    ({"seed": -1}, "'seed' parameter .* in \\[0, 4294967295\\]"),
    ({"learning_rate": 0.0}, "'learning_rate' parameter .* > 0"),
    ({"learning_rate": float("nan")}, "'learning_rate'"),
    ({"warmup_fraction": 1.0}, "'warmup_fraction' parameter .* in \\[0, 1\\)"),
    ({"dropout": 1.0}, "'dropout'"),
    ({"weight_decay": -0.1}, "'weight_decay'"),
    ({"max_grad_norm": -1.0}, "'max_grad_norm'"),
    ({"max_length": 2}, "'max_length' parameter .* >= 3"),
    ({"batch_size": True}, "'batch_size'"),
    ({"snapshot_splits": ()}, "'snapshot_splits'"),
    ({"snapshot_splits": ("train", "dev")}, "'snapshot_splits'"),
    ({"snapshot_splits": ("train", "train")}, "'snapshot_splits'"),
    ({"intermediate_splits": ("test",), "snapshot_splits": ("train",)}, "'intermediate_splits'"),
    ({"snapshot_layers": ()}, "'snapshot_layers'"),
    ({"snapshot_layers": (1.5,)}, "'snapshot_layers'"),
    ({"precision": "fp16"}, "'precision'"),
    ({"task": "poss"}, "Unknown task 'poss'.*Did you mean: pos"),
    ({"model": "minilm-l7"}, "Unknown model 'minilm-l7'.*Did you mean: minilm-l6"),
    ({"data_options": {"max_train_sentences": 0}}, "'max_train_sentences'"),
    ({"data_options": {"eval_split": "dev"}}, "option\\(s\\) \\['eval_split'\\]"),
])
def test_every_bad_setting_is_refused(change, message):
    with pytest.raises((ValueError, KeyError), match=message):
        FinetuneConfig(**change).validate()


def test_settings_that_depend_on_the_model_are_checked_against_its_config():
    config = {"num_hidden_layers": 6, "max_position_embeddings": 512}
    FinetuneConfig(snapshot_layers=(0, -1), max_length=512).check_model(config)
    with pytest.raises(ValueError, match="layer 7 is out of range"):
        FinetuneConfig(snapshot_layers=(7,)).check_model(config)
    with pytest.raises(ValueError, match="'max_length' .* at most 512"):
        FinetuneConfig(max_length=513).check_model(config)


def test_bad_settings_fail_before_anything_is_loaded(tmp_path, monkeypatch):
    import harness.data
    import harness.models

    def must_not_load(*args, **kwargs):
        raise AssertionError("loaded before the configuration was checked")

    monkeypatch.setattr(harness.models, "load_model", must_not_load)
    monkeypatch.setattr(harness.data, "load_task", must_not_load)
    with pytest.raises(ValueError, match="'epochs'"):
        finetune(FinetuneConfig(epochs=0), store=RunStore(tmp_path), progress=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        finetune(FinetuneConfig(), store=RunStore(tmp_path / "file"), progress=False)
    with pytest.raises(ValueError, match="layer 9 is out of range"):
        finetune(FinetuneConfig(snapshot_layers=(9,)), store=RunStore(tmp_path), progress=False)
    with pytest.raises(ValueError, match="needs a CUDA device"):
        finetune(FinetuneConfig(precision="bf16"), store=RunStore(tmp_path), device="cpu",
                 progress=False)


def test_a_run_with_a_broken_snapshot_is_trained_again(tmp_path):
    from harness.exceptions import HarnessWarning

    config = FinetuneConfig(task="pos", batch_size=4, epochs=1, snapshot_every=1,
                            snapshot_layers=(6,), snapshot_splits=("train",),
                            data_options={"max_train_sentences": 8, "max_test_sentences": 4})
    store = RunStore(tmp_path)
    first = finetune(config, store=store, progress=False)
    before = {u: np.array(store.open(s["train"]).array("layer6")) for u, s in first.snapshots.items()}
    # one snapshot truncated, one deleted: both must be noticed on the next lookup
    truncated = store.open(first.snapshots[1]["train"]).path / "layer6.npy"
    truncated.write_bytes(truncated.read_bytes()[:-16])
    store.remove(first.snapshots[2]["train"])
    with pytest.warns(HarnessWarning, match="corrupt or missing.*training the run again"):
        again = finetune(config, store=store, progress=False)
    assert again.key == first.key and again.history == first.history
    for update, splits in again.snapshots.items():
        assert store.verify(splits["train"]) == []
        np.testing.assert_array_equal(store.open(splits["train"]).array("layer6"), before[update])
    assert store.verify(again.key) == []


def test_bf16_refused_on_cpu(tmp_path):
    config = FinetuneConfig(task="pos", precision="bf16", data_options=SMALL)
    with pytest.raises(ValueError, match="needs a CUDA device"):
        finetune(config, store=RunStore(tmp_path), device="cpu", progress=False)


# ---- per-snapshot schedule -----------------------------------------------------------------
def _plan(total, per_epoch, **options):
    from harness.finetune import snapshot_plan
    from harness.tiers import PAPER_SCHEDULE

    schedule = {k: v for k, v in PAPER_SCHEDULE.items() if k != "checkpoint_every"}
    config = FinetuneConfig(intermediate_splits=("train",), **{**schedule, **options})
    return snapshot_plan(config, total, per_epoch)


def test_paper_schedule_keeps_the_last_layer_every_5_and_all_layers_every_50():
    plan = _plan(250, 25)  # full PUD: 25 updates per epoch, 10 epochs
    assert sorted(plan) == list(range(0, 251, 5))
    full = [u for u, spec in plan.items() if spec.layers is None]
    assert full == [0, 5, 10, 15, 20, 50, 100, 150, 200, 250]
    thin = plan[30]
    assert thin.layers == (-1,) and thin.splits == ("train",) and thin.dtype == "float16"
    for end in (0, 250):
        assert plan[end].splits == ("train", "test") and plan[end].dtype == "float32"
    assert plan[50].splits == ("train",) and plan[50].dtype == "float16"


def test_trec_keeps_the_two_ends_only_in_the_paper_tier():
    from harness.finetune import snapshot_plan
    from harness.tiers import get_tier

    config = get_tier("paper").finetune_config("minilm-l6", "trec-50")
    assert config.intermediate_splits == ()
    plan = snapshot_plan(config, 1710, 171)
    assert sorted(plan) == [0, 1710]
    assert all(spec.layers is None and spec.splits == ("train", "test") for spec in plan.values())
    assert get_tier("paper").finetune_config("minilm-l6", "pos").intermediate_splits == ("train",)


def test_all_layers_every_epoch_takes_the_first_snapshot_past_each_epoch():
    # 86 updates per epoch is not a multiple of 5: the next snapshot is full.
    plan = _plan(860, 86, all_layers_every="epoch")
    full = [u for u, spec in plan.items() if spec.layers is None and u > 20]
    assert full == [90, 175, 260, 345, 430, 520, 605, 690, 775, 860]
    # A run cut short still ends on a full float32 snapshot of both splits.
    short = _plan(33, 25, all_layers_every="epoch")
    assert sorted(short) == [0, 5, 10, 15, 20, 25, 30, 33]
    assert [u for u, spec in short.items() if spec.layers is None] == [0, 5, 10, 15, 20, 25, 33]
    assert short[33].layers is None and short[33].splits == ("train", "test")


def test_without_the_rule_every_snapshot_holds_everything():
    from harness.finetune import snapshot_plan

    config = FinetuneConfig(snapshot_every=2, snapshot_layers=(0, 6))
    plan = snapshot_plan(config, 5, 3)
    assert sorted(plan) == [0, 2, 4, 5]
    assert {(s.layers, s.splits, s.dtype) for s in plan.values()} == {
        ((0, 6), ("train", "test"), "float32")}
    # The rule's fields enter the store key only when used (older keys keep their form).
    assert "all_layers_every" not in config.to_dict()
    assert FinetuneConfig(all_layers_every="epoch").to_dict()["all_layers_every"] == "epoch"
    with pytest.raises(ValueError, match="all_layers_every"):
        FinetuneConfig(all_layers_every=0).validate()
    with pytest.raises(ValueError, match="intermediate_dtype"):
        FinetuneConfig(intermediate_dtype="bfloat16").validate()


def test_sparse_schedule_run_and_workspace_updates_by_layer(tmp_path):
    """A real run with the thin/full rule: the stored arrays follow the plan, and the
    workspace offers each analysis only the snapshots holding its layer and split."""
    from dataclasses import replace

    from harness.analyses import Workspace
    from harness.tiers import get_tier

    options = dict(batch_size=4, epochs=2, intermediate_layers=(-1,), all_layers_every=3,
                   intermediate_dtype="float16")
    tier = replace(get_tier("tiny"), tasks=("pos",), snapshot_every=1, n_snapshots=None,
                   data_options={"pos": SMALL}, finetune_options=options)
    store = RunStore(tmp_path)
    ws = Workspace(tier, store=store, progress=False)
    run = ws.run("minilm-l6", "pos")
    assert sorted(run.snapshots) == [0, 1, 2, 3, 4, 5, 6]
    assert ws.updates("minilm-l6", "pos") == [0, 1, 2, 3, 4, 5, 6]
    assert ws.updates("minilm-l6", "pos", layer=-1, split="train") == [0, 1, 2, 3, 4, 5, 6]
    assert ws.updates("minilm-l6", "pos", layer=6) == [0, 1, 2, 3, 4, 5, 6]
    assert ws.updates("minilm-l6", "pos", layer=2, split="train") == [0, 3, 6]
    assert ws.updates("minilm-l6", "pos", split="test") == [0, 6]
    thin = store.open(run.snapshots[4]["train"])
    assert thin.array_names() == ["labels", "layer6"] and thin.array("layer6").dtype == np.float16
    full = store.open(run.snapshots[3]["train"])
    assert len(full.array_names()) == 8 and full.array("layer2").dtype == np.float16
    end = store.open(run.snapshots[6]["test"])
    assert end.array("layer0").dtype == np.float32
    # Negative layers count from the model's top, whatever the snapshot holds.
    top = ws.vectors("minilm-l6", "pos", 4, "train", -1)
    assert top.source.endswith("/layer6") and top.X.dtype == np.float64
    with pytest.raises(KeyError, match="layer2"):
        ws.vectors("minilm-l6", "pos", 4, "train", 2)
    assert run.history[-1]["test_head_accuracy"] is not None
    assert [h["test_head_accuracy"] is None for h in run.history] == [False] + [True] * 5 + [False]
