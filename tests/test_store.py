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


def _one_array_store(tmp_path, value=0.0):
    store = RunStore(tmp_path)
    with store.writer({"k": 3}) as w:
        w.save_array("x", np.full((4, 2), value, dtype=np.float32))
        (w.path / "notes.txt").write_text("any file counts")
    return store, store.get({"k": 3})


def test_manifest_records_size_and_sha256_of_every_file(tmp_path):
    import hashlib

    store, art = _one_array_store(tmp_path)
    files = art.manifest["files"]
    assert set(files) == {"x.npy", "notes.txt"}
    for rel, rec in files.items():
        data = (art.path / rel).read_bytes()
        assert rec == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert store.verify(art.key) == []


def test_truncated_array_is_refused_on_open(tmp_path):
    store, art = _one_array_store(tmp_path)
    path = art.path / "x.npy"
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(StoreError, match=r"x.npy has \d+ bytes, the manifest says \d+"):
        store.get({"k": 3})


def test_altered_array_of_the_same_size_is_refused_on_read(tmp_path):
    store, art = _one_array_store(tmp_path)
    np.save(art.path / "x.npy", np.ones((4, 2), dtype=np.float32))  # same shape, same size
    art = store.get({"k": 3})  # sizes agree: opening is cheap and passes
    with pytest.raises(StoreError, match="different sha256"):
        art.array("x")
    assert store.verify(art.key) == ["x.npy has a different sha256 than the manifest records"]


def test_deleted_file_and_unlisted_file_are_named_by_verify(tmp_path):
    store, art = _one_array_store(tmp_path)
    (art.path / "notes.txt").unlink()
    (art.path / "stray.bin").write_bytes(b"x")
    assert store.verify(art.key) == ["notes.txt is missing", "stray.bin is not in the manifest"]


def test_repair_removes_a_broken_artifact_so_the_producer_recomputes_it(tmp_path):
    from harness.exceptions import HarnessWarning

    store, art = _one_array_store(tmp_path)
    np.save(art.path / "x.npy", np.ones((4, 2), dtype=np.float32))
    with pytest.warns(HarnessWarning, match="corrupt .*computing it again"):
        assert store.get({"k": 3}, repair=True) is None
    assert store.keys() == []
    store, art = _one_array_store(tmp_path, value=0.0)  # the producer writes it again
    assert store.get({"k": 3}, repair=True).array("x").sum() == 0


def test_missing_or_file_store_is_refused(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        RunStore(tmp_path / "nowhere").check_exists()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(StoreError, match="is a file, not a store directory"):
        RunStore(tmp_path / "afile").check_exists()
    with pytest.raises(StoreError, match="is a file"):
        RunStore(tmp_path / "afile").check_writable()
    with pytest.raises(StoreError, match="cannot be created: .*afile is a file"):
        RunStore(tmp_path / "afile" / "below").check_writable()
    RunStore(tmp_path / "new" / "store").check_writable()
    assert not (tmp_path / "new").exists()  # checking creates nothing


def test_read_only_store_is_refused(tmp_path, monkeypatch):
    import errno
    import tempfile

    def read_only(*args, dir=None, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(dir))

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    with pytest.raises(StoreError, match=r"not writable \(Read-only file system\)"):
        RunStore(tmp_path).check_writable()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file permissions")
def test_store_without_write_permission_is_refused(tmp_path):
    (tmp_path / "ro").mkdir(mode=0o555)
    with pytest.raises(StoreError, match="not writable"):
        RunStore(tmp_path / "ro").check_writable()


RUNNER = r"""
import sys, time
from harness.store import RunStore
store = RunStore(sys.argv[1])
with store.run_lock("k" * 32) as run_dir:
    (run_dir / "checkpoint.pt").write_bytes(b"0" * 1000)
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_ls_and_gc_see_incomplete_runs_and_spare_live_ones(tmp_path):
    store = RunStore(tmp_path)
    live = subprocess.Popen([sys.executable, "-c", RUNNER, str(tmp_path), "600"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout.readline().strip() == "locked"
        (leftover,) = store.leftovers()
        assert leftover["kind"] == "incomplete-run" and leftover["active"]
        assert leftover["bytes"] >= 1000
        assert store.gc() == [] and store.run_dir("k" * 32).is_dir()
    finally:
        live.kill()
        live.wait()
    (leftover,) = store.leftovers()
    assert not leftover["active"]  # the lock died with its process
    (tmp_path / "tmp").mkdir()
    abandoned = tmp_path / "tmp" / f"{'a' * 32}.999999999.deadbeef"  # no such pid
    abandoned.mkdir()
    assert sorted(map(str, store.gc())) == sorted([str(store.run_dir("k" * 32)), str(abandoned)])
    assert store.leftovers() == []


def test_code_fingerprints_do_not_depend_on_import_history():
    # Keys must be the same in a process that imported one data reader and in one that
    # imported another: otherwise the same representations are stored twice.
    code = ("import importlib, sys; importlib.import_module(sys.argv[1]); "
            "from harness.fingerprints import code_fingerprint; "
            "print(code_fingerprint('harness.representations'), "
            "code_fingerprint('harness.finetune'))")
    outputs = {tuple(subprocess.run([sys.executable, "-c", code, module], capture_output=True,
                                    text=True, timeout=300, check=True).stdout.split()[-2:])
               for module in ("harness.data.streusle", "harness.data.trec", "json")}
    assert len(outputs) == 1, outputs
