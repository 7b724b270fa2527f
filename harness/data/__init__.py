"""Probing tasks of the paper, loaded by name into :class:`~harness.data.base.TaskData`.

>>> from harness.data import load_task, task_names, task_kind
>>> task_kind("dep")
'pair'

See ``docs/data.md`` for the tasks, splits and label policies, and ``harness data
download`` / ``harness data verify`` / ``harness data stats`` for the command line.
"""

from .base import TASK_KINDS, Example, Split, TaskData
from .registry import TASKS, TaskSpec, load_task, task_kind, task_names, task_spec

__all__ = [
    "TASK_KINDS",
    "TASKS",
    "Example",
    "Split",
    "TaskData",
    "TaskSpec",
    "load_task",
    "task_kind",
    "task_names",
    "task_spec",
]
