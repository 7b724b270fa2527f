"""Every bad input gets one line, ``harness CMD: error: ...``, exit 2, and changes nothing.

One case per input of issue 14 (and the ones tried beyond it); ``docs/errors.md`` lists
them with their messages. Options are checked before a model or data is loaded: the
fixture makes loading fail loudly, so a case that loads before it refuses fails here.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import harness.models
from harness.cli import main

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A private store; loading a model is an error (checks must come first)."""
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))

    def must_not_load(*args, **kwargs):
        raise AssertionError("a model was loaded before the options were checked")

    monkeypatch.setattr(harness.models, "load_model", must_not_load)
    return tmp_path


@pytest.fixture
def blobs(tmp_path):
    """Two separated blobs of 20 points, labels a and b."""
    rng = np.random.default_rng(0)
    points = tmp_path / "blobs.npy"
    np.save(points, np.vstack([rng.normal(0, 1, (20, 2)), rng.normal(10, 1, (20, 2))]))
    labels = tmp_path / "blobs.txt"
    labels.write_text("a\n" * 20 + "b\n" * 20)
    return str(points), str(labels)


def error_line(capsys, argv, code=2):
    """Run ``harness argv``; assert the exit code and exactly one line on stderr (log
    lines aside) that starts with the command's name; return that line."""
    try:
        got = main(argv)
    except SystemExit as stop:  # argparse refuses an option while parsing
        got = stop.code
    assert got == code
    err = [line for line in capsys.readouterr().err.splitlines()
           if not line.startswith(("INFO", "WARNING"))]
    assert len(err) == 1, err
    known = argv[0] in {"data", "store", "extract", "directprobe", "finetune", "probe", "verify"}
    assert err[0].startswith(f"harness {argv[0]}" if known else "harness: error:"), err[0]
    return err[0]


OPTION_CASES = [
    # finetune: ranges (issue: --epochs 0 trained 10 epochs, -1 / --max-updates -3 published runs)
    (["finetune", "--epochs", "0"], "argument --epochs: must be an int >= 1; got '0'"),
    (["finetune", "--epochs", "-1"], "argument --epochs: must be an int >= 1; got '-1'"),
    (["finetune", "--max-updates", "-3"], "argument --max-updates: must be an int >= 1"),
    (["finetune", "--batch-size", "0"], "argument --batch-size: must be an int >= 1"),
    (["finetune", "--snapshot-every", "0"], "argument --snapshot-every: must be an int >= 1"),
    (["finetune", "--max-train-sentences", "-5"], "argument --max-train-sentences"),
    (["finetune", "--learning-rate", "0"], "argument --learning-rate: must be a float > 0"),
    (["finetune", "--warmup-fraction", "1"], "argument --warmup-fraction: must be a float in [0, 1)"),
    (["finetune", "--dropout", "nan"], "argument --dropout"),
    (["finetune", "--seed", "-1"], "argument --seed: must be an int in [0, 4294967295]"),
    (["finetune", "--max-length", "1"], "argument --max-length: must be an int >= 3"),
    (["finetune", "--max-length", "100000"], "'max_length' parameter of FinetuneConfig must be at most 512"),
    (["finetune", "--epochs", "two"], "argument --epochs: must be an int >= 1; got 'two'"),
    # finetune / extract: names and layers, checked before the model loads
    (["finetune", "--task", "poss"], "Unknown task 'poss'. Known: .* Did you mean: pos"),
    (["finetune", "--model", "minilm-l7"], "Unknown model 'minilm-l7'.* Did you mean: minilm-l6"),
    (["finetune", "--model", "./no-such-dir"], "model directory .*no-such-dir does not exist"),
    (["finetune", "--snapshot-layers", "9"], "--snapshot-layers: layer 9 is out of range .* 0..6"),
    (["finetune", "--snapshot-splits", "dev"], "argument --snapshot-splits: invalid choice: 'dev'"),
    (["finetune", "--precision", "bf16"], "precision='bf16' needs a CUDA device"),
    (["extract", "--tasks", "pos", "foo"], "Unknown task 'foo'"),
    (["extract", "--layers", "7"], "--layers: layer 7 is out of range"),
    (["extract", "--layers", "-8"], "--layers: layer -8 is out of range"),
    (["extract", "--batch-size", "0"], "argument --batch-size: must be an int >= 1"),
    (["extract", "--max-test-sentences", "-1"], "argument --max-test-sentences"),
    (["extract", "--splits", "dev"], "argument --splits: invalid choice: 'dev'"),
    (["extract", "--tier", "tinny"], "Unknown tier 'tinny'. .* Did you mean: tiny"),
    (["extract", "--model", "bert-tiny"], "not available offline"),
    (["extract", "--data-dir", "/no/such/dir"], "data directory /no/such/dir does not exist"),
    # probe and verify
    (["probe", "--layer", "7"], "--layer: layer 7 is out of range"),
    (["probe", "--grid", "huge"], "Unknown probe grid 'huge'. Known: paper, tiny"),
    (["probe", "--seeds", "0"], "argument --seeds: must be an int >= 1"),
    (["probe", "--tier", "ful"], "Unknown tier 'ful'"),
    (["verify", "--tier", "tinyy"], "Unknown tier 'tinyy'. Known: full, paper, tiny. Did you mean: tiny?"),
    (["verify", "--models", "./no-such-dir"], "model directory .*no-such-dir does not exist"),
    (["verify", "--tasks", "trec50"], "Unknown task 'trec50'.*Did you mean: trec-50"),
    # data
    (["data", "stats", "--tasks", "tre-6"], "Unknown task 'tre-6'.*Did you mean: trec-6"),
    (["data", "stats", "--max-train-sentences", "0"], "argument --max-train-sentences"),
    (["data", "verify", "--data-dir", "/no/such/dir"], "data directory /no/such/dir does not exist"),
    (["data", "download", "--dataset", "trek"], "Unknown dataset 'trek'.*Did you mean: trec"),
    (["data", "download", "--timeout", "0"], "argument --timeout: must be a float > 0"),
    # a subcommand name that does not exist
    (["finetun"], "invalid choice: 'finetun'"),
]


@pytest.mark.parametrize("argv, message", OPTION_CASES, ids=[" ".join(c[0]) for c in OPTION_CASES])
def test_bad_option_gets_one_line_before_anything_loads(env, capsys, argv, message):
    line = error_line(capsys, argv)
    assert not (env / "store").exists()  # a bad input changes nothing
    # a message with ".*" is a pattern, any other is literal text
    assert (re.search(message, line) if ".*" in message else message in line), line


def test_usage_errors_point_to_help(capsys):
    line = error_line(capsys, ["extract", "--batch-size", "0"])
    assert line.endswith("(see `harness extract --help`)")


# ---- the store ---------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["ls", "gc", "verify"])
def test_store_commands_refuse_a_missing_store_or_a_file(tmp_path, capsys, action):
    line = error_line(capsys, ["store", action, "--store", str(tmp_path / "nowhere")])
    assert f"store {tmp_path / 'nowhere'} does not exist" in line
    (tmp_path / "afile").write_text("x")
    line = error_line(capsys, ["store", action, "--store", str(tmp_path / "afile")])
    assert "is a file, not a store directory" in line


def test_computing_commands_refuse_a_store_that_is_a_file(env, capsys, blobs):
    (env / "afile").write_text("x")
    for argv in (["extract", "--tasks", "pos"], ["finetune"], ["probe"], ["verify"]):
        line = error_line(capsys, argv + ["--store", str(env / "afile")])
        assert "is a file, not a store directory" in line, line


def test_read_only_store_is_refused(env, capsys, monkeypatch):
    import errno
    import tempfile

    def read_only(*args, dir=None, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(dir))

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    line = error_line(capsys, ["extract", "--tasks", "pos", "--store", str(env / "ro")])
    assert "is not writable (Read-only file system)" in line


def test_unknown_key_is_refused_before_anything_is_removed(tmp_path, capsys):
    (tmp_path / "objects").mkdir()
    line = error_line(capsys, ["store", "gc", "--key", "feed", "--store", str(tmp_path)])
    assert "no artifact feed" in line


def test_unknown_kind_is_refused_before_anything_is_removed(tmp_path, capsys):
    store = _store_with_leftovers(tmp_path)
    line = error_line(capsys, ["store", "gc", "--kind", "dem", "--store", str(tmp_path)])
    assert "Unknown artifact kind 'dem'. Known: demo. Did you mean: demo?" in line
    assert len(store.keys()) == 1 and store.leftovers()  # nothing was removed


def test_data_dir_that_is_a_file_is_named(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    line = error_line(capsys, ["data", "stats", "--data-dir", str(tmp_path / "afile")])
    assert f"data directory {tmp_path / 'afile'} is a file, not a directory" in line


def _store_with_leftovers(root):
    from harness.store import RunStore

    store = RunStore(root)
    with store.writer({"k": 1}, kind="demo") as w:
        w.save_array("x", np.arange(4.0))
    run = store.run_dir("f" * 32)
    run.mkdir(parents=True)
    (run / "checkpoint.pt").write_bytes(b"0" * 4096)
    (run / "config.json").write_text(json.dumps({"model": "minilm-l6", "task": "pos"}))
    (run / "progress.json").write_text(json.dumps({"update": 40, "total": 80}))
    return store


def test_store_ls_shows_incomplete_runs_and_gc_removes_them(tmp_path, capsys):
    store = _store_with_leftovers(tmp_path)
    assert main(["store", "ls", "--store", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1 artifact(s)" in out and "1 unfinished item(s), 4.1 KiB" in out
    run_line = next(line for line in out.splitlines() if line.startswith("f" * 32))
    assert "incomplete run" in run_line and "abandoned, update 40/80" in run_line
    assert "model=minilm-l6 task=pos" in run_line
    assert main(["store", "gc", "--store", str(tmp_path)]) == 0
    assert f"removed {store.run_dir('f' * 32)}" in capsys.readouterr().out
    assert store.leftovers() == [] and len(store.keys()) == 1


def test_store_verify_names_broken_artifacts(tmp_path, capsys):
    store = _store_with_leftovers(tmp_path)
    assert main(["store", "verify", "--store", str(tmp_path)]) == 0
    assert "1 of 1 artifact(s) sound" in capsys.readouterr().out
    (key,) = store.keys()
    np.save(store.open(key).path / "x.npy", np.arange(4.0) + 1)
    assert main(["store", "verify", "--store", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"BROKEN {key}: x.npy has a different sha256 than the manifest records" in out
    assert "0 of 1 artifact(s) sound" in out


# ---- directprobe -------------------------------------------------------------------------


def test_undefined_distances_are_null_and_na_never_zero(blobs, capsys, tmp_path):
    out = tmp_path / "out.json"
    assert main(["directprobe", *blobs, "--min-cluster-size", "1000", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    record = json.loads(out.read_text())
    assert record["distance_vector"] == [None]
    assert record["distance_matrix"] == [[0.0, None], [None, 0.0]]
    assert record["min_distance"] == {"a": None, "b": None}
    vector_line = text.splitlines()[text.splitlines().index(
        "distance vector (pairs i<j, labels sorted as strings):") + 1]
    assert vector_line.split() == ["n/a"]
    assert "  a: n/a" in text and "  b: n/a" in text
    # and with every cluster kept, the distance is a real number
    assert main(["directprobe", *blobs, "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["distance_vector"][0] > 5


def test_one_label_has_an_empty_distance_vector_not_a_number(tmp_path, capsys):
    np.save(tmp_path / "p.npy", np.arange(6.0).reshape(3, 2))
    (tmp_path / "l.txt").write_text("a\na\na\n")
    assert main(["directprobe", str(tmp_path / "p.npy"), str(tmp_path / "l.txt")]) == 0
    out = capsys.readouterr().out
    assert "distance vector: empty (one label, no pairs)" in out and "  a: n/a" in out


@pytest.mark.parametrize("mode", ["reference", "exact"])
def test_all_points_duplicates_fail_alike_in_both_modes(tmp_path, capsys, mode):
    np.save(tmp_path / "same.npy", np.zeros((4, 2)))
    (tmp_path / "same.txt").write_text("a\nb\na\nb\n")
    line = error_line(capsys, ["directprobe", str(tmp_path / "same.npy"),
                               str(tmp_path / "same.txt"), "--on-duplicates", "drop",
                               "--mode", mode])
    assert line.endswith("All 4 points are identical to a point of another label, so dropping "
                         "them leaves nothing to cluster.")


def test_duplicate_hint_names_the_flag_and_the_lines(tmp_path, capsys):
    np.save(tmp_path / "p.npy", np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]]))
    (tmp_path / "l.txt").write_text("a\nb\na\n")
    line = error_line(capsys, ["directprobe", str(tmp_path / "p.npy"), str(tmp_path / "l.txt")])
    assert "(lines 1, 2 of " in line and "pass --on-duplicates drop to remove them" in line
    assert "on_duplicates=" not in line


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("hello"), "not an .npy file (no NumPy header)"),
    (lambda p: np.savez(p.with_suffix(".npz"), X=np.zeros((2, 2))) or
     p.with_suffix(".npz").rename(p), "an .npz archive, not an .npy file"),
    (lambda p: np.save(p, np.zeros(3)), "expected a numeric array of shape (n, d)"),
    (lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True),
     "expected a numeric array of shape (n, d); got dtype object"),
    (lambda p: np.save(p, np.zeros((0, 2))), "the array has shape (0, 2)"),
    (lambda p: np.save(p, np.array([[0.0, 1.0], [np.nan, 2.0]])), "row 1 (0-based) holds NaN"),
    (lambda p: p.write_bytes(b"\x93NUMPY\x01\x00"), "damaged .npy header"),
    (lambda p: (np.save(p, np.zeros((50, 2))), p.write_bytes(p.read_bytes()[:200])),
     "damaged or truncated .npy file"),
    (lambda p: p.mkdir(), "cannot read the points (Is a directory)"),
    (lambda p: None, "cannot read the points (No such file or directory)"),
])
def test_bad_points_file_is_named(tmp_path, capsys, make, message):
    points = tmp_path / "points.npy"
    make(points)
    (tmp_path / "l.txt").write_text("a\nb\n")
    line = error_line(capsys, ["directprobe", str(points), str(tmp_path / "l.txt")])
    assert f"{points}: {message}" in line, line


@pytest.mark.parametrize("content, message", [
    (b"a\n" * 20 + b"b\xe9\n" * 20, ":21: not valid utf-8"),
    (b"a\n" * 20 + b"\n" + b"b\n" * 19, ":21: empty label"),
    (b"a\nb\n", ": 2 labels for 40 points"),
])
def test_bad_labels_file_is_named_with_its_line(blobs, tmp_path, capsys, content, message):
    labels = tmp_path / "labels.txt"
    labels.write_bytes(content)
    line = error_line(capsys, ["directprobe", blobs[0], str(labels)])
    assert f"{labels}{message}" in line, line


@pytest.mark.parametrize("flags, message", [
    (["--min-cluster-size", "0"], "argument --min-cluster-size: must be an int >= 1; got '0'"),
    (["--min-cluster-size", "-1"], "argument --min-cluster-size: must be an int >= 1; got '-1'"),
    (["--rate", "0"], "argument --rate: must be a float in (0, 1]"),
    (["--rate", "1.5"], "argument --rate: must be a float in (0, 1]"),
    (["--mode", "fast"], "argument --mode: invalid choice: 'fast'"),
])
def test_directprobe_ranges(blobs, capsys, flags, message):
    assert message in error_line(capsys, ["directprobe", *blobs, *flags])


@pytest.mark.parametrize("target, message", [
    ("nodir/out.json", "folder {tmp}/nodir does not exist; create it first"),
    (".", "is a directory; give a file name"),
])
def test_json_output_is_checked_before_the_work(blobs, tmp_path, capsys, monkeypatch, target,
                                                message):
    import harness.geometry.clustering as clustering

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(clustering, "cluster_labels", lambda *a, **k: pytest.fail("computed"))
    line = error_line(capsys, ["directprobe", *blobs, "--json", target])
    assert message.format(tmp=tmp_path) in line


# ---- data --------------------------------------------------------------------------------


def test_edited_data_file_gives_new_representations(tmp_path, capsys):
    # Issue 14: after editing one label in the PUD file, extract returned the old arrays.
    from harness.settings import data_dir

    pud = "ud_english_pud/r2.9/en_pud-ud-test.conllu"
    source = data_dir() / pud
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    (tmp_path / "data" / pud).parent.mkdir(parents=True)
    (tmp_path / "data" / pud).write_bytes(source.read_bytes())
    argv = ["extract", "--tasks", "pos", "--splits", "train", "--layers", "0",
            "--max-train-sentences", "3", "--data-dir", str(tmp_path / "data"),
            "--store", str(tmp_path / "store")]

    def labels_and_key():
        from harness.store import RunStore

        assert main(argv) == 0
        key = capsys.readouterr().out.splitlines()[-1].split()[-1]
        return list(RunStore(tmp_path / "store").open(key).array("labels")), key

    before, key_before = labels_and_key()
    first_word = next(line for line in (tmp_path / "data" / pud).read_text().splitlines()
                      if line.startswith("1\t"))
    tag = first_word.split("\t")[3]
    new_tag = "NOUN" if tag != "NOUN" else "VERB"
    text = (tmp_path / "data" / pud).read_text()
    (tmp_path / "data" / pud).write_text(text.replace(
        first_word, first_word.replace(f"\t{tag}\t", f"\t{new_tag}\t", 1), 1))
    after, key_after = labels_and_key()
    assert key_after != key_before
    assert before[0] == tag and after[0] == new_tag and before[1:] == after[1:]


# ---- verify ------------------------------------------------------------------------------


def test_verify_passes_model_directories_as_absolute_paths(tmp_path, monkeypatch):
    # pytest runs from the project root: a relative ./dir must not be read from there.
    from argparse import Namespace

    from harness.commands.verify import pytest_command
    from harness.store import RunStore

    (tmp_path / "mymodel").mkdir()
    monkeypatch.chdir(tmp_path)
    from harness.commands.verify import _absolute_if_directory
    from harness.tiers import get_tier

    (tmp_path / "data").mkdir()
    models = [_absolute_if_directory(m) for m in ["./mymodel", "minilm-l6"]]
    assert models == [str(tmp_path / "mymodel"), "minilm-l6"]
    args = Namespace(tier="tiny", tasks=None, pytest_args=[], separability_tol=None)
    cmd = pytest_command(args, get_tier("tiny"), RunStore(tmp_path / "store"), tmp_path,
                         models, str((tmp_path / "data").resolve()))
    assert cmd[cmd.index("--models") + 1:cmd.index("--models") + 3] == models
    assert cmd[cmd.index("--data-dir") + 1] == str(tmp_path / "data")
    assert "--separability-tol" not in cmd


def test_verify_hands_its_separability_tolerance_to_the_claim_run(tmp_path):
    from argparse import Namespace

    from harness.commands.verify import _at_tolerance, pytest_command
    from harness.store import RunStore
    from harness.tiers import get_tier

    tier = _at_tolerance(get_tier("paper"), 1e-4)
    assert tier.separability_tol == 1e-4 and get_tier("paper").separability_tol == 1e-6
    assert _at_tolerance(get_tier("paper"), None) == get_tier("paper")
    args = Namespace(tier="paper", tasks=None, pytest_args=[], separability_tol=1e-4)
    cmd = pytest_command(args, tier, RunStore(tmp_path / "store"), tmp_path, None, None)
    assert float(cmd[cmd.index("--separability-tol") + 1]) == 1e-4


@pytest.mark.parametrize("tau", ["0", "1", "-1e-4", "abc"])
def test_verify_refuses_a_separability_tolerance_outside_0_1(tau):
    done = _harness("verify", "--tier", "paper", "--from-records", "--separability-tol", tau)
    assert done.returncode == 2
    assert "--separability-tol" in done.stderr.splitlines()[-1]


def test_verify_refuses_seed_records_of_another_separability_tolerance(tmp_path):
    # The records hold their tolerance in their protocol: deciding seeds measured at
    # 1e-6 as if at 1e-4 would mix two experiments.
    seeds = tmp_path / "paper" / "seeds"
    seeds.mkdir(parents=True)
    for record in (PROJECT_ROOT / "reports" / "paper" / "seeds").glob("seed-*.json"):
        (seeds / record.name).write_bytes(record.read_bytes())
    if not any(seeds.iterdir()):
        pytest.skip("no committed paper-tier seed records")
    done = _harness("verify", "--tier", "paper", "--from-records", "--out", str(tmp_path / "paper"),
                    "--separability-tol", "1e-4")
    assert done.returncode == 2
    last = done.stderr.splitlines()[-1]
    assert "measured under another protocol" in last and "separability_tol" in last


# ---- tracebacks, --debug, Ctrl-C ---------------------------------------------------------


def _harness(*argv, env=None, **kwargs):
    return subprocess.run([sys.executable, "-m", "harness.cli", *argv], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})}, **kwargs)


def test_no_traceback_without_debug_and_one_with_it(tmp_path):
    argv = ("store", "ls", "--store", str(tmp_path / "nowhere"))
    plain = _harness(*argv)
    assert plain.returncode == 2
    assert plain.stderr.splitlines() == [
        f"harness store ls: error: store {tmp_path / 'nowhere'} does not exist; give an "
        "existing store with --store DIR or HARNESS_STORE (commands that compute create it)."]
    for debug in (_harness(*argv, "--debug"), _harness(*argv, env={"HARNESS_DEBUG": "1"})):
        assert debug.returncode == 2
        assert "Traceback (most recent call last)" in debug.stderr
        assert debug.stderr.splitlines()[-1].startswith("harness store ls: error: store")


CRASH = r"""
import sys
import harness.commands.store as store_command
from harness import cli

def fail(args):
    {body}

store_command._ls = fail
sys.exit(cli.main(["store", "ls"]))
"""


def _default_sigint():
    # A child inherits an ignored SIGINT (a test run started as a background job of a
    # shell ignores it), and Python then never raises KeyboardInterrupt: restore it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_prints_one_line_and_how_to_resume():
    body = "import os, signal; os.kill(os.getpid(), signal.SIGINT)"
    done = subprocess.run([sys.executable, "-c", CRASH.format(body=body)], capture_output=True,
                          text=True, timeout=300, preexec_fn=_default_sigint)
    assert done.returncode == 130
    assert done.stderr.splitlines() == [
        "harness store ls: interrupted; run the same command again to resume"]


def test_a_bug_is_reported_as_one_line_that_says_so():
    done = subprocess.run([sys.executable, "-c", CRASH.format(body="[][0]")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("harness store ls: internal error: IndexError: list index out of range")
    assert "--debug" in line


def test_ctrl_c_during_a_real_command_leaves_one_line_and_no_debris(tmp_path):
    from harness.store import RunStore

    # A real extraction, interrupted by SIGINT while it writes an artifact.
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "extract", "--tasks", "pos", "--layers", "0",
         "--max-train-sentences", "400", "--store", str(tmp_path)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, preexec_fn=_default_sigint)
    for _ in range(3000):  # wait for the writer's temporary folder
        if (tmp_path / "tmp").is_dir() and any((tmp_path / "tmp").iterdir()):
            break
        time.sleep(0.1)
    assert any((tmp_path / "tmp").iterdir()), "the extraction never started writing"
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=300)[1]
    assert proc.returncode == 130, err
    lines = [line for line in err.replace("\r", "\n").splitlines()
             if line.startswith("harness") or "Traceback" in line]
    assert lines == ["harness extract: interrupted; run the same command again to resume"], lines
    store = RunStore(tmp_path)
    assert list((tmp_path / "tmp").iterdir()) == []  # the half-written artifact is gone
    assert all(store.verify(key) == [] for key in store.keys())  # what was published is sound


CLAIMS = r"""
import pathlib
import sys
import tempfile
import harness.commands.verify as verify
from harness.progress import StageProgress
from harness import cli

# The "claim run": a child that records its pid and waits.
child = "import os, time; open({pid_file!r}, 'w').write(str(os.getpid())); time.sleep(120)"
verify.run = lambda args: verify._claim_run(
    [sys.executable, "-c", child], pathlib.Path(tempfile.mkdtemp()), StageProgress(enabled=False))
sys.exit(cli.main(["verify"]))
"""


def test_ctrl_c_during_verify_stops_the_claim_run_quietly(tmp_path):
    # The claim run is a child pytest in its own session; Ctrl-C reaches the parent only,
    # which ends the child and prints the one line.
    pid_file = tmp_path / "child.pid"
    proc = subprocess.Popen([sys.executable, "-c", CLAIMS.replace("{pid_file!r}", repr(str(pid_file)))],
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    for _ in range(600):
        if pid_file.is_file() and pid_file.read_text():
            break
        time.sleep(0.1)
    child = int(pid_file.read_text())
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130
    assert err.splitlines() == ["harness verify: interrupted; run the same command again to resume"]
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_data_verify_reports_a_damaged_gzip_as_a_mismatch(tmp_path, capsys):
    import gzip

    packed = gzip.compress(b"# sent_id = x\n" * 1000)
    damaged = tmp_path / "ud_english_ewt" / "en_ewt-ud-train.conllu.gz"
    damaged.parent.mkdir()
    damaged.write_bytes(packed[: len(packed) // 2])
    assert main(["data", "verify", "--dataset", "ud-ewt-r2.16", "--data-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "en_ewt-ud-train.conllu.gz" in x)
    assert line.startswith("mismatch") and "got damaged gzip" in line
