"""Run store: content addressing, manifests, atomic publication, kills and races."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from harness.exceptions import StoreError
from harness.store import RunStore, config_key


def test_key_is_canonical_and_content_addressed():
    assert config_key({"a": 1, "b": [1, 2]}) == config_key({"b": [1, 2], "a": 1})
    assert config_key({"a": 1}) != config_key({"a": 2})


def test_write_read_roundtrip_with_manifest(tmp_path):
    store = RunStore(tmp_path)
    config = {"task": "pos", "seed": 0}
    assert store.get(config) is None
    with store.writer(config, kind="test") as w:
        arr = w.create_array("layer0", (5, 3))
        arr[:] = np.arange(15).reshape(5, 3)
        w.save_array("labels", np.array(["a", "b", "a", "c", "b"]))
        w.meta["note"] = "x"
    art = store.get(config)
    assert art.key == config_key(config)
    np.testing.assert_array_equal(art.array("layer0"), np.arange(15).reshape(5, 3))
    assert isinstance(art.array("layer0"), np.memmap)
    assert list(art.array("labels")) == ["a", "b", "a", "c", "b"]
    m = art.manifest
    assert m["meta"]["note"] == "x" and m["kind"] == "test"
    assert {"numpy", "python"} <= set(m["versions"]) and "git_commit" in m
    assert [a["key"] for a in store.ls()] == [art.key]


def test_failed_write_leaves_nothing(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(RuntimeError):
        with store.writer({"k": 1}) as w:
            w.create_array("x", (3,))
            raise RuntimeError("boom")
    assert store.get({"k": 1}) is None
    assert not list((tmp_path / "tmp").iterdir())


WRITER = r"""
import sys, time, numpy as np
from harness.store import RunStore
store = RunStore(sys.argv[1])
with store.writer({"k": sys.argv[2]}) as w:
    arr = w.create_array("big", (64, 1 << 16))
    for i in range(64):
        arr[i] = i
        if i == 8:
            print("started", flush=True)
        time.sleep(float(sys.argv[3]))
"""


def test_kill_in_the_middle_of_a_write(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), "kill", "0.2"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = RunStore(tmp_path)
    assert store.get({"k": "kill"}) is None  # the half-written artifact is never read
    assert len(list((tmp_path / "tmp").iterdir())) == 1
    removed = store.gc()
    assert len(removed) == 1 and not list((tmp_path / "tmp").iterdir())
    # and the same configuration can then be written completely
    done = subprocess.run([sys.executable, "-c", WRITER, str(tmp_path), "kill", "0"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert store.get({"k": "kill"}).array("big")[63, 0] == 63


def test_concurrent_writers_of_one_key(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), "race", "0.01"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()
    art = RunStore(tmp_path).get({"k": "race"})
    np.testing.assert_array_equal(art.array("big")[:, 0], np.arange(64))
    assert len(list((tmp_path / "objects").glob("*/*"))) == 1
    assert not list((tmp_path / "tmp").iterdir())


def test_corrupt_artifact_raises_not_regenerates(tmp_path):
    store = RunStore(tmp_path)
    with store.writer({"k": 2}) as w:
        w.save_array("x", np.zeros((4, 2), dtype=np.float32))
    art = store.get({"k": 2})
    np.save(art.path / "x.npy", np.zeros((3, 2), dtype=np.float32))
    with pytest.raises(StoreError, match="corrupt"):
        store.get({"k": 2}).array("x")
    (art.path / "manifest.json").write_text("{not json")
    with pytest.raises(StoreError, match="unreadable manifest"):
        store.get({"k": 2})
    assert store.gc(keys={art.key}) and store.get({"k": 2}) is None


def test_code_fingerprints_do_not_depend_on_import_history():
    # Keys must be the same in a process that imported one data reader and in one that
    # imported another: otherwise the same representations are stored twice.
    import subprocess
    import sys

    code = ("import importlib, sys; importlib.import_module(sys.argv[1]); "
            "from harness import representations, finetune; "
            "print(representations._code_version(), finetune._code_version())")
    outputs = {tuple(subprocess.run([sys.executable, "-c", code, module], capture_output=True,
                                    text=True, timeout=300, check=True).stdout.split()[-2:])
               for module in ("harness.data.streusle", "harness.data.trec", "json")}
    assert len(outputs) == 1, outputs
