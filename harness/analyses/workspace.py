"""A tier's runs and representations, obtained once per process and cached in the store."""

import logging
from typing import NamedTuple

import numpy as np

from ..fingerprints import code_fingerprint
from ..store import RunStore

logger = logging.getLogger(__name__)


class Vectors(NamedTuple):
    """Example vectors of one layer of one stored artifact."""

    X: np.ndarray  # (n_examples, dim) float64
    y: np.ndarray  # (n_examples,) str
    source: str  # "<artifact key>/layer<k>" (update 0: "pretrained:<sha256s>/layer<k>"):
    #              identifies the vectors in cache keys


class Workspace:
    """Access to the fine-tuning runs and vectors of one tier.

    Parameters
    ----------
    tier : harness.tiers.Tier
    store : RunStore, optional
    data_dir : path, optional
    progress : bool
        Show progress bars for fine-tuning and extraction.
    """

    def __init__(self, tier, *, store=None, data_dir=None, progress=True):
        self.tier = tier
        self.store = store or RunStore()
        self.data_dir = data_dir
        self.progress = progress
        self._memo = {}

    # ---- runs --------------------------------------------------------------------------
    def seed(self, seed=None):
        """``seed``, or the tier's first fine-tuning seed when None."""
        return self.tier.seeds[0] if seed is None else seed

    def run(self, model, task, seed=None):
        """The fine-tuning run of ``model`` on ``task`` with ``seed`` (computed on first use)."""
        from ..finetune import finetune

        seed = self.seed(seed)
        key = ("run", model, task, seed)
        if key not in self._memo:
            config = self.tier.finetune_config(model, task, seed)
            self._memo[key] = finetune(config, store=self.store, data_dir=self.data_dir,
                                       progress=self.progress)
        return self._memo[key]

    def updates(self, model, task, seed=None, layer=None, split=None):
        """Updates of the run's snapshots, sorted; with ``layer`` and/or ``split``, only
        the snapshots that hold that layer (negative: from the top) and split.

        A run may keep some layers or splits at some snapshots only (the paper tier keeps
        the last layer every 5 updates and all layers every epoch, see
        :func:`harness.finetune.snapshot_plan`); an analysis that reads layer ``l`` asks
        for the snapshots holding ``l``.
        """
        run = self.run(model, task, seed)
        if layer is not None and layer < 0:
            layer = self.n_layers(model, task) + 1 + layer
        out = []
        for update, splits in sorted(run.snapshots.items()):
            for name in ([split] if split is not None else list(splits)):
                if name in splits and (layer is None
                                       or layer in self._held_layers(run, update, name)):
                    out.append(update)
                    break
        return out

    def _held_layers(self, run, update, split):
        held = run.snapshot_layers(update, split)
        if held is None:  # a run stored without its per-snapshot plan: read the artifact
            art = self.store.open(run.snapshots[update][split])
            held = [int(n[5:]) for n in art.array_names() if n.startswith("layer")]
        return held

    def n_layers(self, model, task=None):
        key = ("n_layers", model, task or self.tier.tasks[0])
        if key not in self._memo:
            run = self.run(model, key[2])
            art = self.store.open(run.snapshots[0]["train"])  # update 0 holds every layer
            self._memo[key] = max(int(n[5:]) for n in art.array_names() if n.startswith("layer"))
        return self._memo[key]

    def task_data(self, task):
        from ..data import load_task

        key = ("task", task)
        if key not in self._memo:
            self._memo[key] = load_task(task, self.data_dir,
                                        **self.tier.data_options.get(task, {}))
        return self._memo[key]

    # ---- vectors -----------------------------------------------------------------------
    def vectors(self, model, task, update, split, layer, seed=None):
        """:class:`Vectors` of a snapshot: float64 copy of the layer, labels, source id.

        ``update`` may be ``"first"``/``"last"``; ``layer`` may be negative (from the top).
        Update 0 is the pretrained model, the same for every seed: it is read from the
        first seed's run and named by its content (the sha256 of the layer's and the
        labels' files), so that every analysis of the original representation (e.g. its
        DirectProbe clustering) is computed once, whichever seed's run holds it: a later
        run of another seed finds it.
        """
        seed = self.seed(seed)
        updates = sorted(self.run(model, task, seed).snapshots)
        update = {"first": updates[0], "last": updates[-1]}.get(update, update)
        if int(update) == 0:
            seed = self.seed(None)
        run = self.run(model, task, seed)
        if layer < 0:  # from the model's top: a snapshot may hold only some layers
            layer = self.n_layers(model, task) + 1 + layer
        return self._vectors(self.store.open(run.snapshots[int(update)][split]), layer,
                             by_content=int(update) == 0)

    def cross_vectors(self, model, tuned_on, probed, split, layer=-1, seed=None):
        """Vectors of task ``probed`` under the final model fine-tuned on ``tuned_on``.

        ``tuned_on=None`` gives the original model (the run's update-0 snapshot).
        """
        from ..finetune import load_finetuned
        from ..representations import get_representations

        if tuned_on is None:
            return self.vectors(model, probed, "first", split, layer)
        if tuned_on == probed:
            return self.vectors(model, probed, "last", split, layer, seed=seed)
        seed = self.seed(seed)
        key = ("tuned-model", model, tuned_on, seed)
        if key not in self._memo:
            self._memo[key] = load_finetuned(self.run(model, tuned_on, seed))
        loaded = self._memo[key]
        data = self.task_data(probed)
        art = get_representations(data, loaded, split, layers=None,
                                  data_options=self.tier.data_options.get(probed, {}),
                                  store=self.store, progress=self.progress)
        return self._vectors(art, layer)

    def _vectors(self, art, layer, by_content=False):
        layer = self._layer(art, layer)
        source = f"{art.key}/layer{layer}"
        if by_content:
            files = art.manifest["files"]
            digest = "-".join(files[art.manifest["arrays"][name]["file"]]["sha256"][:16]
                              for name in (f"layer{layer}", "labels"))
            source = f"pretrained:{digest}/layer{layer}"
        return Vectors(np.asarray(art.array(f"layer{layer}"), dtype=np.float64),
                       np.asarray(art.array("labels")), source)

    @staticmethod
    def _layer(art, layer):
        top = max(int(n[5:]) for n in art.array_names() if n.startswith("layer"))
        return top + 1 + layer if layer < 0 else layer

    # ---- cached analysis results --------------------------------------------------------
    def cached(self, config, compute, *, arrays=()):
        """Result of ``compute()`` (a dict) cached in the store under ``config``.

        Entries of the result named in ``arrays`` are stored as ``.npy`` arrays, the rest
        as JSON in the manifest. The key holds the fingerprint of the module that
        defines ``compute`` and of every harness module it imports
        (:func:`harness.fingerprints.code_fingerprint`), so editing any code the result
        depends on invalidates it; the data is covered through the keys of the vectors
        named in ``config``, which include the sha256 of the data files. A stored result
        that fails verification is removed and computed again.
        """
        full = {"artifact": "analysis", **config, "code": code_fingerprint(compute.__module__)}
        found = self.store.get(full, repair=True)
        if found is None:
            result = compute()
            with self.store.writer(full, kind="analysis") as writer:
                for name in arrays:
                    writer.save_array(name, result[name])
                writer.meta["result"] = {k: v for k, v in result.items() if k not in arrays}
            found = writer.artifact
        out = dict(found.meta["result"])
        for name in arrays:
            out[name] = np.asarray(found.array(name))
        return out

