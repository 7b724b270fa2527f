"""Options that would have no effect are refused, naming the flag (issue 22); checked
before any model or data is loaded."""

import pytest

import harness.models
from harness.cli import main


@pytest.fixture(autouse=True)
def no_loading(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    monkeypatch.setattr(harness.models, "load_model",
                        lambda *a, **k: pytest.fail("loaded before the options were checked"))


def one_error(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
    err = [x for x in capsys.readouterr().err.splitlines() if not x.startswith("INFO")]
    assert code == 2 and len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("argv, message", [
    (["--all-layers-every", "50"], "--all-layers-every applies only with --intermediate-layers"),
    (["--all-layers-until", "10"], "--all-layers-until applies only with --intermediate-layers"),
    (["--all-layers-every", "month"], "argument --all-layers-every: must be an int >= 1 or "
                                      "'epoch'; got 'month'"),
    (["--all-layers-every", "0"], "argument --all-layers-every: must be an int >= 1"),
    (["--model", ""], "The model name is empty"),
])
def test_finetune_refuses(capsys, argv, message):
    assert message in one_error(capsys, ["finetune", *argv])


def test_the_paper_tier_has_intermediate_layers_so_the_option_counts(capsys):
    from harness.commands.finetune import resolve_config, _check_no_idle_options
    from harness.cli import build_parser

    args = build_parser().parse_args(["finetune", "--tier", "paper", "--all-layers-every", "7"])
    config, overrides = resolve_config(args)
    _check_no_idle_options(config, overrides)  # no error: the tier thins its snapshots
    assert config.all_layers_every == 7


@pytest.mark.parametrize("argv", [["extract", "--model", ""], ["probe", "--model", ""],
                                  ["verify", "--models", ""]])
def test_an_empty_model_name_is_refused_everywhere(capsys, monkeypatch, argv):
    monkeypatch.setattr("harness.data.check.check_data", lambda *a, **k: None)
    assert "The model name is empty" in one_error(capsys, argv)
