"""Classifier-probe analyses (F1 and the accuracy column of F6), cached in the store."""

from ..probes import probe_grid_search


def probe(ws, train, test):
    """MLP probe accuracy of ``train``/``test`` :class:`~.workspace.Vectors` (cached)."""
    tier = ws.tier
    config = {"analysis": "mlp-probe", "train": train.source, "test": test.source,
              "grid": tier.probe_grid, "backend": tier.probe_backend,
              "n_seeds": tier.probe_seeds}

    def compute():
        result = probe_grid_search(train.X, train.y, test.X, test.y, grid=tier.probe_grid,
                                   backend=tier.probe_backend, n_seeds=tier.probe_seeds,
                                   random_state=0, progress=ws.progress)
        return {"accuracy_mean": result.accuracy_mean, "accuracy_std": result.accuracy_std,
                "accuracies": list(result.accuracies),
                "hidden_sizes": list(result.hidden_sizes), "alpha": result.alpha,
                "n_test_unseen": result.n_test_unseen, "seconds": result.timings.get("total")}

    return ws.cached(config, compute)


def original_vs_tuned(ws, model, task, layer=-1, seed=None):
    """Probe accuracy on the original and on the fine-tuned layer (F1)."""
    out = {}
    for name, update in (("original", "first"), ("tuned", "last")):
        out[name] = probe(ws, ws.vectors(model, task, update, "train", layer, seed=seed),
                          ws.vectors(model, task, update, "test", layer, seed=seed))
    return out


def cross_task_accuracy(ws, model, probed, tuned_on, layer=-1, seed=None):
    """Probe accuracy of ``probed`` under the model fine-tuned on ``tuned_on`` (F6)."""
    return probe(ws, ws.cross_vectors(model, tuned_on, probed, "train", layer, seed=seed),
                 ws.cross_vectors(model, tuned_on, probed, "test", layer, seed=seed))
