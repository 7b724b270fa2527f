"""A workspace that reads the store and never computes: for reports written from records.

``harness verify --from-records`` decides the claims from the committed per-seed records
(:mod:`harness.report.seed_records`) and then draws the report's tables and figures. Those
read analyses from the store; on a machine that did not compute them (or after the
analysis code changed, which changes their keys) they are missing, and computing them
would mean hours of fine-tuning and probing. :class:`StoredWorkspace` answers from the
store only and raises :class:`NotInStore` *before* any work otherwise, so a report
section says "not in the store" instead of starting the work.
"""

from ..analyses.workspace import Workspace
from ..exceptions import HarnessError
from ..fingerprints import code_fingerprint

__all__ = ["NotInStore", "StoredWorkspace"]

class NotInStore(HarnessError):
    """An artifact a report section needs is not in the store, and is not computed."""


class _ReadOnlyStore:
    """A :class:`~harness.store.RunStore` whose writing entry points raise
    :class:`NotInStore`: a fine-tuning run takes its lock, and an extraction opens its
    writer, before doing any work, so both stop at once."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    def writer(self, config, *, kind="artifact"):
        raise NotInStore(f"{kind} not in the store")

    def run_lock(self, key):
        raise NotInStore(f"fine-tuning run {key} not in the store")


class StoredWorkspace(Workspace):
    """:class:`~harness.analyses.workspace.Workspace` over the store's contents only.

    Every lookup is the parent's; what it would compute raises :class:`NotInStore`
    instead. An analysis result is looked up under the key :meth:`Workspace.cached`
    stores it under, before ``compute`` could run. ``seed`` is the fine-tuning seed read
    when a section names none (for a report from records,
    :func:`harness.report.seed_records.report_seed`).
    """

    def __init__(self, tier, *, store=None, data_dir=None, seed=None):
        super().__init__(tier, store=store, data_dir=data_dir, progress=False)
        self.store = _ReadOnlyStore(self.store)
        self._seed = tier.seeds[0] if seed is None else seed

    def seed(self, seed=None):
        """``seed``, or the seed this workspace reads by default (``seed=`` at construction,
        else the tier's first)."""
        return self._seed if seed is None else seed

    def run(self, model, task, seed=None):
        key = ("missing run", model, task, self.seed(seed))
        if key in self._memo:  # asked again by every section: answer without reloading
            raise self._memo[key]
        try:
            return super().run(model, task, seed)
        except NotInStore as missing:
            self._memo[key] = missing
            raise

    def n_layers(self, model, task=None):
        try:
            return super().n_layers(model, task)
        except NotInStore:  # the model's config says it without the run
            from ..models.layers import n_layers

            return n_layers(model)

    def cached(self, config, compute, *, arrays=()):
        # The key of Workspace.cached (tests/test_stored_workspace.py checks they agree).
        full = {"artifact": "analysis", **config, "code": code_fingerprint(compute.__module__)}
        if self.store.get(full) is None:
            raise NotInStore(f"analysis {config.get('analysis', '?')} not in the store")
        return super().cached(config, compute, arrays=arrays)
