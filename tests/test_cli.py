"""The command line: every subcommand is documented, and the main job's extraction runs."""

import pytest

from harness.cli import build_parser, main
from harness.commands import COMMAND_MODULES


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for name in COMMAND_MODULES:
        assert name in text
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name, parser in sub.choices.items():
        assert parser.format_help(), name


def test_extract_prints_a_per_task_summary(tmp_path, capsys):
    code = main(["extract", "--tasks", "trec-50", "pos", "--max-train-sentences", "60",
                 "--max-test-sentences", "30", "--layers", "0", "-1", "--store", str(tmp_path)])
    assert code == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()
            if line.startswith(("trec-50", "pos "))]
    assert [r[:2] for r in rows] == [["trec-50", "train"], ["trec-50", "test"],
                                     ["pos", "train"], ["pos", "test"]]
    trec_train, pos_train = rows[0], rows[2]
    assert trec_train[2] == "60" and trec_train[4] == "2" and trec_train[5] == "384"
    assert int(pos_train[2]) > 60 and pos_train[3] != "0"


def test_finetune_options_give_the_paper_schedule():
    from harness.commands.finetune import config_from_args
    from harness.tiers import PAPER_SCHEDULE

    args = build_parser().parse_args(
        ["finetune", "--task", "pos", "--intermediate-layers", "-1", "--all-layers-every", "50",
         "--all-layers-until", "20", "--intermediate-dtype", "float16", "--checkpoint-every",
         "25", "--intermediate-splits", "train"])
    config = config_from_args(args)
    for name, value in PAPER_SCHEDULE.items():
        assert getattr(config, name) == value, name
    assert config.intermediate_splits == ("train",)
    ends_only = config_from_args(build_parser().parse_args(
        ["finetune", "--intermediate-splits", "--all-layers-every", "epoch"]))
    assert ends_only.intermediate_splits == () and ends_only.all_layers_every == "epoch"


def test_verify_offers_the_executors_and_the_paper_tier():
    args = build_parser().parse_args(["verify", "--tier", "paper", "--executor", "ray",
                                      "--address", "auto", "--seeds", "0", "1"])
    assert (args.tier, args.executor, args.address, args.seeds) == ("paper", "ray", "auto", [0, 1])
