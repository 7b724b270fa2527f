"""The Markdown report: verdicts, the paper's tables beside ours, figures, provenance."""

import json
import logging
from pathlib import Path

from ..analyses import geometry, probing
from . import figures
from .paper_numbers import APPENDIX_C, TABLE_5

logger = logging.getLogger(__name__)

CLAIM_TITLES = {
    "F1": "fine-tuning improves probe accuracy",
    "F2": "train and test spaces diverge",
    "F3": "the space gets simpler (clusters do not grow)",
    "F4": "smaller models more often non-linear; TREC-50 never linear",
    "F5": "labels are pushed apart (min distances grow)",
    "F6": "cross-task: related task helps, opposing task hurts",
    "F7": "higher layers change more, but stay similar (> 0.5)",
    "F8": "lower layers move less",
}


def _num(v):
    if isinstance(v, bool):
        return "Y" if v else "N"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    if isinstance(v, list) and v and isinstance(v[0], float):
        return "[" + ", ".join(f"{x:.3g}" for x in v) + "]"
    return str(v)


def _store_line(provenance):
    reused = provenance.get("store_artifacts_reused")
    computed = provenance.get("store_artifacts_computed")
    if reused is None or computed is None:
        return "store use not recorded"
    state = "cold store" if reused == 0 else "warm store"
    return f"{state}: {computed} artifacts computed, {reused} already stored"


def verdict_table(records):
    lines = ["| claim | cell | verdict | rule / reason | deciding numbers |",
             "|---|---|---|---|---|"]
    for r in sorted(records, key=lambda r: (r["claim"], r["cell_id"])):
        nums = "; ".join(f"{k}={_num(v)}" for k, v in r["numbers"].items())
        why = r["rule"] if r["status"] in ("passed", "failed") else (r["reason"] or r["rule"])
        lines.append(f"| {r['claim']} | {r['cell_id']} | **{r['verdict']}** | "
                     f"{why.replace('|', '/')} | {nums.replace('|', '/')} |")
    return "\n".join(lines)


def summary_counts(records):
    counts = {}
    for r in records:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return ", ".join(f"{v}: {n}" for v, n in sorted(counts.items()))


def appendix_c(ws):
    head = ("| model | task | orig Acc | Std | size | #clu | lin | sim | tuned Acc | Std | size | "
            "#clu | lin | sim |")
    lines = [head, "|" + "---|" * 14]

    def fmt(row):
        return " | ".join("-" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))
                          for v in row)

    for task in ws.tier.tasks:
        for model in ws.tier.models:
            try:
                acc = probing.original_vs_tuned(ws, model, task)
                sims = [geometry.train_test_similarity(ws, model, task, w) for w in ("first", "last")]
            except Exception as err:  # a cell the claims could not compute
                lines.append(f"| {model} (ours) | {task} | not computed: {err} |")
                continue
            row = []
            for a, s in zip((acc["original"], acc["tuned"]), sims):
                row += [100 * a["accuracy_mean"], 100 * a["accuracy_std"],
                        "(" + ",".join(map(str, a["hidden_sizes"])) + ")",
                        s["n_clusters_train"], "Y" if s["linear_train"] else "N",
                        s["similarity"]]
            lines.append(f"| **{model} (ours)** | {task} | {fmt(row)} |")
        for (pm, pt), row in APPENDIX_C.items():
            if pt == task:
                lines.append(f"| {pm} (paper) | {task} | {fmt(row)} |")
    return "\n".join(lines)


def table_5(ws, probed="ps-fxn"):
    lines = ["| fine-tuned on | source | #rose | #fell | mean change | probe Acc |",
             "|---|---|---|---|---|---|"]
    for model in ws.tier.models:
        for tuned_on in [None] + list(ws.tier.cross_task.get(probed, ())):
            try:
                acc = probing.cross_task_accuracy(ws, model, probed, tuned_on)
                d = (geometry.cross_task_min_distances(ws, model, probed, tuned_on)
                     if tuned_on else None)
            except Exception as err:
                lines.append(f"| {tuned_on or 'none'} | {model} | not computed: {err} | | | |")
                continue
            ours = ([d["n_rose"], d["n_fell"], f"{d['mean_change']:+.3f}"] if d else ["-"] * 3)
            lines.append(f"| {tuned_on or 'none (original)'} | **{model} (ours)** | "
                         f"{' | '.join(map(str, ours))} | {100 * acc['accuracy_mean']:.2f} |")
            p = TABLE_5.get(tuned_on)
            if p:
                lines.append(f"| {tuned_on or 'none (original)'} | bert-base (paper) | "
                             f"{' | '.join('-' if v is None else str(v) for v in p)} |")
    return "\n".join(lines)


def write_report(ws, records, out_dir, provenance):
    """Write ``REPORT.md`` and the figures into ``out_dir``; returns the report path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = ws.tier.models[0]
    n = ws.n_layers(model)
    linear_tasks = [t for t in ws.tier.tasks if t != "trec-50"]
    figs = []
    for name, draw in (
        ("fig2_min_distance.png",
         lambda p: figures.fig2_min_distance(ws, model, linear_tasks, n, p)),
        ("fig3_centroid_paths.png",
         lambda p: figures.fig3_centroid_paths(ws, model, "pos", [1, n], p)),
        ("fig4_layer_similarity.png",
         lambda p: figures.fig4_layer_similarity(ws, model, linear_tasks, p)),
        ("fig5_centroid_differences.png",
         lambda p: figures.fig5_centroid_differences(ws, model, "pos", p)),
    ):
        try:
            draw(out / name)
            figs.append(name)
        except Exception as err:  # keep the report: a missing figure is stated, not hidden
            logger.exception("figure %s failed", name)
            figs.append(f"{name} (FAILED: {err})")
    tier = ws.tier
    text = [
        f"# Claim verification report: tier `{tier.name}`",
        "",
        f"{tier.description}",
        "",
        f"**Verdicts:** {summary_counts(records)}. Wall time of the claim run: "
        f"{provenance.get('claims_wall_s', 0):.0f} s "
        f"({_store_line(provenance)}).",
        "",
        "Verdicts: *holds* = the paper's claim holds on this tier; *deviates (known)* = it "
        "does not hold, recorded as a strict xfail with the measured numbers; *not run* = "
        "not decidable here (reason given); *FAILS* = an unexpected failure.",
        "",
        "## Verdicts",
        "",
        "\n".join(f"- **{k}**: {v}" for k, v in CLAIM_TITLES.items()),
        "",
        verdict_table(records),
        "",
        "## Appendix C, ours beside the paper's (last layer)",
        "",
        "Accuracies are MLP-probe test accuracy (mean and std over the probe initialisations);"
        " `#clu` is DirectProbe's cluster count on the training set; `sim` the train/test "
        "spatial similarity (\"-\" when a clustering is not linear).",
        "",
        appendix_c(ws),
        "",
        "## Table 5, ours beside the paper's (PS-fxn probed, last layer)",
        "",
        table_5(ws),
        "",
        "## Figures",
        "",
    ]
    captions = {
        "fig2": "Fig. 2: minimum distance of the 3 most- and 3 least-rising labels over updates (top layer).",
        "fig3": "Fig. 3: centroid paths of the three closest POS labels, layer 1 and top layer (2-D PCA).",
        "fig4": "Fig. 4: spatial similarity of each layer to its original over updates (fixed original clustering).",
        "fig5": "Fig. 5: PCA of per-label centroid differences (after - before), per layer, POS.",
    }
    for f in figs:
        key = f[:4]
        if "FAILED" in f:
            text += [f"- {captions[key]} **{f}**", ""]
        else:
            text += [f"![{captions[key]}]({f})", "", f"*{captions[key]}*", ""]
    text += ["## Provenance", "", "```json", json.dumps(provenance, indent=1, default=str), "```",
             ""]
    path = out / "REPORT.md"
    path.write_text("\n".join(text))
    return path
