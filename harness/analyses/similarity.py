"""Analyses beyond the paper: each layer's similarity to its own original, by linear CKA.

Merchant et al. (2020) compared each layer of BERT before and after fine-tuning with
representational similarity; here the debiased linear CKA
(:func:`harness.similarity.linear_cka`) compares the same examples' vectors (the train
split, the one the paper's layer analyses read) at update 0 and at the run's last
snapshot. Unlike the paper's spatial similarity (F7, Pearson of label-distance vectors)
it needs no linear clustering, so it is defined at every layer of every task, TREC-50
included; :func:`rank_agreement` asks whether the two order the layers alike.
"""

import time

import numpy as np
import scipy.stats

from ..similarity import SimilarityInputError, linear_cka
from . import snapshot_geometry

SPLIT = "train"


def layer_cka(ws, model, task, layer, seed=None, debiased=True):
    """CKA of ``layer`` at the last snapshot against the same layer at update 0 (cached).

    Returns
    -------
    dict
        ``cka`` (None when undefined), ``undefined`` (why, e.g. TREC-50's layer 0, where
        every question's [CLS] vector is the same), ``n_samples``, ``n_features``,
        ``seconds``.
    """
    before = ws.vectors(model, task, "first", SPLIT, layer)
    after = ws.vectors(model, task, "last", SPLIT, layer, seed=seed)
    config = {"analysis": "linear-cka", "debiased": bool(debiased), "before": before.source,
              "after": after.source}

    def compute():
        started = time.perf_counter()
        value, why = None, ""
        try:
            value = linear_cka(before.X, after.X, debiased=debiased)
        except SimilarityInputError as err:
            why = str(err)
        return {"cka": value, "undefined": why, "n_samples": int(before.X.shape[0]),
                "n_features": int(before.X.shape[1]), "seconds": time.perf_counter() - started}

    return ws.cached(config, compute)


def cka_by_layer(ws, model, task, seed=None):
    """:func:`layer_cka` of every hidden state, layer 0 (embeddings) to the top."""
    return [layer_cka(ws, model, task, layer, seed=seed)
            for layer in range(ws.n_layers(model, task) + 1)]


def rank_agreement(ws, model, task, seed=None):
    """Do the paper's spatial similarity and CKA rank the layers alike (at the end)?

    The spatial similarity of each transformer layer 1..L to its original at the last
    snapshot (:func:`harness.analyses.snapshot_geometry.layer_similarity`; defined only where the
    original layer is linear and its clustering still separates at the end) beside the
    CKA of the same layer; Spearman's rho over the layers where both are defined (None
    with fewer than 3 such layers, or when either list is constant).

    Returns
    -------
    dict
        ``layers`` (0..L), ``pearson`` and ``cka`` (per layer, None where undefined),
        ``ranked_layers``, ``spearman``.
    """
    n = ws.n_layers(model, task)
    cka = [r["cka"] for r in cka_by_layer(ws, model, task, seed=seed)]
    pearson = [None]  # layer 0 is left out, as F7 leaves it out
    for layer in range(1, n + 1):
        last = ws.updates(model, task, seed=seed, layer=layer, split=SPLIT)[-1]
        record = snapshot_geometry.layer_similarity(ws, model, task, layer, updates=[last], seed=seed)
        pearson.append(record["similarity"][0] if record["similarity"] else None)
    ranked = [layer for layer in range(1, n + 1)
              if pearson[layer] is not None and cka[layer] is not None]
    rho = None
    if len(ranked) >= 3:
        p = np.array([pearson[k] for k in ranked])
        c = np.array([cka[k] for k in ranked])
        if np.ptp(p) > 0 and np.ptp(c) > 0:
            rho = float(scipy.stats.spearmanr(p, c).statistic)
    return {"layers": list(range(n + 1)), "pearson": pearson, "cka": cka,
            "ranked_layers": ranked, "spearman": rho}
