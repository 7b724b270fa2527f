"""Benchmarks of the MLP probe's grid selection: sequential scikit-learn vs batched torch.

asv discovers the ``GridSelection`` class (``time_*`` and ``track_*``). By default it
runs the ``"tiny"`` grid; ``HARNESS_BENCH_FULL=1`` adds the paper's 128-setting grid
(sklearn cells of the paper grid are skipped by asv: they take about an hour; the script
below times a subset instead).

Run as a script for the comparison table of the issue::

    python benchmarks/benchmarks/probes.py --threads 1 --sklearn-subset 16
    python benchmarks/benchmarks/probes.py --device cuda   # torch backend on the GPU

The script times the *selection* step (every grid setting fitted on 90% of the training
set and scored on the rest) on the same synthetic data for both backends, with
threads pinned to the same number (torch and BLAS). The batched torch backend fits the
whole grid. The sequential scikit-learn backend fits a representative subset (each of
the 16 shapes once, alphas cycled so each alpha occurs equally often) and the full-grid
time is extrapolated as ``subset_time * n_settings / n_subset``; the table says so.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import numpy as np

logger = logging.getLogger(__name__)

N_TRAIN, N_FEATURES, N_CLASSES = 4000, 384, 17


def make_probe_data(n_samples=N_TRAIN, n_features=N_FEATURES, n_classes=N_CLASSES, seed=0):
    """Synthetic stand-in for contextual word vectors of a POS-like task.

    Each label owns three sub-clusters (different "contexts") whose centres lie in a
    shared 48-dimensional subspace, plus isotropic noise in all dimensions, with
    Zipf-like label frequencies; labels overlap, so accuracy is well below 100%.

    Parameters
    ----------
    n_samples, n_features, n_classes : int
        Shape of the data.
    seed : int, default=0
        Seed of ``np.random.default_rng``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32
    y : ndarray of shape (n_samples,), int64
    """
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((n_features, 48)))[0]
    centres = rng.standard_normal((n_classes, 3, 48)) * 1.2
    freq = 1.0 / np.arange(1, n_classes + 1) ** 0.8
    y = rng.choice(n_classes, size=n_samples, p=freq / freq.sum())
    sub = rng.integers(0, 3, size=n_samples)
    X = centres[y, sub] @ basis.T + rng.standard_normal((n_samples, n_features)) * 0.8
    return X.astype(np.float32), y.astype(np.int64)


def representative_subset(grid):
    """Each hidden-size shape once; alphas cycled so each occurs equally often."""
    sizes, alphas = grid["hidden_sizes"], grid["alpha"]
    return [(h, alphas[i % len(alphas)]) for i, h in enumerate(sizes)]


def _pin_threads(n_threads):
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n_threads)
    return threadpool_limits(n_threads)


class GridSelection:
    """Selection step of ``probe_grid_search`` on 4,000 x 384 x 17 synthetic data."""

    params = [["tiny", "paper"], ["sklearn", "torch"]]
    param_names = ["grid", "backend"]
    timeout = 3600
    number = 1
    repeat = 1

    def setup(self, grid, backend):
        if grid == "paper" and not os.environ.get("HARNESS_BENCH_FULL"):
            raise NotImplementedError("paper grid only with HARNESS_BENCH_FULL=1")
        if grid == "paper" and backend == "sklearn":
            raise NotImplementedError("sequential paper grid takes about an hour; use the script's subset")
        self._limits = _pin_threads(1)
        self.X, self.y = make_probe_data()

    def teardown(self, grid, backend):
        self._limits.restore_original_limits()

    def _select(self, grid, backend):
        from harness.probes import select_probe_setting

        return select_probe_setting(self.X, self.y, grid=grid, backend=backend, progress=False)

    def time_selection(self, grid, backend):
        self._select(grid, backend)

    def track_best_val_accuracy(self, grid, backend):
        sel = self._select(grid, backend)
        return max(r["val_accuracy"] for r in sel["validation_table"])

    track_best_val_accuracy.unit = "fraction"


#: The paper tier's POS probe unit: 16,854 training words (15,169 fitted, 1,685 held
#: out), 4,322 test words, MiniLM's 384 dimensions, 17 labels.
POS_TRAIN, POS_TEST = 16854, 4322


def _has_layouts():
    # train_mlps gained ``layout`` with the packed trainer; older commits lack it.
    import inspect

    from harness.probes._torch_backend import train_mlps

    return "layout" in inspect.signature(train_mlps).parameters


class _POSShaped:
    """Synthetic data of the POS unit's shape, threads pinned to 2 (the executor's)."""

    timeout = 3600
    number = 1
    repeat = 1

    def setup(self, *params):
        if not _has_layouts():
            raise NotImplementedError("train_mlps has no layout parameter at this commit")
        self._limits = _pin_threads(2)
        X, y = make_probe_data(n_samples=POS_TRAIN + POS_TEST)
        self.X, self.y = X[:POS_TRAIN], y[:POS_TRAIN]
        self.X_test, self.y_test = X[POS_TRAIN:], y[POS_TRAIN:]

    def teardown(self, *params):
        self._limits.restore_original_limits()


class ProbeGridEpochPOS(_POSShaped):
    """One epoch of all 128 paper-grid settings on the POS unit's fitting split.

    Per layout, in the same run: ``"packed"`` (the CPU default) and ``"shape"`` (the
    earlier per-shape batches). A probe unit costs about as many grid-epochs as its
    members' mean epochs weighted by their size, so this is the unit's cost per epoch.
    """

    params = [["packed", "shape"]]
    param_names = ["layout"]

    def time_grid_epoch(self, layout):
        from harness.probes import get_grid
        from harness.probes._torch_backend import MemberSpec, train_mlps
        from harness.probes.mlp import _validation_split

        fit, _ = _validation_split(self.y, 0.1, 0)
        _, g = get_grid("paper")
        specs = [MemberSpec(h, a, 0) for h in g["hidden_sizes"] for a in g["alpha"]]
        train_mlps(self.X[fit], self.y[fit], N_CLASSES, specs, max_iter=1, device="cpu",
                   layout=layout)


class ProbeUnitPOS(_POSShaped):
    """The whole POS probe unit as the executor runs it (``HARNESS_BENCH_FULL=1`` only).

    ``probe_grid_search`` with the paper grid (128 settings, up to 1000 epochs with
    scikit-learn's stopping rule) and 5 retrained seeds, torch backend on the CPU.
    """

    def setup(self):
        if not os.environ.get("HARNESS_BENCH_FULL"):
            raise NotImplementedError("the whole unit takes minutes; HARNESS_BENCH_FULL=1")
        super().setup()

    def time_unit(self):
        from harness.probes import probe_grid_search

        probe_grid_search(self.X, self.y, self.X_test, self.y_test, grid="paper", backend="torch",
                          device="cpu", progress=False)


def main(argv=None):
    """Print the sklearn-vs-torch selection table (see module docstring)."""
    import torch

    from harness.probes import get_grid, select_probe_setting

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--grid", default="paper")
    ap.add_argument("--sklearn-subset", type=int, default=16, help="0: fit the whole grid with sklearn")
    ap.add_argument("--n-samples", type=int, default=N_TRAIN)
    ap.add_argument("--progress", action="store_true")
    ap.add_argument("--device", default="cpu", help="device of the torch backend (sklearn: CPU)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    _pin_threads(args.threads)
    X, y = make_probe_data(n_samples=args.n_samples)
    name, g = get_grid(args.grid)
    n_settings = len(g["hidden_sizes"]) * len(g["alpha"])
    subset = representative_subset(g) if args.sklearn_subset else None
    if subset is not None:
        subset = subset[: args.sklearn_subset]

    # CPU time of this process as well as wall time: on a shared machine wall time
    # depends on the other users, and with threads pinned CPU time is the fairer measure.
    c0 = time.process_time()
    t = select_probe_setting(X, y, grid=args.grid, backend="torch", device=args.device,
                             progress=args.progress)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    c1 = time.process_time()
    s = select_probe_setting(X, y, grid=args.grid, backend="sklearn", settings=subset, progress=args.progress)
    c2 = time.process_time()
    t["cpu_seconds"], s["cpu_seconds"] = c1 - c0, c2 - c1
    n_sk = len(s["validation_table"])
    sk_full = s["seconds"] * n_settings / n_sk
    sk_full_cpu = s["cpu_seconds"] * n_settings / n_sk
    torch_by = {(r["hidden_sizes"], r["alpha"]): r for r in t["validation_table"]}
    pairs = [(r, torch_by[(r["hidden_sizes"], r["alpha"])]) for r in s["validation_table"]]
    sk_acc = np.array([a["val_accuracy"] for a, _ in pairs])
    to_acc = np.array([b["val_accuracy"] for _, b in pairs])
    sk_it = np.array([a["n_iter"] for a, _ in pairs])
    to_it = np.array([b["n_iter"] for _, b in pairs])

    lines = [
        f"data: {X.shape[0]} x {X.shape[1]} x {N_CLASSES} classes (synthetic, float32); grid {name!r} = {n_settings} settings; "
        f"threads={args.threads} (torch + BLAS); torch {torch.__version__}, torch backend on {args.device}"
        + (f" ({torch.cuda.get_device_name()})" if args.device.startswith("cuda") else ""),
        f"| backend | settings fitted | wall s | CPU s | full grid wall s | full grid CPU s | best val acc (setting) |",
        f"|---|---|---|---|---|---|---|",
        f"| torch (batched) | {n_settings} | {t['seconds']:.1f} | {t['cpu_seconds']:.1f} | {t['seconds']:.1f} | {t['cpu_seconds']:.1f} | "
        f"{max(r['val_accuracy'] for r in t['validation_table']):.4f} ({t['hidden_sizes']}, {t['alpha']:g}) |",
        f"| sklearn (sequential) | {n_sk} | {s['seconds']:.1f} | {s['cpu_seconds']:.1f} | {sk_full:.1f} | {sk_full_cpu:.1f} | "
        f"{sk_acc.max():.4f} ({s['hidden_sizes']}, {s['alpha']:g}) |",
        f"sklearn full grid: {'measured' if n_sk == n_settings else f'extrapolated x{n_settings / n_sk:g} from {n_sk} settings'}",
        f"speed-up (full grid): {sk_full / t['seconds']:.1f}x wall, {sk_full_cpu / t['cpu_seconds']:.1f}x CPU",
        f"on the {n_sk} settings both fitted: mean val acc sklearn {sk_acc.mean():.4f} vs torch {to_acc.mean():.4f}; "
        f"max |diff| {np.abs(sk_acc - to_acc).max():.4f}; mean epochs sklearn {sk_it.mean():.0f} vs torch {to_it.mean():.0f}",
        f"torch best setting over the full grid: {t['hidden_sizes']} alpha={t['alpha']:g}",
    ]
    for a, b in pairs:
        lines.append(
            f"  {a['hidden_sizes']!s:>10} alpha={a['alpha']:<7g} sklearn acc {a['val_accuracy']:.4f} ({a['n_iter']} ep)"
            f"  torch acc {b['val_accuracy']:.4f} ({b['n_iter']} ep)"
        )
    # The table is the script's output (a report for humans), hence print, not logging.
    print("\n".join(lines))
    return t, s


if __name__ == "__main__":
    main()
