"""Content-addressed run store: every artifact is keyed by its full configuration.

Layout under the store root::

    objects/<key[:2]>/<key>/manifest.json   config, versions, git commit, timings, arrays
    objects/<key[:2]>/<key>/<name>.npy      arrays, memory-mappable with np.load(mmap_mode="r")
    tmp/<key>.<pid>.<random>/               an artifact being written

Atomicity: an artifact is written into its own folder under ``tmp/`` and published by
one ``os.rename`` of that folder onto its final name. A process killed mid-write leaves
only a ``tmp/`` folder, which is never read (``harness store gc`` removes it); a
concurrent writer of the same key that loses the race discards its copy and reads the
winner's (same key, same content). An artifact folder under ``objects/`` is therefore
always complete; one whose files disagree with its manifest raises :class:`StoreError`.
"""

import contextlib
import hashlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .exceptions import StoreError
from .settings import store_dir

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent

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


def code_version(*modules):
    """Fingerprint of the source of the given modules (the code an artifact depends on)."""
    digest = hashlib.sha256()
    for module in sorted(modules, key=lambda m: m.__name__):
        digest.update(module.__name__.encode())
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:12]


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

    def array(self, name, mmap=True):
        """Load array ``name``; memory-mapped (read-only) by default."""
        info = self.manifest["arrays"].get(name)
        if info is None:
            raise KeyError(f"Artifact {self.key} has no array {name!r}; it has {self.array_names()}.")
        arr = np.load(self.path / info["file"], mmap_mode="r" if mmap else None, allow_pickle=False)
        if list(arr.shape) != info["shape"] or str(arr.dtype) != info["dtype"]:
            raise StoreError(
                f"{self.path / info['file']}: shape {arr.shape}/{arr.dtype} disagrees with the "
                f"manifest ({info['shape']}/{info['dtype']}); the artifact is corrupt. "
                f"Delete it with `harness store gc --key {self.key}`."
            )
        return arr


class ArtifactWriter:
    """Collects the files of one artifact in a private temporary folder."""

    def __init__(self, tmp_path, key, config):
        self.path = tmp_path
        self.key = key
        self.config = config
        self.arrays = {}
        self.meta = {}
        self.timings = {}

    def create_array(self, name, shape, dtype=np.float32):
        """A writable memory-mapped ``.npy`` of the given shape, filled by the caller."""
        file = f"{name}.npy"
        arr = np.lib.format.open_memmap(self.path / file, mode="w+", dtype=dtype,
                                        shape=tuple(shape))
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
        Store root; default from ``HARNESS_STORE`` or ``./.harness-store``.
    """

    def __init__(self, root=None):
        self.root = store_dir(root)

    def _final(self, key):
        return self.root / "objects" / key[:2] / key

    def key(self, config):
        return config_key(config)

    def get(self, config):
        """The artifact for ``config``, or None when it has not been written."""
        return self.open(self.key(config), missing_ok=True)

    def open(self, key, missing_ok=False):
        path = self._final(key)
        manifest_file = path / "manifest.json"
        if not path.is_dir():
            if missing_ok:
                return None
            raise KeyError(f"No artifact {key} in {self.root}.")
        try:
            manifest = json.loads(manifest_file.read_text())
        except (OSError, ValueError) as err:
            raise StoreError(f"{manifest_file}: unreadable manifest ({err}); the artifact is "
                             f"corrupt. Delete it with `harness store gc --key {key}`.") from None
        for info in manifest["arrays"].values():
            if not (path / info["file"]).is_file():
                raise StoreError(f"{path}: array file {info['file']} listed in the manifest is "
                                 f"missing. Delete it with `harness store gc --key {key}`.")
        _USAGE["read"].add(key)
        return Artifact(path, manifest)

    @contextlib.contextmanager
    def writer(self, config, *, kind="artifact"):
        """Write an artifact atomically.

        Use as ``with store.writer(config) as w: w.create_array(...)``. On normal exit the
        artifact is published; on an exception its temporary folder is removed. The
        published :class:`Artifact` is available afterwards as ``w.artifact``.
        """
        key = self.key(config)
        tmp = self.root / "tmp" / f"{key}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        writer = ArtifactWriter(tmp, key, config)
        started = time.time()
        try:
            yield writer
            manifest = {
                "key": key, "kind": kind, "config": config, "arrays": writer.arrays,
                "meta": writer.meta, "timings": {**writer.timings,
                                                 "write_total_s": time.time() - started},
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                **environment(),
            }
            _write_json_durably(tmp / "manifest.json", manifest)
            for info in writer.arrays.values():
                _fsync(tmp / info["file"])
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
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def ls(self):
        """Manifests of all complete artifacts (sorted by creation time)."""
        out = []
        for manifest in sorted((self.root / "objects").glob("*/*/manifest.json")):
            try:
                out.append(json.loads(manifest.read_text()))
            except ValueError:
                out.append({"key": manifest.parent.name, "kind": "CORRUPT"})
        return sorted(out, key=lambda m: m.get("created", ""))

    def size_bytes(self, key=None):
        base = self._final(key) if key else self.root
        return sum(f.stat().st_size for f in base.rglob("*") if f.is_file())

    def gc(self, *, keys=(), kinds=(), everything=False, min_tmp_age_s=3600):
        """Remove stale temporary folders and, optionally, artifacts.

        Temporary folders are removed when their writer process is gone or they are older
        than ``min_tmp_age_s``. Artifacts are removed when listed in ``keys``, of one of
        ``kinds``, or all of them with ``everything``. Returns the removed paths.
        """
        removed = []
        for tmp in (self.root / "tmp").glob("*") if (self.root / "tmp").is_dir() else ():
            pid = int(tmp.name.split(".")[1]) if tmp.name.count(".") >= 2 else -1
            age = time.time() - tmp.stat().st_mtime
            if not _pid_alive(pid) or age > min_tmp_age_s:
                shutil.rmtree(tmp, ignore_errors=True)
                removed.append(tmp)
        for path in (self.root / "objects").glob("*/*") if (self.root / "objects").is_dir() else ():
            kind = None
            try:
                kind = json.loads((path / "manifest.json").read_text()).get("kind")
            except (OSError, ValueError):
                kind = "CORRUPT"
            if everything or path.name in keys or kind in kinds or kind == "CORRUPT":
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        return removed


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


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
