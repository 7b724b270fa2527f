"""A Workspace whose fine-tuning runs are hand-made arrays (for analyses and claim tests).

The analysis code, its store cache and the geometry kernels all run for real; only the
fine-tuning and extraction are replaced by in-memory snapshots.
"""

import hashlib
from dataclasses import replace
from types import SimpleNamespace

import numpy as np

from harness.analyses import Workspace
from harness.analyses.workspace import Vectors
from harness.tiers import get_tier


class SnapshotWorkspace(Workspace):
    """Runs given as ``{update: {layer: (X, y)}}`` (train split), or per seed as
    ``{seed: {update: {layer: (X, y)}}}`` with ``seeds=``. A snapshot may hold only some
    layers (a sparse schedule); update 0 must hold them all.

    ``test`` gives the test split the same way (default: the train split); ``cross`` gives
    the vectors of a probed task under a model fine-tuned on another, as
    ``{tuned_on: {split: {layer: (X, y)}}}``. ``kind`` is the task kind that
    :meth:`task_data` reports ("token" or "sentence").
    """

    def __init__(self, snapshots, store, *, seeds=None, test=None, cross=None, kind="token",
                 tier="tiny"):
        tier = get_tier(tier)
        if seeds is not None:
            tier = replace(tier, seeds=tuple(seeds))
            self.runs, self.tests = snapshots, test
        else:
            self.runs = {tier.seeds[0]: snapshots}
            self.tests = None if test is None else {tier.seeds[0]: test}
        super().__init__(tier, store=store, progress=False)
        self.kind = kind
        self.cross = cross or {}

    def updates(self, model, task, seed=None, layer=None, split=None):
        runs = self.runs[self.seed(seed)]
        if layer is not None and layer < 0:
            layer = self.n_layers(model) + 1 + layer
        return sorted(u for u, layers in runs.items() if layer is None or layer in layers)

    def n_layers(self, model, task=None):
        first = self.runs[self.seed()]
        return max(first[min(first)])

    def task_data(self, task):
        return SimpleNamespace(kind=self.kind)

    def vectors(self, model, task, update, split, layer, seed=None):
        seed = self.seed(seed)
        updates = self.updates(model, task, seed)
        update = {"first": updates[0], "last": updates[-1]}.get(update, update)
        if update == 0:
            seed = self.seed()
        snapshots = (self.tests if split == "test" and self.tests else self.runs)[seed]
        layer = self.n_layers(model) + 1 + layer if layer < 0 else layer
        return self._array_vectors(f"{task}/{split}", update, layer, *snapshots[update][layer])

    def cross_vectors(self, model, tuned_on, probed, split, layer=-1, seed=None):
        if tuned_on is None or tuned_on == probed:
            return self.vectors(model, probed, "first" if tuned_on is None else "last", split,
                                layer, seed=seed)
        layer = self.n_layers(model) + 1 + layer if layer < 0 else layer
        return self._array_vectors(f"{probed}@{tuned_on}/{split}", "final", layer,
                                   *self.cross[tuned_on][split][layer])

    @staticmethod
    def _array_vectors(task, update, layer, X, y):
        X, y = np.asarray(X, float), np.asarray(y)
        # The source keys analysis caches: it must identify the contents, as a store key does.
        digest = hashlib.sha256(X.tobytes() + "\0".join(map(str, y)).encode()).hexdigest()[:16]
        return Vectors(X, y, f"test/{task}/{update}/L{layer}/{digest}")


def blobs(rng, centres, n=8, scale=0.05):
    """``n`` points around each centre (labels ``l0``, ``l1``, ...)."""
    centres = np.asarray(centres, dtype=float)
    X = np.vstack([c + scale * rng.standard_normal((n, len(c))) for c in centres])
    y = np.repeat([f"l{i}" for i in range(len(centres))], n)
    return X, y
