"""One configuration story on the command line (issue 15).

``finetune``, ``extract`` and ``probe`` take ``--tier`` and build the run the tier's
claims use, so the README's ``finetune`` then ``probe`` trains once; ``directprobe
--preset paper`` has the pipeline's settings and its distances; every option says what it
does; ``--pytest-args`` takes the rest of the line.
"""

import argparse
import json

import numpy as np
import pytest

from harness.analyses import Workspace
from harness.analyses.workspace import Vectors
from harness.analyses import snapshot_geometry as pipeline
from harness.cli import _split_remainder_equals, build_parser, main
from harness.commands import finetune as finetune_cmd
from harness.commands import probe as probe_cmd
from harness.store import RunStore
from harness.tiers import TIERS


def _parse(*argv):
    return build_parser().parse_args(list(argv))


def _all_parsers(parser, path=("harness",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _all_parsers(child, path + (name,))


def test_every_option_of_every_subcommand_has_a_help_line():
    missing = [f"{' '.join(path)} {action.option_strings or action.dest}"
               for path, parser in _all_parsers(build_parser())
               for action in parser._actions
               if not isinstance(action, argparse._SubParsersAction)
               and action.help != argparse.SUPPRESS and not (action.help or "").strip()]
    assert not missing, missing


@pytest.mark.parametrize("tier", list(TIERS))
def test_finetune_then_probe_use_the_same_run(tier):
    # The README's sequence: `finetune --task pos` then `probe --task pos` (same tier)
    # configure one run, so the store key (config + weights + data + code) is the same.
    tuned = finetune_cmd.config_from_args(_parse("finetune", "--tier", tier, "--task", "pos"))
    probe_args = _parse("probe", "--tier", tier, "--task", "pos")
    probed_tier = probe_cmd.tier_from_args(probe_args)
    probed = probed_tier.finetune_config(probed_tier.models[0], "pos")
    assert tuned == probed
    assert tuned.to_dict() == probed.to_dict()
    # ... and the run `harness verify` / the claims read for that tier (its first seed).
    assert tuned == TIERS[tier].finetune_config(TIERS[tier].models[0], "pos")


def test_finetune_defaults_to_the_tiny_tier_and_explicit_flags_override_it():
    args = _parse("finetune", "--learning-rate", "1e-4", "--max-train-sentences", "50",
                  "--snapshot-every", "10")
    config, overrides = finetune_cmd.resolve_config(args)
    tiny = TIERS["tiny"].finetune_config("minilm-l6", "pos")
    assert args.tier == "tiny"
    assert config.learning_rate == 1e-4 and tiny.learning_rate == 3e-4
    assert config.data_options == {"max_train_sentences": 50}
    assert (config.snapshot_every, config.n_snapshots) == (10, None)  # interval wins
    assert set(overrides) == {"learning_rate", "data_options", "snapshot_every", "n_snapshots"}
    # Everything not given is the tier's.
    from dataclasses import replace
    assert replace(config, learning_rate=3e-4, data_options=tiny.data_options,
                   snapshot_every=tiny.snapshot_every, n_snapshots=tiny.n_snapshots) == tiny


def test_extract_uses_the_tiers_model_tasks_and_caps():
    args = _parse("extract")
    assert args.tier == "tiny" and args.model is None and args.tasks is None


@pytest.mark.parametrize("argv", [["verify", "--pytest-args", "-k", "F3"],
                                  ["verify", "--pytest-args=-k", "F3"]])
def test_pytest_args_take_the_rest_of_the_line(argv):
    args = build_parser().parse_args(_split_remainder_equals(argv))
    assert args.pytest_args == ["-k", "F3"]
    args = build_parser().parse_args(
        ["verify", "--tier", "tiny", "--pytest-args", "-k", "F3 or F5", "-x"])
    assert args.pytest_args == ["-k", "F3 or F5", "-x"] and args.tier == "tiny"


def test_tier_is_checked_by_argparse_with_the_registrys_choices(capsys):
    with pytest.raises(SystemExit) as stop:
        _parse("verify", "--tier", "bogus")
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "Unknown tier 'bogus'" in err and len(err.strip().splitlines()) == 1
    for path, parser in _all_parsers(build_parser()):
        for action in parser._actions:
            if "--tier" in action.option_strings:
                assert list(action.choices) == list(TIERS), path


def test_directprobe_help_states_its_defaults_and_the_paper_preset(capsys):
    with pytest.raises(SystemExit):
        main(["directprobe", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "default: 0.01" in text and "default: raise" in text and "default: keep all" in text
    paper = TIERS["paper"]
    assert f"rate {paper.directprobe_rate}" in text
    assert f"min cluster size {paper.min_cluster_size}" in text


def _layer_like(rng):
    """Three labels, one non-linear (two far groups of b around a), small clusters to
    drop (fewer than 6 points) and a point repeated under two labels (dropped)."""
    a = rng.normal(0, 0.3, (30, 4))
    b = np.vstack([rng.normal(3, 0.3, (20, 4)), rng.normal(-3, 0.3, (4, 4))])
    c = rng.normal([0, 6, 0, 0], 0.3, (25, 4))
    X = np.vstack([a, b, c, a[:1]])
    y = np.array(["a"] * 30 + ["b"] * 24 + ["c"] * 25 + ["c"])
    return X, y


@pytest.mark.filterwarnings("ignore:Dropped 2 points")  # the duplicate, on purpose
def test_directprobe_paper_preset_reproduces_the_pipelines_distances(tmp_path):
    X, y = _layer_like(np.random.default_rng(0))
    # The pipeline: the paper tier's DirectProbe clustering, then its label distances.
    ws = Workspace(TIERS["paper"], store=RunStore(tmp_path / "store"), progress=False)
    vectors = Vectors(X, y, "synthetic/layer0")
    clustering = pipeline.cluster(ws, vectors)
    assert clustering["n_dropped_duplicates"] == 2
    expected = pipeline.label_distances(ws, vectors, clustering, "synthetic-clusters")
    # The command line, on the same vectors.
    np.save(tmp_path / "X.npy", X)
    (tmp_path / "y.txt").write_text("\n".join(y) + "\n")
    out = tmp_path / "out.json"
    assert main(["directprobe", str(tmp_path / "X.npy"), str(tmp_path / "y.txt"),
                 "--preset", "paper", "--json", str(out)]) == 0
    got = json.loads(out.read_text())
    assert got["labels"] == expected["labels"]
    assert got["n_clusters"] == clustering["n_clusters"]
    assert got["assignment"] == np.asarray(clustering["assignment"]).tolist()
    matrix = np.array([[np.nan if v is None else v for v in row]
                       for row in got["distance_matrix"]])
    np.testing.assert_array_equal(matrix, np.asarray(expected["matrix"]))  # exactly
    # DirectProbe's own defaults refuse the duplicate; the preset's settings are recorded.
    assert (got["rate"], got["min_cluster_size"], got["on_duplicates"]) == (0.05, 6, "drop")
    assert main(["directprobe", str(tmp_path / "X.npy"), str(tmp_path / "y.txt")]) == 2
