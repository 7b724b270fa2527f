"""``harness similarity``: one JSON object with the value and the settings; one-line errors."""

import json

import numpy as np
import pytest

from harness.cli import main
from harness.similarity import angular_shape_distance, linear_cka, rsa


@pytest.fixture
def arrays(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    paths = {}
    for name, A in {"a": X, "b": X @ rng.normal(size=(5, 3)) + rng.normal(size=(60, 3)),
                    "short": X[:50], "constant": np.ones((60, 2)),
                    "three": X[:3]}.items():
        paths[name] = str(tmp_path / f"{name}.npy")
        np.save(paths[name], A)
    return paths


@pytest.mark.parametrize("flags, expected, settings", [
    (["--measure", "cka"], lambda X, Y: linear_cka(X, Y), {}),
    (["--measure", "cka-debiased"], lambda X, Y: linear_cka(X, Y, debiased=True), {}),
    ([], lambda X, Y: linear_cka(X, Y, debiased=True), {}),
    (["--measure", "procrustes"], angular_shape_distance, {}),
    (["--measure", "rsa"], rsa, {"metric": "euclidean", "method": "corr"}),
    (["--measure", "rsa", "--rdm-metric", "correlation", "--rdm-compare", "tau-a"],
     lambda X, Y: rsa(X, Y, metric="correlation", method="tau-a"),
     {"metric": "correlation", "method": "tau-a"}),
])
def test_json_to_stdout_is_one_object_with_the_value_and_settings(arrays, capsys, flags,
                                                                   expected, settings):
    assert main(["similarity", arrays["a"], arrays["b"], *flags, "--json", "-"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    X, Y = np.load(arrays["a"]), np.load(arrays["b"])
    assert record["value"] == pytest.approx(expected(X, Y), rel=1e-12)
    assert record["settings"] == settings
    assert (record["n_samples"], record["n_features_a"], record["n_features_b"]) == (60, 5, 3)
    assert record["measure"] == (flags[1] if flags else "cka-debiased")


def test_text_output_and_json_file(arrays, capsys, tmp_path):
    out = tmp_path / "out.json"
    assert main(["similarity", arrays["a"], arrays["b"], "--measure", "cka", "--json",
                 str(out)]) == 0
    assert capsys.readouterr().out.startswith("cka = ")
    assert json.loads(out.read_text())["measure"] == "cka"


def error_line(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse refuses an option while parsing
        code = stop.code
    assert code == 2
    err = [line for line in capsys.readouterr().err.splitlines()
           if not line.startswith(("INFO", "WARNING"))]
    assert len(err) == 1, err
    assert err[0].startswith("harness similarity: error: "), err[0]
    return err[0]


@pytest.mark.parametrize("case, flags, message", [
    ("mismatched n", ["a", "short"], "a.npy has 60 rows and "),
    ("missing file", ["a", "missing"], "missing.npy: cannot read the points (No such file"),
    ("constant input", ["constant", "b"], "is constant"),
    ("three examples", ["three", "three"], "needs at least 4 examples; got 3"),
    ("rsa option without rsa", ["a", "b", "--rdm-metric", "correlation"],
     "--rdm-metric applies to --measure rsa only"),
    ("unknown measure", ["a", "b", "--measure", "ckaa"], "invalid choice: 'ckaa'"),
    ("unknown rdm comparison", ["a", "b", "--measure", "rsa", "--rdm-compare", "tau"],
     "invalid choice: 'tau'"),
])
def test_bad_input_is_one_error_line_and_exit_2(arrays, tmp_path, capsys, case, flags, message):
    argv = [arrays.get(f, str(tmp_path / f"{f}.npy")) if f in ("a", "b", "short", "missing",
                                                             "constant", "three") else f
            for f in flags]
    assert message in error_line(capsys, ["similarity", *argv])
