"""The paper's figures, redrawn from cached analyses (PNG, matplotlib Agg)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..analyses import snapshot_geometry  # noqa: E402
from .stored import NotInStore  # noqa: E402


def _not_in_store(ax, task):
    # A report written from the seed records draws the tasks whose analyses the store
    # holds; the others say so in their own panel.
    ax.set_title(f"{task}: not in the store", fontsize=9)
    ax.axis("off")


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def extreme_labels(change, k=3):
    """Indices of the ``k`` most rising labels (largest first), then the ``k`` least.

    Labels without a distance (NaN: every cluster below ``min_cluster_size``) are skipped;
    a label is listed once when fewer than ``2 k`` labels have one.
    """
    change = np.asarray(change, dtype=float)
    order = [int(i) for i in np.argsort(change, kind="stable") if np.isfinite(change[i])]
    return list(dict.fromkeys(order[-k:][::-1] + order[:k]))


def fig2_min_distance(ws, model, tasks, layer, path):
    """Fig. 2: minimum distance per label over updates; the 3 labels that rise most and
    the 3 that rise least, per task."""
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        try:
            curve = snapshot_geometry.min_distance_curve(ws, model, task, layer)
        except NotInStore:
            _not_in_store(ax, task)
            continue
        if curve["min_distance"] is None:
            ax.set_title(f"{task} (layer {layer}): not linear at the start, no curves")
            continue
        d = np.asarray(curve["min_distance"])
        for i in extreme_labels(d[-1] - d[0]):
            ax.plot(curve["updates"], d[:, i], marker=".", label=curve["labels"][i])
        broken = [u for u, ok in zip(curve["updates"], curve["separates"]) if not ok]
        note = f"; no longer separates at {broken}" if broken else ""
        ax.set_title(f"{task} (layer {layer}{note})", fontsize=9)
        ax.set_xlabel("updates")
        ax.set_ylabel("min distance to other labels")
        ax.legend(fontsize=7)
    return _save(fig, path)


def fig3_centroid_paths(ws, model, task, layers, path, n_labels=3):
    """Fig. 3: paths of the centroids of the closest labels (at update 0, top layer), PCA."""
    top = max(layers)
    labels, cents = snapshot_geometry.centroids(ws, model, task, "first", top)
    dist = np.linalg.norm(cents[:, None] - cents[None], axis=-1)
    np.fill_diagonal(dist, np.inf)
    i, j = np.unravel_index(np.argmin(dist), dist.shape)
    third = np.argmin(dist[i] + dist[j] + np.where(np.isin(np.arange(len(labels)), [i, j]),
                                                   np.inf, 0))
    chosen = [labels[k] for k in (i, j, third)][:n_labels]
    fig, axes = plt.subplots(1, len(layers), figsize=(4.2 * len(layers), 3.8), squeeze=False)
    for ax, layer in zip(axes[0], layers):
        paths = np.asarray(snapshot_geometry.centroid_paths(ws, model, task, layer, chosen)["paths"])
        for k, label in enumerate(chosen):
            ax.plot(paths[:, k, 0], paths[:, k, 1], marker=".", label=label)
            ax.scatter(paths[0, k, 0], paths[0, k, 1], marker="s", s=50)
        ax.set_title(f"{task}, layer {layer}")
        ax.legend(fontsize=8)
    return _save(fig, path)


def fig4_layer_similarity(ws, model, tasks, path):
    """Fig. 4: each layer's spatial similarity to its original over the updates."""
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        n = ws.n_layers(model, task)
        try:
            records = [snapshot_geometry.layer_similarity(ws, model, task, layer)
                       for layer in range(n + 1)]
        except NotInStore:
            _not_in_store(ax, task)
            continue
        for layer, rec in enumerate(records):
            if rec["similarity"] is None:  # not linear at the start: no distance vector
                continue
            sim = [np.nan if s is None else s for s in rec["similarity"]]
            ax.plot(rec["updates"], sim, marker=".", label=f"layer {layer}",
                    color=plt.cm.viridis(layer / max(n, 1)))
        ax.axhline(0.5, color="grey", lw=0.8, ls="--")
        ax.set_title(task)
        ax.set_xlabel("updates")
        ax.set_ylabel("Pearson vs original")
        ax.legend(fontsize=7)
    return _save(fig, path)


def fig5_centroid_differences(ws, model, task, path):
    """Fig. 5: PCA of the per-label centroid differences (after - before), per layer."""
    n = ws.n_layers(model, task)
    cols = min(4, n + 1)
    rows = -(-(n + 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 3.0 * rows), squeeze=False)
    for layer in range(n + 1):
        ax = axes.flat[layer]
        rec = snapshot_geometry.centroid_shift(ws, model, task, layer)
        xy = np.asarray(rec["pca"])
        ax.scatter(xy[:, 0], xy[:, 1], s=12)
        for (x, y), label in zip(xy, rec["labels"]):
            ax.annotate(label, (x, y), fontsize=6)
        ax.set_title(f"layer {layer} (spread {rec['spread']:.2f})", fontsize=9)
    for ax in list(axes.flat)[n + 1:]:
        ax.axis("off")
    return _save(fig, path)


def fig6_cka_by_layer(ws, model, tasks, path):
    """Beyond the paper: heatmap of each layer's debiased CKA to its original (end of
    fine-tuning), layers x tasks; undefined cells (TREC-50's layer 0) are blank."""
    from ..analyses import similarity

    n = ws.n_layers(model, tasks[0])
    grid = np.full((n + 1, len(tasks)), np.nan)
    names = list(tasks)
    for j, task in enumerate(tasks):
        try:
            records = similarity.cka_by_layer(ws, model, task)
        except NotInStore:
            names[j] = f"{task}\n(not in store)"
            continue
        for layer, record in enumerate(records):
            if record["cka"] is not None:
                grid[layer, j] = record["cka"]
    fig, ax = plt.subplots(figsize=(1.3 * len(tasks) + 2.2, 0.45 * (n + 1) + 1.6))
    image = ax.imshow(grid, cmap="viridis", vmin=min(0.0, np.nanmin(grid)) if
                      np.isfinite(grid).any() else 0.0, vmax=1.0, aspect="auto")
    for (layer, j), value in np.ndenumerate(grid):
        if np.isfinite(value):
            ax.text(j, layer, f"{value:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if value < 0.6 else "black")
    ax.set_xticks(range(len(tasks)), names)
    ax.set_yticks(range(n + 1), [f"layer {k}" for k in range(n + 1)])
    ax.set_title("debiased CKA to the original layer (end)", fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.05)
    return _save(fig, path)
