"""Fingerprints that key stored results: the code that produced them and the files they read.

A store key must change when anything the result depends on changes, and only then.
Two things besides the configuration are involved:

* **Code.** :func:`code_fingerprint` hashes the source of a module and of every
  ``harness`` module it imports, directly or through other ``harness`` modules, at module
  level or inside a function (a lazy import is still an import). The import graph is
  read from the source files with :mod:`ast`, so nothing is imported and the result does
  not depend on what the process happened to import before; no list of modules is kept
  by hand. A module's parent packages count as imported (their ``__init__`` runs).
* **Data.** :func:`file_sha256` hashes a data file; :func:`harness.data.load_task`
  records the digest of every file its reader read, with the fingerprint of that reader.

Registries may name their targets as lazy ``"module:attr"`` strings; those are looked up
by name at run time and are not imports. The one registry whose targets produce data,
the task registry, is covered by :func:`harness.data.load_task`, which fingerprints the
reader of the task it loads (so editing the TREC reader leaves POS results valid).
"""

import ast
import functools
import hashlib
import importlib.util
import sys
from pathlib import Path

PACKAGE = "harness"
PACKAGE_DIR = Path(__file__).resolve().parent


def _harness_module_file(name):
    """Source file of ``harness`` module ``name``, or None when it is not one."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _module_file(name):
    """Source file of a root module: a harness module, or any module already imported."""
    path = _harness_module_file(name)
    if path is None and getattr(sys.modules.get(name), "__file__", None):
        path = Path(sys.modules[name].__file__)
    if path is None:
        raise ValueError(f"code_fingerprint: {name!r} is neither a harness module nor an "
                         "imported module with a source file.")
    return path


def _parents(name):
    parts = name.split(".")
    return [".".join(parts[:k]) for k in range(1, len(parts))]


def _imported_names(name, path):
    """Every absolute module name that the source of ``name`` imports (any depth in the file)."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) \
                if node.level else node.module
            # ``from pkg import x`` imports the submodule pkg.x when there is one.
            found += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return found


@functools.lru_cache(maxsize=None)
def harness_imports(name):
    """The ``harness`` modules that module ``name`` needs, itself included, sorted.

    Parameters
    ----------
    name : str
        A dotted module name: a ``harness`` module, or any imported module (a test
        module), whose ``harness`` imports are then followed.

    Returns
    -------
    tuple of str
    """
    seen, todo = set(), [name, *_parents(name)]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        path = _harness_module_file(current) if current != name else _module_file(current)
        if path is None:
            continue  # not a harness module (numpy, torch, ...) or an attribute
        seen.add(current)
        for imported in _imported_names(current, path):
            todo += [m for m in (imported, *_parents(imported))
                     if m not in seen and _harness_module_file(m) is not None]
    return tuple(sorted(seen))


@functools.lru_cache(maxsize=None)
def code_fingerprint(*names):
    """sha256 (12 hex) of the sources of ``names`` and every harness module they import.

    Computed once per process and name set, on first use: the fingerprint describes
    the code of the files at that moment.

    Examples
    --------
    >>> "harness.data.ud" in harness_imports("harness.data.ud")
    True
    >>> len(code_fingerprint("harness.data.ud"))
    12
    """
    modules = sorted({m for name in names for m in harness_imports(name)})
    digest = hashlib.sha256()
    for module in modules:
        digest.update(module.encode() + b"\0")
        digest.update(_module_file(module).read_bytes() + b"\0")
    return digest.hexdigest()[:12]


_SHA256 = {}


def file_sha256(path):
    """sha256 (hex) of a file's bytes, computed once per path, size and modification time."""
    path = Path(path)
    st = path.stat()
    stamp = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if stamp not in _SHA256:
        with open(path, "rb") as fh:
            _SHA256[stamp] = hashlib.file_digest(fh, "sha256").hexdigest()
    return _SHA256[stamp]
