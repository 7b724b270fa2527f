"""Content-addressed run store: every artifact is keyed by its full configuration.

Layout under the store root::

    objects/<key[:2]>/<key>/manifest.json   config, versions, git commit, timings, and
                                            the size and sha256 of every other file
    objects/<key[:2]>/<key>/<name>.npy      arrays, memory-mappable with np.load(mmap_mode="r")
    tmp/<key>.<pid>.<random>/               an artifact being written
    runs/<key>/                             an unfinished fine-tuning run (checkpoint,
                                            progress.json, lock); removed when it ends

Atomicity: an artifact is written into its own folder under ``tmp/`` and published by
one ``os.rename`` of that folder onto its final name. A process killed mid-write leaves
only a ``tmp/`` folder, which is never read (``harness store gc`` removes it); a
concurrent writer of the same key that loses the race discards its copy and reads the
winner's (same key, same content). An artifact folder under ``objects/`` is therefore
complete when published.

Integrity: the manifest records the size and sha256 of every file. Opening an artifact
checks that each file exists with its recorded size; reading an array also checks its
sha256 (once per process and file). A mismatch raises :class:`StoreError`; a producer
that finds its own result broken (``get(config, repair=True)``) removes it, warns, and
computes it again. ``harness store verify`` re-hashes everything.
"""

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .exceptions import HarnessWarning, StoreError
from .fingerprints import file_sha256
from .settings import store_dir

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "manifest.json"

# Keys this process read from and wrote to any store: what a run reused and computed.
_USAGE = {"read": set(), "written": set()}


def usage():
    """Artifacts this process found already stored (reused) and wrote (computed)."""
    written = _USAGE["written"]
    return {"artifacts_reused": len(_USAGE["read"] - written), "artifacts_computed": len(written)}


def canonical_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def config_key(config):
    """sha256 (hex, 32 chars) of the canonical JSON of ``config``."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:32]


def git_commit():
    """``<sha>`` of HEAD, with ``-dirty`` when the work tree has changes; None outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=PROJECT_ROOT, capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (sha + ("-dirty" if dirty else "")) if sha else None


def environment():
    """Library versions and machine facts recorded with every artifact and report."""
    versions = {"python": sys.version.split()[0]}
    for name in ("numpy", "scipy", "sklearn", "torch", "transformers", "harness"):
        module = sys.modules.get(name)
        if module is None:
            try:
                module = __import__(name)
            except ImportError:
                continue
        versions[name] = getattr(module, "__version__", "?")
    return {
        "versions": versions,
        "git_commit": git_commit(),
        "machine": {"platform": platform.platform(), "processor": platform.machine(),
                    "cpu_count": os.cpu_count()},
    }


def _unwritable(root, err):
    return StoreError(f"store {root} is not writable ({err.strerror}); give a writable "
                      "directory with --store DIR or HARNESS_STORE.")


#: Room kept free beyond an array's own size when checking the disk before writing it
#: (the manifest, the header, the file system's own blocks).
SPACE_MARGIN_BYTES = 16 * 1024 ** 2


def _human(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def _free_bytes(path):
    """Free bytes on the file system of ``path`` (None when it cannot be asked)."""
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def is_no_space(err):
    """Whether ``err`` is a full disk: ENOSPC, or a library's text of it (safetensors)."""
    return (isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)) or \
        "No space left on device" in str(err)


def no_space_error(where, needed=None):
    """The one line for a full disk at ``where``: the space needed and the space free."""
    free = _free_bytes(where)
    need = f"{_human(needed)} needed, " if needed is not None else ""
    left = f"{_human(free)} free" if free is not None else "free space unknown"
    return StoreError(f"store {where}: no space left on its device ({need}{left}). Free some "
                      "space, or give a store on a larger disk with --store DIR or "
                      "HARNESS_STORE; what was stored is intact and a rerun resumes.")


def _repair_hint(key):
    return (f"Run the same command again to compute it anew, or remove it with "
            f"`harness store gc --key {key}`.")


def _file_problem(path, recorded, *, full):
    """Why ``path`` disagrees with its manifest record (None when it agrees).

    ``full`` also compares the sha256 (memoised per path, size and mtime); otherwise
    only existence and size are checked.
    """
    if not path.is_file():
        return "is missing"
    size = path.stat().st_size
    if size != recorded["bytes"]:
        return f"has {size} bytes, the manifest says {recorded['bytes']}"
    if full and file_sha256(path) != recorded["sha256"]:
        return "has a different sha256 than the manifest records"
    return None


@dataclass(frozen=True)
class Artifact:
    """A complete artifact in the store; arrays open memory-mapped."""

    path: Path
    manifest: dict

    @property
    def key(self):
        return self.manifest["key"]

    @property
    def config(self):
        return self.manifest["config"]

    @property
    def meta(self):
        return self.manifest.get("meta", {})

    def array_names(self):
        return sorted(self.manifest["arrays"])

    def problems(self, *, full=True):
        """``["<file> <what is wrong>", ...]`` over every file the manifest records."""
        out = []
        for rel, recorded in sorted(self.manifest.get("files", {}).items()):
            problem = _file_problem(self.path / rel, recorded, full=full)
            if problem:
                out.append(f"{rel} {problem}")
        return out

    def check_file(self, rel):
        """Raise :class:`StoreError` unless file ``rel`` matches its size and sha256."""
        recorded = self.manifest.get("files", {}).get(rel)
        problem = "is not in the manifest" if recorded is None else \
            _file_problem(self.path / rel, recorded, full=True)
        if problem:
            raise StoreError(f"{self.path / rel} {problem}; the artifact is corrupt. "
                             f"{_repair_hint(self.key)}")

    def array(self, name, mmap=True):
        """Load array ``name``; memory-mapped (read-only) by default.

        Raises
        ------
        StoreError
            The file's size, sha256, shape or dtype disagrees with the manifest.
        """
        info = self.manifest["arrays"].get(name)
        if info is None:
            raise KeyError(f"Artifact {self.key} has no array {name!r}; it has {self.array_names()}.")
        self.check_file(info["file"])
        arr = np.load(self.path / info["file"], mmap_mode="r" if mmap else None, allow_pickle=False)
        if list(arr.shape) != info["shape"] or str(arr.dtype) != info["dtype"]:
            raise StoreError(
                f"{self.path / info['file']}: shape {arr.shape}/{arr.dtype} disagrees with the "
                f"manifest ({info['shape']}/{info['dtype']}); the artifact is corrupt. "
                f"{_repair_hint(self.key)}"
            )
        return arr


class ArtifactWriter:
    """Collects the files of one artifact in a private temporary folder."""

    def __init__(self, tmp_path, key, config, root=None):
        self.path = tmp_path
        self.root = root if root is not None else tmp_path.parent.parent
        self.key = key
        self.config = config
        self.arrays = {}
        self.meta = {}
        self.timings = {}

    def create_array(self, name, shape, dtype=np.float32):
        """A writable memory-mapped ``.npy`` of the given shape, filled by the caller.

        Its blocks are reserved on disk before the map is returned: writing a memory map
        past the end of a full disk kills the process with SIGBUS, without a message.

        Raises
        ------
        StoreError
            The disk has no room for the array (checked before anything is written).
        """
        file = f"{name}.npy"
        needed = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        free = _free_bytes(self.path)
        if free is not None and free < needed + SPACE_MARGIN_BYTES:
            raise no_space_error(self.root, needed + SPACE_MARGIN_BYTES)
        arr = np.lib.format.open_memmap(self.path / file, mode="w+", dtype=dtype,
                                        shape=tuple(shape))
        _reserve(self.path / file, self.root)
        self.arrays[name] = {"file": file, "shape": list(shape), "dtype": str(np.dtype(dtype))}
        return arr

    def save_array(self, name, array):
        array = np.asarray(array)
        target = self.create_array(name, array.shape, array.dtype)
        target[...] = array
        target.flush()
        del target


class RunStore:
    """The content-addressed artifact store (see the module docstring).

    Parameters
    ----------
    root : path, optional
        Store root; default from ``HARNESS_STORE`` or ``./.harness-store``. Nothing is
        created until something is written.
    """

    def __init__(self, root=None):
        self.root = store_dir(root)

    def _final(self, key):
        return self.root / "objects" / key[:2] / key

    def key(self, config):
        return config_key(config)

    # ---- checks before use ---------------------------------------------------------------
    def check_exists(self):
        """Raise :class:`StoreError` unless the root is an existing directory (for reading)."""
        if not self.root.exists():
            raise StoreError(f"store {self.root} does not exist; give an existing store with "
                             "--store DIR or HARNESS_STORE (commands that compute create it).")
        if not self.root.is_dir():
            raise StoreError(f"store {self.root} is a file, not a store directory; give a "
                             "directory with --store DIR or HARNESS_STORE.")
        return self

    def check_writable(self):
        """Raise :class:`StoreError` unless the store can be written (created if need be).

        Called before any model or data is loaded, so that a bad store fails at once.
        Nothing is created: the test file is anonymous (``tempfile.TemporaryFile``) and
        lives in the store, or in its nearest existing parent when the store is new.
        """
        if self.root.exists() and not self.root.is_dir():
            self.check_exists()
        parent = self.root
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise StoreError(f"store {self.root} cannot be created: {parent} is a file. Give "
                             "a directory with --store DIR or HARNESS_STORE.")
        try:
            with tempfile.TemporaryFile(dir=parent):
                pass
        except OSError as err:
            raise _unwritable(self.root, err) from None
        return self

    def check_free(self, needed):
        """Raise :class:`StoreError` when the store's disk has less than ``needed`` bytes
        (plus a margin) free: checked before a large write whose size is known."""
        where = self.root if self.root.exists() else self.root.parent
        free = _free_bytes(where)
        if free is not None and free < needed + SPACE_MARGIN_BYTES:
            raise no_space_error(self.root, needed + SPACE_MARGIN_BYTES)
        return self

    # ---- reading -------------------------------------------------------------------------
    def get(self, config, *, repair=False):
        """The artifact for ``config``, or None when it has not been written.

        With ``repair=True`` (for the code that produces the artifact) a stored artifact
        that fails :meth:`verify` is removed with a :class:`HarnessWarning` and None is
        returned, so that the caller computes it again; otherwise a broken artifact
        raises :class:`StoreError`.
        """
        key = self.key(config)
        if not repair:
            return self.open(key, missing_ok=True)
        problems = self.verify(key) if self._final(key).is_dir() else []
        if problems:
            warnings.warn(f"Artifact {key} in {self.root} is corrupt ({'; '.join(problems)}); "
                          "removing it and computing it again.", HarnessWarning, stacklevel=2)
            self.remove(key)
            return None
        return self.open(key, missing_ok=True)

    def open(self, key, missing_ok=False):
        """The artifact ``key``; checks that its files exist with their recorded sizes.

        Raises
        ------
        KeyError
            No such artifact (unless ``missing_ok``, which returns None).
        StoreError
            The manifest is unreadable, or a file is missing or has the wrong size.
        """
        path = self._final(key)
        if not path.is_dir():
            if missing_ok:
                return None
            raise KeyError(f"No artifact {key} in {self.root}.")
        art = Artifact(path, self._read_manifest(key))
        problems = art.problems(full=False)
        if problems:
            raise StoreError(f"{path}: {'; '.join(problems)}; the artifact is corrupt. "
                             f"{_repair_hint(key)}")
        _USAGE["read"].add(key)
        return art

    def _read_manifest(self, key):
        manifest_file = self._final(key) / MANIFEST
        try:
            manifest = json.loads(manifest_file.read_text())
            if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
                raise ValueError("it records no file checksums: written by an older harness, "
                                 "whose keys are no longer used")
            if manifest.get("key") != key:
                # A folder moved or swapped by hand: its files agree with its own manifest,
                # so only the key tells that it answers another configuration.
                raise ValueError(f"it is the manifest of artifact {manifest.get('key')}, "
                                 f"not of {key}, the folder it is in")
        except (OSError, ValueError) as err:
            raise StoreError(f"{manifest_file}: unreadable manifest ({err}); the artifact is "
                             f"corrupt. {_repair_hint(key)}") from None
        return manifest

    def verify(self, key):
        """Re-hash artifact ``key`` against its manifest: a list of problems (empty if sound)."""
        try:
            art = Artifact(self._final(key), self._read_manifest(key))
        except StoreError as err:
            return [str(err)]
        listed = set(art.manifest["files"]) | {MANIFEST}
        extra = sorted(str(f.relative_to(art.path)) for f in art.path.rglob("*")
                       if f.is_file() and str(f.relative_to(art.path)) not in listed)
        return art.problems(full=True) + [f"{rel} is not in the manifest" for rel in extra]

    def keys(self):
        """Keys of all published artifacts (sorted)."""
        objects = self.root / "objects"
        return sorted(p.name for p in objects.glob("*/*") if p.is_dir()) if objects.is_dir() else []

    # ---- writing -------------------------------------------------------------------------
    @contextlib.contextmanager
    def writer(self, config, *, kind="artifact"):
        """Write an artifact atomically.

        Use as ``with store.writer(config) as w: w.create_array(...)``. On normal exit the
        artifact is published with the size and sha256 of each file in its manifest; on
        an exception its temporary folder is removed. The published :class:`Artifact` is
        available afterwards as ``w.artifact``.
        """
        key = self.key(config)
        tmp = self.root / "tmp" / f"{key}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        try:
            tmp.mkdir(parents=True)
        except OSError as err:
            raise _unwritable(self.root, err) from None
        writer = ArtifactWriter(tmp, key, config, self.root)
        started = time.time()
        try:
            yield writer
            files = {}
            for f in sorted(tmp.rglob("*")):
                if f.is_file():
                    _fsync(f)
                    files[str(f.relative_to(tmp))] = {"bytes": f.stat().st_size,
                                                      "sha256": file_sha256(f)}
            manifest = {
                "key": key, "kind": kind, "config": config, "arrays": writer.arrays,
                "files": files, "meta": writer.meta,
                "timings": {**writer.timings, "write_total_s": time.time() - started},
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                **environment(),
            }
            _write_json_durably(tmp / MANIFEST, manifest)
            final = self._final(key)
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(tmp, final)
            except OSError:
                if not final.is_dir():
                    raise
                logger.info("artifact %s was written concurrently; keeping the first copy", key)
                shutil.rmtree(tmp, ignore_errors=True)
            _USAGE["written"].add(key)
            writer.artifact = self.open(key)
        except BaseException as err:
            shutil.rmtree(tmp, ignore_errors=True)
            if is_no_space(err) and not isinstance(err, StoreError):
                raise no_space_error(self.root) from None
            raise

    def remove(self, key):
        """Remove artifact ``key``: renamed into ``tmp/`` first, so no reader sees half of it."""
        final = self._final(key)
        doomed = self.root / "tmp" / f"{key}.{os.getpid()}.removed-{uuid.uuid4().hex[:8]}"
        doomed.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(final, doomed)
        except FileNotFoundError:
            return None  # removed concurrently
        shutil.rmtree(doomed, ignore_errors=True)
        return final

    # ---- unfinished fine-tuning runs -------------------------------------------------------
    def run_dir(self, key):
        """Working folder of the unfinished fine-tuning run ``key`` (checkpoint, progress)."""
        return self.root / "runs" / key

    @contextlib.contextmanager
    def run_lock(self, key):
        """Mark run ``key`` as in progress while the block runs (a shared ``flock``).

        ``gc`` leaves a locked run alone. The lock goes with the process, so a killed
        run is unlocked at once and its checkpoint is kept for resuming, or for ``gc``.
        """
        run_dir = self.run_dir(key)
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            fh = open(run_dir / "lock", "a")
        except OSError as err:
            raise _unwritable(self.root, err) from None
        with fh:
            fcntl.flock(fh, fcntl.LOCK_SH)
            try:
                yield run_dir
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def leftovers(self):
        """Unfinished runs and temporary folders, as plain records.

        Returns
        -------
        list of dict
            ``kind`` ("incomplete-run" or "temporary"), ``path``, ``bytes``, ``active``
            (a live process is using it) and, for runs, ``key``, ``config`` and
            ``progress`` (``{"update", "total"}`` at the last checkpoint, or None).
        """
        out = []
        runs = self.root / "runs"
        for path in sorted(runs.iterdir()) if runs.is_dir() else ():
            out.append({"kind": "incomplete-run", "key": path.name, "path": path,
                        "bytes": _tree_bytes(path), "active": _run_active(path),
                        "config": _read_json(path / "config.json"),
                        "progress": _read_json(path / "progress.json")})
        tmp = self.root / "tmp"
        for path in sorted(tmp.iterdir()) if tmp.is_dir() else ():
            out.append({"kind": "temporary", "path": path, "bytes": _tree_bytes(path),
                        "active": _tmp_active(path)})
        return out

    # ---- listing and cleaning --------------------------------------------------------------
    def ls(self):
        """Manifests of all complete artifacts (sorted by creation time)."""
        out = []
        for key in self.keys():
            try:
                out.append(self._read_manifest(key))
            except StoreError:
                out.append({"key": key, "kind": "CORRUPT"})
        return sorted(out, key=lambda m: m.get("created", ""))

    def size_bytes(self, key=None):
        return _tree_bytes(self._final(key) if key else self.root)

    def gc(self, *, keys=(), kinds=(), everything=False, min_tmp_age_s=3600):
        """Remove leftovers and, optionally, artifacts.

        Always removed: temporary folders and files whose writer process is gone (or that
        are older than ``min_tmp_age_s``), unfinished fine-tuning runs that no live process
        is running (their checkpoints: the next run of that configuration starts from
        update 0), and artifacts whose manifest cannot be read. Artifacts are removed when
        listed in ``keys``, of one of ``kinds``, or all of them with ``everything``.
        Returns the removed paths.
        """
        removed = []
        for item in self.leftovers():
            path = item["path"]
            stale = not item["active"] or (
                item["kind"] == "temporary" and time.time() - path.stat().st_mtime > min_tmp_age_s)
            if item["kind"] == "incomplete-run":
                if _remove_unlocked_run(path):
                    removed.append(path)
            elif stale:
                _remove_path(path)
                removed.append(path)
        for key in self.keys():
            try:
                kind = self._read_manifest(key).get("kind")
            except StoreError:
                kind = "CORRUPT"
            if everything or key in keys or kind in kinds or kind == "CORRUPT":
                removed.append(self.remove(key) or self._final(key))
        return removed


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def _tree_bytes(path):
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _writer_pid(path):
    """The writer's pid in a temporary name: ``<key>.<pid>.<random>`` (artifact folders,
    removals) or ``.<name>.<pid>.<random>`` (files); -1 when there is none."""
    parts = path.name.lstrip(".").split(".")
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else -1


def _tmp_active(path):
    return _pid_alive(_writer_pid(path))


def _run_active(run_dir):
    """Whether a live process holds the run's lock (see :meth:`RunStore.run_lock`)."""
    lock = run_dir / "lock"
    if not lock.is_file():
        return False
    with open(lock, "rb") as fh:  # flock needs no write access: works on a read-only store
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def _remove_unlocked_run(run_dir):
    """Remove an unfinished run's folder unless a live process holds its lock."""
    lock = run_dir / "lock"
    if not lock.is_file():
        _remove_path(run_dir)
        return True
    with open(lock, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        _remove_path(run_dir)  # holding the lock: no run can start on it meanwhile
    return True


def _remove_path(path):
    if Path(path).is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        Path(path).unlink(missing_ok=True)


def _pid_alive(pid):
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json_durably(path, obj):
    with open(path, "w") as fh:
        json.dump(obj, fh, indent=1, default=str)
        fh.flush()
        os.fsync(fh.fileno())


def _reserve(path, root):
    """Allocate every block of ``path`` now (``posix_fallocate``), so that a full disk is
    an error here rather than SIGBUS in a memory-mapped write later."""
    try:
        with open(path, "r+b") as fh:
            os.posix_fallocate(fh.fileno(), 0, os.fstat(fh.fileno()).st_size)
    except OSError as err:
        if is_no_space(err):
            raise no_space_error(root, os.path.getsize(path)) from None
        if err.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
    except AttributeError:  # no posix_fallocate on this platform: the free-space check stands
        pass


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``.

    A full disk raises an ``OSError`` (ENOSPC) after the temporary file is removed, so
    that the old content of ``path`` stays and nothing half-written is left.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
