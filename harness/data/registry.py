"""The task registry: task name -> :class:`TaskSpec` (kind, loader, fixed options).

Specs are cheap objects, so :func:`task_kind` answers without importing a loader or
reading data; the loader itself is a lazy ``"module:attr"`` string imported on first use.
"""

import importlib
import inspect
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from ..exceptions import UnknownNameError
from ..fingerprints import code_fingerprint, file_sha256
from ..registry import Registry
from ..settings import data_dir as resolve_data_dir
from .base import TASK_KINDS

TASKS = Registry("task")

# Parameters every loader takes that load_task fills itself (not user options).
_RESERVED = ("name", "data_dir", "max_train_sentences", "max_test_sentences")


@dataclass(frozen=True)
class TaskSpec:
    """How to load one task.

    Attributes
    ----------
    name : str
    kind : {"token", "pair", "sentence"}
    loader : str
        ``"module:function"``; called as ``loader(name, data_dir, *, max_train_sentences,
        max_test_sentences, **fixed, **options)``.
    fixed : mapping
        Keyword arguments that define the task (e.g. ``target="deprel"``).
    description : str
    """

    name: str
    kind: str
    loader: str
    fixed: Mapping = field(default_factory=dict)
    description: str = ""

    def __post_init__(self):
        if self.kind not in TASK_KINDS:
            raise ValueError(f"The 'kind' of task {self.name!r} must be one of {TASK_KINDS}. "
                             f"Got {self.kind!r} instead.")

    def load_function(self):
        module, _, attr = self.loader.partition(":")
        return getattr(importlib.import_module(module), attr)

    def options(self):
        """The user options this task accepts (loader keywords not fixed by the task)."""
        params = inspect.signature(self.load_function()).parameters
        return {p.name: p.default for p in params.values()
                if p.name not in _RESERVED and p.name not in self.fixed}


def _register(name, kind, loader, description, **fixed):
    TASKS.register(name, TaskSpec(name, kind, loader, dict(fixed), description))


_register("pos", "token", "harness.data.ud:load_pud",
          "UPOS of each word, UD English PUD (r2.9 default), first 800/last 200 sentences",
          target="upos")
_register("dep", "pair", "harness.data.ud:load_pud",
          "deprel (with subtypes) of each (head, modifier) arc, UD English PUD, 800/200",
          target="deprel")
_register("pos-ewt", "token", "harness.data.ud:load_ewt",
          "UPOS of each word, UD English EWT r2.16 official train/test", target="upos")
_register("dep-ewt", "pair", "harness.data.ud:load_ewt",
          "deprel of each (head, modifier) arc, UD English EWT r2.16 official train/test",
          target="deprel")
_register("ps-role", "token", "harness.data.streusle:load_streusle",
          "scene role (ss) of single-word p.* units, STREUSLE 4.2 train/test", target="role")
_register("ps-fxn", "token", "harness.data.streusle:load_streusle",
          "function (ss2) of single-word p.* units, STREUSLE 4.2 train/test", target="function")
_register("trec-50", "sentence", "harness.data.trec:load_trec",
          "fine question class COARSE:fine, TREC train_5500/TREC_10", granularity="fine")
_register("trec-6", "sentence", "harness.data.trec:load_trec",
          "coarse question class, TREC train_5500/TREC_10", granularity="coarse")
TASKS.freeze()


def task_names():
    """Return the registered task names, sorted."""
    return TASKS.names()


def task_spec(name):
    """Return the :class:`TaskSpec` of ``name``: a built-in task, a task file (a path) or
    the name of a registered task file (:mod:`harness.data.taskfile`); unknown names raise
    with suggestions."""
    if name in TASKS:
        return TASKS.get(name)
    # By name, not imported here: the task files' code keys their tasks only (the
    # fingerprint of a built-in reader does not follow it).
    spec = importlib.import_module("harness.data.taskfile").user_task_spec(name)
    if spec is None:
        raise UnknownNameError(TASKS.unknown_message(name) + " A task file (a .yaml path) "
                               "is accepted too (docs/own-task.md).")
    return spec


def task_kind(name):
    """Return the kind of task ``name`` ("token", "pair" or "sentence") without loading data."""
    return task_spec(name).kind


def load_task(name, data_dir=None, *, max_train_sentences=None, max_test_sentences=None, **options):
    """Load a registered task into a :class:`~harness.data.base.TaskData`.

    Parameters
    ----------
    name : str
        One of :func:`task_names` (``pos``, ``dep``, ``ps-role``, ``ps-fxn``, ``trec-50``,
        ``trec-6``, ``pos-ewt``, ``dep-ewt``), a task file (``tasks/my-task.yaml``, see
        :mod:`harness.data.taskfile`) or the name of a registered one. The result is
        named by the task, never by the file's path.
    data_dir : path-like, optional
        Resolved by :func:`harness.settings.data_dir` (``--data-dir``, then
        ``HARNESS_DATA_DIR``, then ``../shared/data``, then ``~/.cache/harness/data``).
    max_train_sentences, max_test_sentences : int, optional
        Keep only the *first* n sentences (TREC: questions) of each split, in file order,
        before examples are built (the tiny tier). Deterministic: no sampling.
    **options
        Task-specific options: ``ud_version`` ("r2.9" default, or "r2.18") and
        ``pud_train_sentences`` (800) for ``pos``/``dep``; ``eval_split`` ("test" or
        "dev") for STREUSLE and EWT tasks.

    Returns
    -------
    TaskData
        ``labels`` is the sorted label set of train. Test examples with labels absent from
        train are dropped with a :class:`~harness.exceptions.HarnessWarning` and counted in
        ``info["dropped_test_labels"]``. ``info["fingerprint"]`` (also
        :attr:`TaskData.fingerprint`) holds the sha256 of every file read and the
        fingerprint of the reader's code (:func:`harness.fingerprints.code_fingerprint`),
        and for a task file its canonical declaration
        (:meth:`~harness.data.taskfile.TaskDeclaration.canonical`); store keys of
        everything computed from the data include it.

    Raises
    ------
    UnknownNameError
        ``name`` is not registered (the message suggests close names).
    TypeError
        An option the task does not accept.
    DataFormatError
        A file is missing (:class:`~harness.data._io.MissingDataError`) or malformed
        (the message names ``file:line``), or a split is empty.

    Examples
    --------
    >>> from harness.data import load_task
    >>> task = load_task("trec-6", max_train_sentences=100)  # doctest: +SKIP
    >>> task.kind, len(task.train.sentences)  # doctest: +SKIP
    ('sentence', 100)
    """
    spec = task_spec(name)
    allowed = spec.options()
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(
            f"Task {name!r} does not accept option(s) {unknown}. "
            f"Its options are: {', '.join(f'{k}={v!r}' for k, v in allowed.items()) or 'none'}."
        )
    root = resolve_data_dir(data_dir)
    data = spec.load_function()(
        spec.name, root,
        max_train_sentences=max_train_sentences, max_test_sentences=max_test_sentences,
        **spec.fixed, **options,
    )
    return replace(data, info={**data.info, "fingerprint": _fingerprint(spec, data, root)})


def _fingerprint(spec, data, root):
    """What the loaded data depends on besides its options: the bytes of every file the
    reader read (``info["files"]``, relative to ``root``) and the reader's code."""
    reader = code_fingerprint(spec.loader.partition(":")[0])
    if "declaration" in spec.fixed:  # a task file: its declaration and the files it names
        return {"files": dict(sorted(data.info["file_sha256"].items())), "reader": reader,
                "task_file": spec.fixed["declaration"].canonical()}
    files = sorted(set(data.info["files"].values()))
    return {"files": {rel: file_sha256(Path(root) / rel) for rel in files}, "reader": reader}
