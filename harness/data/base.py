"""The in-memory form of a probing task: sentences plus labelled targets.

Every task of the paper is "label a target inside a sentence":

========  ======================  ===========================================
kind      ``positions``           vector the target is represented by
========  ======================  ===========================================
token     ``(i,)``                word ``i`` (mean of its subword vectors)
pair      ``(head, modifier)``    concat(word ``head``, word ``modifier``)
sentence  ``()``                  the ``[CLS]`` vector
========  ======================  ===========================================

So one structure serves loaders, extraction and fine-tuning alike.
"""

import hashlib
from dataclasses import dataclass, field
from typing import Tuple

TASK_KINDS = ("token", "pair", "sentence")
POSITIONS_PER_KIND = {"token": 1, "pair": 2, "sentence": 0}


@dataclass(frozen=True)
class Example:
    """One labelled target.

    Attributes
    ----------
    sentence : int
        Index into :attr:`Split.sentences`.
    positions : tuple of int
        0-based word indices inside that sentence (see the module table).
    label : str
    source : str
        ``"file:line"`` of the annotation, for error messages and audits.
    """

    sentence: int
    positions: Tuple[int, ...]
    label: str
    source: str = ""


@dataclass(frozen=True)
class Split:
    """The sentences of one split and the labelled targets inside them."""

    sentences: Tuple[Tuple[str, ...], ...]
    examples: Tuple[Example, ...]
    sentence_ids: Tuple[str, ...] = ()

    def __len__(self):
        return len(self.examples)

    @property
    def labels(self):
        return [e.label for e in self.examples]


@dataclass(frozen=True)
class TaskData:
    """A loaded task: its kind, its label inventory (sorted) and its splits."""

    name: str
    kind: str
    labels: Tuple[str, ...]
    train: Split
    test: Split
    info: dict = field(default_factory=dict)

    @property
    def fingerprint(self):
        """What keys results computed from this data.

        ``{"files": {path: sha256}, "reader": code fingerprint}`` as recorded by
        :func:`~harness.data.load_task`; for a task built by hand, ``{"content": sha256}``
        of its kind, labels and splits.
        """
        recorded = self.info.get("fingerprint")
        if recorded is not None:
            return recorded
        content = repr((self.kind, self.labels, self.train, self.test)).encode()
        return {"content": hashlib.sha256(content).hexdigest()}

    def split(self, name):
        if name not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test'. Got {name!r} instead.")
        return getattr(self, name)
