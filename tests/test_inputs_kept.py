"""Nothing a user hands the harness is lost or silently misread (issue 22).

Outputs never overwrite inputs and never replace special files; a byte-order mark is not
a label; a seed given twice does not vote twice; a store folder holding another key's
artifact is refused; a Ray address where nothing listens is one line, in seconds.
Each case has a row in ``docs/errors.md``.
"""

import json
import os
import socket
import stat
import threading
import time

import numpy as np
import pytest

from harness.cli import main


@pytest.fixture
def blobs(tmp_path, monkeypatch):
    """Two separated blobs of 20 points (labels a, b), in a private store."""
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    rng = np.random.default_rng(0)
    points = tmp_path / "P.npy"
    np.save(points, np.vstack([rng.normal(0, 1, (20, 2)), rng.normal(10, 1, (20, 2))]))
    labels = tmp_path / "L.txt"
    labels.write_text("a\n" * 20 + "b\n" * 20)
    return points, labels


def one_error(capsys, argv, code=2):
    """Run ``harness argv``; return its one stderr line (the exit status must be ``code``)."""
    try:
        got = main([str(a) for a in argv])
    except SystemExit as stop:
        got = stop.code
    err = [line for line in capsys.readouterr().err.splitlines()
           if not line.startswith(("INFO", "WARNING"))]
    assert got == code, err
    assert len(err) == 1, err
    return err[0]


# ---- an output that is an input ----------------------------------------------------------


@pytest.mark.parametrize("which", ["points", "labels", "link", "hardlink"])
def test_directprobe_refuses_to_write_over_an_input(blobs, tmp_path, capsys, which):
    points, labels = blobs
    before = {p: p.read_bytes() for p in blobs}
    target = {"points": points, "labels": labels}.get(which)
    if which == "link":
        target = tmp_path / "out.json"
        target.symlink_to(points)
    elif which == "hardlink":
        target = tmp_path / "out.json"
        os.link(labels, target)
    line = one_error(capsys, ["directprobe", points, labels, "--json", target])
    assert f"--json {target}: is the input" in line and "destroy" in line
    assert {p: p.read_bytes() for p in blobs} == before


def test_similarity_refuses_to_write_over_an_input(blobs, tmp_path, capsys):
    points, _ = blobs
    other = tmp_path / "B.npy"
    np.save(other, np.load(points) * 2)
    before = points.read_bytes()
    line = one_error(capsys, ["similarity", points, other, "--json", points])
    assert "is the input" in line
    assert points.read_bytes() == before


def test_a_link_to_a_new_file_is_written_through(blobs, tmp_path):
    # A symbolic link that is not an input keeps pointing where it did: its file gets the JSON.
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert main(["directprobe", *map(str, blobs), "--json", str(link)]) == 0
    assert link.is_symlink() and json.loads(target.read_text())["n_clusters"] == 2


# ---- special files -----------------------------------------------------------------------


def test_dev_full_is_an_error_and_stays_a_device(blobs, capsys):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    line = one_error(capsys, ["directprobe", *blobs, "--json", "/dev/full"])
    assert "--json /dev/full: the output could not be written (no space left" in line
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_named_pipe_is_written_into_not_replaced(blobs, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    assert main(["directprobe", *map(str, blobs), "--json", str(fifo)]) == 0
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still a pipe
    assert json.loads(got[0])["n_clusters"] == 2  # and its reader got the record


def test_similarity_writes_into_dev_stdout(blobs, tmp_path, capfd):
    points, _ = blobs
    other = tmp_path / "B.npy"
    np.save(other, np.load(points) + 1)
    assert main(["similarity", str(points), str(other), "--json", "/dev/stdout"]) == 0
    assert json.loads(capfd.readouterr().out)["measure"] == "cka-debiased"
    assert not os.path.isfile("/dev/stdout") or os.path.islink("/dev/stdout")


def test_verify_refuses_a_report_folder_inside_the_store(tmp_path, capsys, monkeypatch):
    store = tmp_path / "store"
    store.mkdir()
    monkeypatch.setattr("harness.data.check.check_data", lambda *a, **k: None)
    line = one_error(capsys, ["verify", "--store", store, "--out", store / "reports"])
    assert "is inside the store" in line
    assert not (store / "reports").exists()


# ---- a byte-order mark -------------------------------------------------------------------


def test_a_labels_file_with_a_bom_gives_the_labels_it_holds(blobs, capsys):
    points, labels = blobs
    labels.write_bytes(b"\xef\xbb\xbf" + labels.read_bytes())
    assert main(["directprobe", str(points), str(labels), "--json", "-"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["labels"] == ["a", "b"] and record["n_clusters"] == 2 and record["linear"]


# ---- seeds -------------------------------------------------------------------------------


def test_verify_refuses_a_seed_given_twice(capsys, monkeypatch):
    monkeypatch.setattr("harness.data.check.check_data", lambda *a, **k: None)
    line = one_error(capsys, ["verify", "--seeds", "0", "0"])
    assert "--seeds: seed 0 is given more than once" in line


def test_combine_counts_each_seed_once():
    from claims._framework import Evidence, combine

    def seed(holds):
        ev = Evidence("F0", "cell", rule="r", headline="h")
        ev.holds, ev.numbers = holds, {"x": 1.0 if holds else -1.0}
        return ev

    # Seeds (0, 0, 1): seed 0 holds, seed 1 does not; 1 of 2 is no majority.
    ev = combine([seed(True), seed(True), seed(False)], (0, 0, 1))
    assert ev.holds is False and [s["seed"] for s in ev.seeds] == [0, 1]


# ---- Ray: options without effect and an address where nothing listens --------------------


@pytest.mark.parametrize("flags, message", [
    (["--executor", "serial", "--address", "127.0.0.1:1"], "--address applies to --executor ray only"),
    (["--executor", "serial", "--num-cpus", "3"], "--num-cpus applies to --executor ray only"),
    (["--address", "127.0.0.1:1"], "(the default for --tier tiny)"),
])
def test_verify_refuses_ray_options_with_the_serial_executor(capsys, monkeypatch, flags, message):
    monkeypatch.setattr("harness.data.check.check_data", lambda *a, **k: None)
    assert message in one_error(capsys, ["verify", *flags])


def test_a_ray_address_where_nothing_listens_is_one_line_in_seconds(capsys, monkeypatch):
    monkeypatch.setattr("harness.data.check.check_data", lambda *a, **k: None)
    with socket.socket() as sock:  # a port that was free a moment ago: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    line = one_error(capsys, ["verify", "--executor", "ray", "--address", f"127.0.0.1:{port}"])
    assert f"--address 127.0.0.1:{port}: no Ray cluster answers there" in line
    assert time.monotonic() - started < 30


# ---- a store folder holding another key's artifact ---------------------------------------


def test_swapped_artifact_folders_are_refused_and_named_by_verify(tmp_path, capsys):
    from harness.exceptions import HarnessWarning, StoreError
    from harness.store import RunStore

    store = RunStore(tmp_path / "store")
    keys = []
    for update in (0, 1):
        with store.writer({"update": update}) as w:
            w.save_array("x", np.full(3, update, dtype=np.float32))
        keys.append(w.key)
    a, b = (store._final(k) for k in keys)
    a.rename(a.with_name("swap"))
    b.rename(a)
    a.with_name("swap").rename(b)
    with pytest.raises(StoreError, match=f"manifest of artifact {keys[1]}, not of {keys[0]}"):
        store.get({"update": 0})
    assert main(["store", "verify", "--store", str(store.root)]) == 1
    assert capsys.readouterr().out.count("BROKEN") == 2
    with pytest.warns(HarnessWarning, match="removing it and computing it again"):
        assert store.get({"update": 0}, repair=True) is None  # the producer computes it anew
