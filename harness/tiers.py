"""Named verification tiers: which models, data, schedules and probe grids a claim run uses.

``tiny`` runs in CI on a 2-core CPU: the offline default model on the real data, capped
to the first sentences of each training file, a sparser snapshot schedule and a reduced
probe grid. The caps were fixed from the time budget before any claim was run, and are
never tuned to make a claim pass. ``paper`` is the paper's protocol (full data, 10
epochs, the paper's probe grid, 5 seeds) on the offline model, with a snapshot schedule
that keeps the store affordable (:data:`PAPER_SCHEDULE`, docs/paper-tier.md); ``full``
is the same protocol on the paper's five BERT models.
"""

from dataclasses import dataclass, field, replace

from .exceptions import UnknownNameError
from .registry import unknown_name_message

PAPER_TASKS = ("pos", "dep", "ps-role", "ps-fxn", "trec-50")


@dataclass(frozen=True)
class Tier:
    """One claim-verification configuration.

    Attributes
    ----------
    name : str
    models : tuple of str
    tasks : tuple of str
    data_options : dict
        Per task, keyword arguments of :func:`harness.data.load_task` (sentence caps).
    seeds : tuple of int
        Fine-tuning seeds. Every claim is decided on each of them and holds when the
        paper's rule holds on a strict majority of the seeds where it applies
        (``claims/_framework.decide``); the first seed's runs feed the report's tables.
    snapshot_every, n_snapshots, intermediate_splits :
        Snapshot schedule (see :class:`~harness.finetune.FinetuneConfig`).
    probe_grid : str
        ``"tiny"`` or ``"paper"`` (see :func:`harness.probes.probe_grid_search`).
    probe_backend : str
    probe_seeds : int
        Initialisations of the best probe setting (the paper's 5).
    directprobe_mode, directprobe_rate :
        DirectProbe settings (the fine-tuning paper used rate 0.05).
    directprobe_on_duplicates : str
        Identical vectors under different labels (repeated TREC questions): ``"drop"``
        them before clustering (no clustering could separate them).
    directprobe_time_limit : float or None
        CPU seconds one DirectProbe run may take (the paper tiers: 600). A run past it
        records only what it proved (linear or not, bounds on the cluster count); a claim
        that needs more is "not run: budget". A budget changes which numbers are measured,
        never their values, so it is no part of a seed record's protocol.
    min_cluster_size : int
        Clusters with fewer points are dropped from distance analyses (the authors drop
        clusters of 5 points or fewer, i.e. keep size >= 6).
    separability_tol : float
        The separability tolerance of every verdict: hulls closer than this times the
        data's radius count as not separable
        (:data:`harness.geometry.separability.SEPARABILITY_TOL`, 1e-6; docs/claims.md).
    cross_task : dict
        ``{probed task: (fine-tuned-on tasks ...)}`` (the paper's Table 5).
    finetune_options : dict
        Further :class:`~harness.finetune.FinetuneConfig` fields for every run of the tier
        (the per-snapshot schedule, checkpoints, ``max_updates`` for smoke runs).
    task_options : dict
        ``{task: {FinetuneConfig field: value}}``, over the above for one task's runs.
    default_caps : dict
        ``{kind: caps}``: the data caps of a task ``data_options`` does not list (a task
        file, the built-in tasks beyond the paper's five), by the task's kind; the tiny
        tier's keep such a task as cheap as the paper's tasks there.
    """

    name: str
    models: tuple
    tasks: tuple = PAPER_TASKS
    data_options: dict = field(default_factory=dict)
    seeds: tuple = (0,)
    snapshot_every: int = 5
    n_snapshots: int = None
    intermediate_splits: tuple = None
    probe_grid: str = "paper"
    probe_backend: str = "torch"
    probe_seeds: int = 5
    directprobe_mode: str = "reference"
    directprobe_rate: float = 0.05
    directprobe_on_duplicates: str = "drop"
    directprobe_time_limit: float = None
    min_cluster_size: int = 6
    separability_tol: float = 1e-6  # harness.geometry.SEPARABILITY_TOL (a test keeps them equal)
    cross_task: dict = field(default_factory=lambda: {"ps-fxn": ("ps-fxn", "ps-role", "pos")})
    finetune_options: dict = field(default_factory=dict)
    task_options: dict = field(default_factory=dict)
    default_caps: dict = field(default_factory=dict)
    description: str = ""

    def finetune_config(self, model, task, seed=None):
        """The :class:`~harness.finetune.FinetuneConfig` of one run of this tier (every
        command that fine-tunes for a tier builds its configuration here)."""
        from .finetune import FinetuneConfig  # torch: only when a run is configured

        options = dict(snapshot_every=self.snapshot_every, n_snapshots=self.n_snapshots,
                       intermediate_splits=self.intermediate_splits,
                       data_options=self.task_data_options(task))
        options.update(self.finetune_options)
        options.update(self.task_options.get(task, {}))
        return FinetuneConfig(model=model, task=task,
                              seed=self.seeds[0] if seed is None else seed, **options)

    def directprobe_settings(self):
        """The DirectProbe settings of this tier's analyses, by ``harness directprobe``'s
        option names (``--preset TIER`` reproduces the pipeline's distances)."""
        return {"mode": self.directprobe_mode, "rate": self.directprobe_rate,
                "on_duplicates": self.directprobe_on_duplicates,
                "min_cluster_size": self.min_cluster_size, "distance": "exact",
                "separability_tol": self.separability_tol}

    def task_data_options(self, task):
        """The data caps of ``task``: the tier's for it, else :attr:`default_caps` of its
        kind (the task's kind is read without loading data)."""
        if task in self.data_options:
            return dict(self.data_options[task])
        if not self.default_caps:
            return {}
        from .data import task_kind

        return dict(self.default_caps.get(task_kind(task), {}))

    def with_selection(self, models=None, tasks=None, seeds=None):
        """The same tier restricted to (or extended by) the given models, tasks and
        fine-tuning seeds.

        Tasks may be task files (:mod:`harness.data.taskfile`): each is registered and
        named by its declared name. Every selected task gets its data caps
        (:meth:`task_data_options`), and a task file that declares F6 partners gets a
        :attr:`cross_task` entry (itself, the related and the opposing task).
        """
        tier = replace(self, models=tuple(models) if models else self.models,
                       tasks=tuple(_task_names(tasks)) if tasks else self.tasks,
                       seeds=tuple(int(s) for s in seeds) if seeds else self.seeds)
        cross = dict(tier.cross_task)
        for task in tier.tasks:
            partners = _declared_partners(task)
            if partners:
                cross[task] = (task, *partners)
        needed = list(tier.tasks) + [t for ts in cross.values() for t in ts]
        options = dict(tier.data_options)
        for task in needed:
            if task not in options and tier.default_caps:
                options[task] = tier.task_data_options(task)
        return replace(tier, cross_task=cross, data_options=options)

    def to_dict(self):
        from dataclasses import asdict

        return asdict(self)


# Caps (first sentences of each training file; the test splits are used whole): chosen
# from measured CPU throughput (about 1,600 tokens per CPU-second for extraction and 1.5
# to 1.8 CPU-seconds per update of 32 sentences with minilm-l6), before any claim was run,
# so that five fine-tunings with snapshots, the cross-task extractions, the probes and
# DirectProbe at every layer fit in about 20 minutes on 2 CPU cores.
_TINY_CAPS = {
    "pos": {"max_train_sentences": 200},
    "dep": {"max_train_sentences": 200},
    "ps-role": {"max_train_sentences": 400},
    "ps-fxn": {"max_train_sentences": 400},
    "trec-50": {"max_train_sentences": 500},
}

#: The tiny tier's caps of a task it does not list, by kind: a token or pair task as POS
#: and DEP (200 training sentences), a sentence task as TREC-50 (500 questions); the test
#: split capped alike (the paper's tasks' test splits are small: PUD 200 sentences, TREC
#: 500 questions; a task file's may be any size).
TINY_DEFAULT_CAPS = {
    "token": {"max_train_sentences": 200, "max_test_sentences": 200},
    "pair": {"max_train_sentences": 200, "max_test_sentences": 200},
    "sentence": {"max_train_sentences": 500, "max_test_sentences": 500},
}


#: The paper's snapshot grid (every 5 updates) at the last layer, which F5 and Fig. 2
#: read at every snapshot; all layers at every snapshot of the first 20 updates (Fig. 4:
#: most of the change happens there) and then every 50 updates (2 epochs of PUD), which
#: F7 reads "at every snapshot" and Fig. 4 draws; the test split and float32 at the two
#: ends only (F1, F2, F3, F4, F6, F8 read only the ends); float16 in between (F5 curves,
#: F7, Figs. 2-4: distances and correlations, where float16's ~1e-3 relative rounding is
#: far below the effects measured). A checkpoint every 25 updates bounds the work a kill
#: loses. Store size per seed and its derivation: docs/paper-tier.md.
PAPER_SCHEDULE = {"intermediate_layers": (-1,), "all_layers_every": 50,
                  "all_layers_until": 20, "intermediate_dtype": "float16",
                  "checkpoint_every": 25}
#: A DirectProbe unit's budget in the paper tiers (issue #20: 10 minutes each).
PAPER_DIRECTPROBE_TIME_LIMIT = 600.0
#: TREC-50 keeps the two ends only: no analysis reads its snapshots in between (F5, F7 and
#: Figs. 2 and 4 exclude it, the paper's footnotes 8 and 10: it is not linear), and every
#: 5 of its 1,710 updates would cost 342 extractions of 5,452 questions and 1.9 GB a seed.
PAPER_TASK_OPTIONS = {"trec-50": {"intermediate_splits": ()}}

TIERS = {
    "tiny": Tier(
        name="tiny", models=("minilm-l6",), data_options=_TINY_CAPS, n_snapshots=8,
        default_caps=TINY_DEFAULT_CAPS,
        intermediate_splits=("train",),
        probe_grid="tiny", probe_seeds=5,
        description="minilm-l6 (offline) on the real data capped to the first 200 (PUD), "
                    "400 (STREUSLE) and 500 (TREC) training sentences (test splits whole); 10 epochs; about 8 "
                    "snapshots per run; reduced probe grid; 1 fine-tuning seed."),
    "paper": Tier(
        name="paper", models=("minilm-l6",), seeds=(0, 1, 2, 3, 4), snapshot_every=5,
        intermediate_splits=("train",), probe_grid="paper", probe_seeds=5,
        directprobe_rate=0.05, directprobe_time_limit=PAPER_DIRECTPROBE_TIME_LIMIT,
        finetune_options=PAPER_SCHEDULE, task_options=PAPER_TASK_OPTIONS,
        description="The paper's protocol on minilm-l6 (offline): full data (PUD 80/20, "
                    "STREUSLE and TREC official splits), 10 epochs, batch 32, AdamW 3e-4; "
                    "snapshots of the last layer every 5 updates, of all layers in the first "
                    "20 updates and every 50, of the test split at the ends (TREC-50: the "
                    "ends only); the paper's probe grid with 5 initialisations; 5 "
                    "fine-tuning seeds."),
    "full": Tier(
        name="full", models=("bert-tiny", "bert-mini", "bert-small", "bert-medium", "bert-base"),
        seeds=(0, 1, 2, 3, 4), snapshot_every=5, intermediate_splits=("train",),
        probe_grid="paper", probe_seeds=5, directprobe_rate=0.05,
        directprobe_time_limit=PAPER_DIRECTPROBE_TIME_LIMIT,
        finetune_options=PAPER_SCHEDULE, task_options=PAPER_TASK_OPTIONS,
        description="The paper's protocol on its five BERT models: full data, 10 epochs (3 "
                    "for base), the paper tier's snapshot schedule, the full probe grid, 5 "
                    "fine-tuning seeds."),
}


def _task_names(tasks):
    from .data.taskfile import resolve_task_name

    return [resolve_task_name(t) for t in tasks]


def _declared_partners(task):
    """A task file's F6 partners (related, then opposing; those declared), by name."""
    from .data.taskfile import PARTNER_FIELDS, declaration, partner_name

    decl = declaration(task)
    if decl is None:
        return ()
    return tuple(p for p in (partner_name(decl, r) for r in PARTNER_FIELDS) if p is not None)


def tier_names():
    """Names accepted by ``--tier``, in the registry's order (cheapest first)."""
    return list(TIERS)


def get_tier(name):
    try:
        return TIERS[name]
    except KeyError:
        raise UnknownNameError(unknown_name_message("tier", name, sorted(TIERS))) from None
