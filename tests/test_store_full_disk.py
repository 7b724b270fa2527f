"""A full disk is one line that names the store and the space needed (issue 22): checked
before a large write, blocks reserved before a memory map is written (no SIGBUS), a
library's "No space left on device" translated; the store stays consistent."""

import errno
import os

import numpy as np
import pytest

import harness.store as store_module
from harness.exceptions import StoreError
from harness.store import RunStore


def _nothing_left_behind(store):
    assert store.keys() == []
    assert not any((store.root / "tmp").iterdir()) if (store.root / "tmp").is_dir() else True


def test_an_array_larger_than_the_free_space_is_refused_before_writing(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "store")
    monkeypatch.setattr(store_module, "_free_bytes", lambda path: 10 * 1024 ** 2)
    with pytest.raises(StoreError, match=r"store .*store: no space left on its device "
                                         r"\(\d+\.\d MiB needed, 10\.0 MiB free\)"):
        with store.writer({"big": 1}) as w:
            w.create_array("x", (1000, 1000))
    _nothing_left_behind(store)


def test_blocks_are_reserved_so_a_full_disk_is_an_error_not_sigbus(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "store")

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(StoreError, match="no space left on its device"):
        with store.writer({"big": 2}) as w:
            w.create_array("x", (100, 100))
    _nothing_left_behind(store)


def test_a_library_s_no_space_error_names_the_store(tmp_path):
    class SafetensorError(Exception):  # what safetensors raises on a full disk
        pass

    store = RunStore(tmp_path / "store")
    with pytest.raises(StoreError, match=f"store {store.root}: no space left"):
        with store.writer({"model": 1}):
            raise SafetensorError("Error while serializing: IoError(Os { code: 28, kind: "
                                  "StorageFull, message: \"No space left on device\" })")
    _nothing_left_behind(store)


def test_a_write_that_fits_is_unchanged(tmp_path):
    store = RunStore(tmp_path / "store")
    with store.writer({"ok": 1}) as w:
        w.save_array("x", np.arange(6.0).reshape(2, 3))
    assert store.verify(w.key) == []
    np.testing.assert_array_equal(store.get({"ok": 1}).array("x"), np.arange(6.0).reshape(2, 3))


def test_a_checkpoint_on_a_full_disk_keeps_the_previous_one(tmp_path, monkeypatch):
    from test_checkpoint_security import _parts  # noqa: E402  (tests/ is on sys.path)

    from harness.finetune import _load_checkpoint, _save_checkpoint

    path = tmp_path / "store" / "runs" / "k" / "checkpoint.pt"
    path.parent.mkdir(parents=True)
    parts = _parts()
    _save_checkpoint(path, *parts, {"update": 1})
    monkeypatch.setattr(store_module, "_free_bytes", lambda p: 1024)
    with pytest.raises(StoreError, match="no space left on its device"):
        _save_checkpoint(path, *parts, {"update": 2})
    monkeypatch.undo()
    assert _load_checkpoint(path, *parts) == {"update": 1}
