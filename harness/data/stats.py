"""Per-task, per-split counts as plain dicts (for ``harness data stats`` and reports)."""

from collections import Counter

from .registry import load_task, task_names

SPLITS = ("train", "test")


def split_stats(split):
    """Counts of one :class:`~harness.data.base.Split`.

    Returns
    -------
    dict
        ``sentences``, ``examples``, ``n_labels`` and ``labels`` (label -> count, sorted
        by label).
    """
    counts = Counter(split.labels)
    return {
        "sentences": len(split.sentences),
        "examples": len(split.examples),
        "n_labels": len(counts),
        "labels": dict(sorted(counts.items())),
    }


def task_stats(task):
    """Counts of a loaded :class:`~harness.data.base.TaskData` (see :func:`split_stats`)."""
    return {
        "kind": task.kind,
        "n_labels": len(task.labels),
        "dropped_test_labels": dict(task.info.get("dropped_test_labels", {})),
        "splits": {name: split_stats(task.split(name)) for name in SPLITS},
    }


def data_stats(tasks=None, data_dir=None, **load_kwargs):
    """Load ``tasks`` (default: all registered) and return their counts.

    Loading warnings (dropped test labels) still fire; their counts are also in each
    task's ``dropped_test_labels``.

    Returns
    -------
    dict
        ``{task: {"kind", "n_labels", "dropped_test_labels", "splits": {"train": {...},
        "test": {...}}}}`` with the split dicts of :func:`split_stats`.
    """
    out = {}
    for name in tasks or task_names():
        out[name] = task_stats(load_task(name, data_dir, **load_kwargs))
    return out
