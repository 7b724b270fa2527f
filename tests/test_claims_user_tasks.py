"""Claims on a task file's task (docs/own-task.md): which cells are collected, and the
tier's caps and cross-task entries for it. Nothing here fine-tunes."""

import subprocess
import sys
from pathlib import Path

import pytest

from harness.data.taskfile import TASK_FILES_ENV
from harness.tiers import TINY_DEFAULT_CAPS, get_tier

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLES = PROJECT / "examples" / "tasks"


@pytest.fixture(autouse=True)
def no_registered_files(monkeypatch):
    monkeypatch.setenv(TASK_FILES_ENV, "")


def _collected(task_file):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "claims", "-m", "tiny", "--collect-only", "-q",
         "-p", "no:cacheprovider", "--tasks", str(task_file)],
        cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_a_task_file_gets_the_one_task_claims_and_the_not_applicable_ones():
    ids = _collected(EXAMPLES / "ewt-xpos.yaml")
    claims = {line.split("::")[0].rsplit("/", 1)[-1] for line in ids}
    # F1, F2, F3, F5, F7, F8, X1 with the paper's rules; F4, F6, X2 from test_user_tasks.
    assert {"test_f1_accuracy.py", "test_f2_train_test_divergence.py",
            "test_f3_simplification.py", "test_f5_labels_pushed_apart.py",
            "test_f7_layer_similarity.py", "test_f8_centroid_moves.py",
            "test_x1_top_layers_change_most.py", "test_user_tasks.py"} <= claims
    assert all("ewt-xpos" in line or "[tiny]" in line for line in ids)  # named, not a path
    assert "claims/test_f5_labels_pushed_apart.py::test_f5_min_distance_grows[tiny-minilm-l6-ewt-xpos-L6]" in ids
    user = [line.split("::")[1] for line in ids if "test_user_tasks" in line]
    assert user == ["test_f4_on_user_task[tiny-minilm-l6-ewt-xpos]",
                    "test_f6_on_user_task[tiny-minilm-l6-ewt-xpos]",
                    "test_x2_on_user_task[tiny-minilm-l6-ewt-xpos]"]


def test_declared_partners_get_f6_cells():
    ids = _collected(EXAMPLES / "ewt-xpos-partners.yaml")
    f6 = [line.split("::")[1] for line in ids if "test_f6_on_user_task" in line]
    assert f6 == ["test_f6_on_user_task[tiny-minilm-l6-ewt-xpos-pos-ewt]",
                  "test_f6_on_user_task[tiny-minilm-l6-ewt-xpos-dep-ewt]"]


def test_the_tier_caps_a_task_file_by_kind_and_plans_its_partners():
    tier = get_tier("tiny").with_selection(tasks=[str(EXAMPLES / "ewt-xpos-partners.yaml")])
    assert tier.tasks == ("ewt-xpos",)
    assert tier.cross_task["ewt-xpos"] == ("ewt-xpos", "pos-ewt", "dep-ewt")
    for task in ("ewt-xpos", "pos-ewt", "dep-ewt"):
        assert tier.data_options[task] == TINY_DEFAULT_CAPS["token" if task != "dep-ewt" else "pair"]
    assert tier.finetune_config("minilm-l6", "ewt-xpos").data_options == TINY_DEFAULT_CAPS["token"]
    # The paper's tasks keep their caps; the paper tier keeps the whole files.
    assert get_tier("tiny").task_data_options("pos") == {"max_train_sentences": 200}
    assert get_tier("paper").with_selection(tasks=["ewt-xpos"]).data_options == {}


def test_finetune_then_probe_of_a_task_file_use_the_same_run():
    # `finetune --task FILE` then `probe --task FILE` (and verify) train one run, keyed
    # by the task's name, not by the path it was given as.
    from harness.cli import build_parser
    from harness.commands import finetune as finetune_cmd
    from harness.commands import probe as probe_cmd

    path = str(EXAMPLES / "ewt-xpos.yaml")
    parse = build_parser().parse_args
    tuned = finetune_cmd.config_from_args(parse(["finetune", "--task", path]))
    assert tuned.task == "ewt-xpos" and tuned.data_options == TINY_DEFAULT_CAPS["token"]
    probed_tier = probe_cmd.tier_from_args(parse(["probe", "--task", path]))
    assert probed_tier.tasks == ("ewt-xpos",)
    assert probed_tier.finetune_config(probed_tier.models[0], "ewt-xpos") == tuned
    verified = get_tier("tiny").with_selection(tasks=[path])
    assert verified.finetune_config("minilm-l6", "ewt-xpos") == tuned
