"""The Markdown report: verdicts, the paper's tables beside ours, figures, provenance."""

import json
import logging
from pathlib import Path

from ..analyses import probing, similarity, snapshot_geometry
from . import figures
from .paper_numbers import APPENDIX_C, TABLE_5
from .stored import NotInStore

logger = logging.getLogger(__name__)

CLAIM_TITLES = {
    "F1": "fine-tuning improves probe accuracy",
    "F2": "train and test spaces diverge",
    "F3": "the space gets simpler (non-linear originals lose clusters)",
    "F4": "smaller models more often non-linear; TREC-50 never linear",
    "F5": "labels are pushed apart (min distances grow)",
    "F6": "cross-task: related task helps, opposing task hurts",
    "F7": "higher layers change more, but stay similar (> 0.5)",
    "F8": "lower layers move less",
}
#: Claims from later literature (extension scope; not in the findings matrix).
EXTENSION_TITLES = {
    "X1": "top layers change most, by CKA (Merchant et al. 2020)",
    "X2": "DEP reconfigures deeper than TREC-50, by CKA (Merchant et al. 2020)",
}

VERDICT_ORDER = ("holds", "deviates", "fails", "not applicable", "not run")
DECISIVE = ("holds", "deviates", "fails")


def _num(v):
    if isinstance(v, bool):
        return "Y" if v else "N"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    if isinstance(v, list) and v and all(isinstance(x, float) or x is None for x in v):
        return "[" + ", ".join("-" if x is None else f"{x:.3g}" for x in v) + "]"
    return str(v)


def _cell(text):
    return str(text).replace("|", "/").replace("\n", " ")


def _store_line(provenance):
    if provenance.get("from_seed_records"):
        return ("decided from the committed seed records alone, nothing computed; tables and "
                "figures show what the store holds")
    reused = provenance.get("store_artifacts_reused")
    computed = provenance.get("store_artifacts_computed")
    if reused is None or computed is None:
        return "store use not recorded"
    state = "cold store" if reused == 0 else "warm store"
    return f"{state}: {computed} artifacts computed, {reused} reused"


def _precompute_line(provenance):
    """What the executor computed before the claim run read it (empty when not recorded)."""
    pre = provenance.get("precompute")
    if not pre:
        return ""
    stages = ", ".join(f"{stage} {n} ({pre['seconds'][stage]:.0f} s)"
                       for stage, n in pre["units"].items())
    return (f"Precompute ({pre['executor']} executor): {stages or 'nothing to do'}; "
            f"{pre['wall_s']:.0f} s wall. ")


def counts(records, scope):
    """``{verdict: n}`` over the records of one scope."""
    out = {v: 0 for v in VERDICT_ORDER}
    for r in records:
        if r.get("scope", "paper") == scope:
            out[r["verdict"]] = out.get(r["verdict"], 0) + 1
    return out


def headline(records):
    """The report's first line: paper-scope decisive cells, then the rest."""
    paper = counts(records, "paper")
    ext = counts(records, "extension")
    decisive = sum(paper[v] for v in DECISIVE)
    text = (f"**Paper scope: {decisive} decisive cells: {paper['holds']} hold, "
            f"{paper['deviates']} deviate, {paper['fails']} fail;** "
            f"{paper['not applicable']} not applicable, {paper['not run']} not run.")
    if sum(ext.values()):
        text += (f" Extensions (other layers; later literature): {ext['holds']} hold, {ext['deviates']} deviate, "
                 f"{ext['fails']} fail, {ext['not applicable']} not applicable, "
                 f"{ext['not run']} not run.")
    return text


def _short(r):
    verdict = r["verdict"]
    number = r.get("headline") or ""
    text = f"**{verdict}**" if verdict in ("not run",) or not number else f"**{verdict}** {number}"
    return text + _seed_mark(r)


def _seed_mark(r):
    """`` (3 seeds)`` when several seeds decided the cell; ``†`` when a committed seed's
    record was written by other analysis code than this run's."""
    seeds = r.get("seeds") or []
    mark = f" ({len(seeds)} seeds)" if len(seeds) > 1 else ""
    if any(s.get("same_code") is False for s in seeds):
        mark += " †"
    return mark


def matrix(records, tasks, models):
    """Findings x tasks, paper scope: each cell's verdict and its deciding number."""
    paper = [r for r in records if r.get("scope", "paper") == "paper"]
    columns = list(tasks) + ["across models"]
    lines = ["| finding | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for claim, title in CLAIM_TITLES.items():
        row = []
        for column in columns:
            entries = [r for r in paper if r["claim"] == claim and (
                r["cell"].get("task") == column if column != "across models"
                else r["cell"].get("task") is None)]
            parts = []
            for r in sorted(entries, key=lambda r: (r["cell"].get("model") or "",
                                                    r["cell"].get("extra") or "")):
                label = []
                if len(models) > 1 and r["cell"].get("model"):
                    label.append(r["cell"]["model"])
                if r["cell"].get("extra"):
                    label.append(f"tuned on {r['cell']['extra']}")
                prefix = f"{', '.join(label)}: " if label else ""
                parts.append(prefix + _short(r))
            row.append("<br>".join(_cell(p) for p in parts) if parts else "")
        lines.append(f"| **{claim}** {title} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def tiers_side_by_side(by_tier, tasks):
    """Findings x tasks, paper scope, one verdict per tier in each cell (``tiny / paper``).

    ``by_tier`` maps a tier's name to its evidence records (``evidence.json``); a cell
    with several entries (F6's tasks tuned on, several models) lists them. "-" marks a
    cell the tier does not have.
    """
    names = list(by_tier)
    abbreviation = {"holds": "holds", "deviates": "deviates", "fails": "FAILS",
                    "not applicable": "n/a", "not run": "not run"}
    lines = [f"| finding ({' / '.join(names)}) | " + " | ".join(tasks) + " |",
             "|---|" + "---|" * len(tasks)]
    for claim in CLAIM_TITLES:
        row = []
        for task in tasks:
            per_tier = []
            for name in names:
                found = sorted((r for r in by_tier[name]
                                if r["claim"] == claim and r.get("scope", "paper") == "paper"
                                and (r.get("cell") or {}).get("task") == task),
                               key=lambda r: (r["cell"].get("model") or "",
                                              r["cell"].get("extra") or ""))
                per_tier.append(", ".join(abbreviation.get(r["verdict"], r["verdict"])
                                          for r in found) or "-")
            row.append(" / ".join(per_tier) if any(v != "-" for v in per_tier) else "")
        lines.append(f"| **{claim}** | " + " | ".join(row) + " |")
    return "\n".join(lines)


def verdict_table(records):
    lines = ["| claim | cell | verdict | rule / reason | seeds | deciding numbers |",
             "|---|---|---|---|---|---|"]
    for r in sorted(records, key=lambda r: (r["claim"], r["cell_id"])):
        nums = "; ".join(f"{k}={_num(v)}" for k, v in (r.get("numbers") or {}).items())
        if r["verdict"] == "holds":
            why = r.get("rule", "")
        elif r["verdict"] == "not applicable":
            why = f"{r.get('rule', '')} (not applicable: {r.get('not_applicable', '')})"
        else:
            why = r.get("reason") or r.get("rule", "")
        seeds = r.get("seeds") or []
        split = ", ".join(f"{s['seed']}: {s['verdict']}" + (
            "" if s.get("source", "computed") == "computed" else
            " (record" + ("" if s.get("same_code") else ", other analysis code") + ")")
            for s in seeds)
        lines.append(f"| {r['claim']} | {r['cell_id']} | **{r['verdict']}** | {_cell(why)} | "
                     f"{_cell(split)} | {_cell(nums)} |")
    return "\n".join(lines)


def deviation_section(records):
    """Each deviating or failing cell: rule, measured numbers, envelope, note."""
    lines = []
    for r in sorted(records, key=lambda r: (r["claim"], r["cell_id"])):
        if r["verdict"] not in ("deviates", "fails"):
            continue
        dev = r.get("deviation")
        lines.append(f"- **{r['claim']} {r['cell_id']}** ({r['scope']} scope): "
                     f"**{r['verdict']}**. Rule: {r.get('rule', '')}. Measured: "
                     f"{r.get('headline') or '-'}.")
        if dev:
            lines.append(f"  Recorded envelope: {dev['expect']} ({dev['tolerance']}).")
            if dev.get("problems"):
                lines.append(f"  Left the envelope: {'; '.join(dev['problems'])}.")
            if dev.get("note"):
                lines.append(f"  Note: {dev['note']}.")
        elif r["verdict"] == "fails" and r.get("numbers"):
            lines.append("  Numbers: " + _cell("; ".join(
                f"{k}={_num(v)}" for k, v in r["numbers"].items())))
        elif r["verdict"] == "fails":
            lines.append(f"  {_cell(r.get('reason', ''))}")
    return "\n".join(lines) or "None."


def seeds_line(tier, records=()):
    """Which seeds decided the cells: this run's, and those read from committed records."""
    recorded = sorted({s["seed"] for r in records for s in r.get("seeds") or []
                       if s.get("source", "computed") != "computed"})
    seeds = list(tier.seeds) + [s for s in recorded if s not in tier.seeds]
    text = (f"Every cell is decided on {len(seeds)} fine-tuning seed"
            f"{'s' if len(seeds) > 1 else ''} ({', '.join(map(str, seeds))})")
    if recorded:
        other = sorted({s["seed"] for r in records for s in r.get("seeds") or []
                        if s.get("same_code") is False})
        text += (f"; seed{'s' if len(recorded) > 1 else ''} {', '.join(map(str, recorded))} "
                 f"from the records committed in `seeds/` (cells show how many seeds "
                 f"decided them)")
        if other:
            text += (f"; seed{'s' if len(other) > 1 else ''} {', '.join(map(str, other))} "
                     "were recorded by other analysis code than this run's (marked †)")
    if len(seeds) > 1:
        text += ("; a cell holds when the paper's rule holds on a strict majority of the seeds "
                 "where it applies, and its numbers are means over those seeds.")
    return text + ("" if len(seeds) > 1 else ".")


def _recorded_numbers(records, claim, model, task, extra=None):
    """The paper-scope numbers the claim run decided ``claim`` on for (model, task[, extra])
    (means over its seeds), or None."""
    for r in records or ():
        cell = r.get("cell") or {}
        if (r.get("claim") == claim and cell.get("model") == model and cell.get("task") == task
                and cell.get("extra") == extra and r.get("scope", "paper") == "paper"
                and r.get("numbers")):
            return r["numbers"]
    return None


def _appendix_c_from_records(records, model, task):
    """An Appendix C row from the F1 and F2 evidence, or None (see :func:`appendix_c`)."""
    acc = _recorded_numbers(records, "F1", model, task)
    spaces = _recorded_numbers(records, "F2", model, task) or {}  # "-" without F2
    if acc is None or "original_acc" not in acc:
        return None
    row = []
    for when, side in (("original", "before"), ("tuned", "after")):
        linear = spaces.get(f"linear_train_{side}")
        row += [acc[f"{when}_acc"], acc[f"{when}_std"],
                "(" + ",".join(map(str, acc[f"{when}_sizes"])) + ")",
                spaces.get(f"n_clusters_train_{side}"),
                None if linear is None else ("Y" if linear else "N"),
                spaces.get(f"similarity_{side}")]
    return row


def appendix_c(ws, records=None):
    """Appendix C: our rows beside the paper's. A row whose analyses the store does not
    hold (a report written from the seed records) is read from the claims' evidence
    (``records``: F1's accuracies, F2's clusterings), marked "from the seed records"."""
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
                sims = [snapshot_geometry.train_test_similarity(ws, model, task, w) for w in ("first", "last")]
            except Exception as err:  # a cell the claims could not compute
                recorded = _appendix_c_from_records(records, model, task)
                if recorded is None:
                    lines.append(f"| {model} (ours) | {task} | not computed: {_cell(err)} |")
                else:
                    lines.append(f"| **{model} (ours, from the seed records)** | {task} | "
                                 f"{fmt(recorded)} |")
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


def table_5(ws, probed="ps-fxn", records=None):
    """Table 5: PS-fxn probed under models fine-tuned on other tasks. A row whose analyses
    the store does not hold is read from F6's evidence (``records``) where it has one."""
    if probed not in ws.tier.tasks:  # a selection without it (--tasks): nothing to compute
        return f"Not in this run: {probed} is not among the selected tasks."
    lines = ["| fine-tuned on | source | #rose | #fell | mean change | probe Acc |",
             "|---|---|---|---|---|---|"]
    for model in ws.tier.models:
        for tuned_on in [None] + list(ws.tier.cross_task.get(probed, ())):
            try:
                acc = probing.cross_task_accuracy(ws, model, probed, tuned_on)
                d = (snapshot_geometry.cross_task_min_distances(ws, model, probed, tuned_on)
                     if tuned_on else None)
            except Exception as err:
                # F6's evidence of the cell (probed, tuned on another task) holds both ends.
                row = _table_5_from_records(records, model, probed, tuned_on)
                if row is None:
                    lines.append(f"| {tuned_on or 'none'} | {model} | not computed: "
                                 f"{_cell(err)} | | | |")
                else:
                    lines.append(f"| {tuned_on or 'none (original)'} | **{model} (ours, from "
                                 f"the seed records)** | {row} |")
                continue
            ours = ["-"] * 3
            if d and d["mean_change"] is not None:
                ours = [d["n_rose"], d["n_fell"], f"{d['mean_change']:+.3f}"]
            elif d:
                ours = ["n/a (PS-fxn not linear under the original)"] + ["-"] * 2
            lines.append(f"| {tuned_on or 'none (original)'} | **{model} (ours)** | "
                         f"{' | '.join(map(str, ours))} | {100 * acc['accuracy_mean']:.2f} |")
            p = TABLE_5.get(tuned_on)
            if p:
                lines.append(f"| {tuned_on or 'none (original)'} | bert-base (paper) | "
                             f"{' | '.join('-' if v is None else str(v) for v in p)} |")
    return "\n".join(lines)


def _table_5_from_records(records, model, probed, tuned_on):
    """A Table 5 row from F6's evidence, or None. The original model's accuracy is in
    every F6 cell of ``probed``; the model tuned on ``probed`` itself in the cell of a
    related task (``same_task_acc``)."""
    cells = [n for n in (_recorded_numbers(records, "F6", model, probed, extra)
                         for extra in _recorded_cross_tasks(records, model, probed)) if n]
    if tuned_on is None:
        return f"- | - | - | {cells[0]['original_acc']:.2f}" if cells else None
    d = _recorded_numbers(records, "F6", model, probed, tuned_on)
    if d is not None:
        change = "-" if d.get("mean_change") is None else f"{d['mean_change']:+.3f}"
        return (f"{d.get('n_rose', '-')} | {d.get('n_fell', '-')} | {change} | "
                f"{d['tuned_acc']:.2f}")
    same = [n for n in cells if n.get("same_task_acc") is not None]
    if tuned_on == probed and same:
        return f"- | - | - | {same[0]['same_task_acc']:.2f}"
    return None


def _recorded_cross_tasks(records, model, probed):
    """The tasks F6's cells of ``probed`` were fine-tuned on, in the records."""
    return sorted({(r.get("cell") or {}).get("extra") for r in records or ()
                   if r.get("claim") == "F6" and (r.get("cell") or {}).get("task") == probed
                   and (r.get("cell") or {}).get("model") == model} - {None})


def cka_section(ws, model=None):
    """Beyond the paper: each layer's debiased CKA to its original at the end, beside the
    paper's spatial similarity (F7's Pearson of label distances, where the original layer
    is linear), and Spearman's rho between the two rankings of layers 1..L, per task."""
    model = model or ws.tier.models[0]
    n = ws.n_layers(model)
    lines = ["| task | " + " | ".join(f"layer {k}" for k in range(n + 1))
             + " | Spearman (layers ranked) |", "|---|" + "---|" * (n + 2)]

    def fmt(v):
        return "-" if v is None else f"{v:.3f}"

    for task in ws.tier.tasks:
        try:
            a = similarity.rank_agreement(ws, model, task)
        except Exception as err:  # a cell the claims could not compute
            lines.append(f"| {task} | not computed: {_cell(err)} |")
            continue
        cells = [f"{fmt(c)} / {fmt(p)}" for c, p in zip(a["cka"], a["pearson"])]
        rho = "-" if a["spearman"] is None else f"{a['spearman']:+.3f}"
        lines.append(f"| {task} | " + " | ".join(cells)
                     + f" | {rho} ({len(a['ranked_layers'])}) |")
    return "\n".join(lines)


def linear_tasks(tasks):
    """The tasks whose last layer the paper finds linear: every task but TREC-50 (the ones
    Figs. 2 and 4 draw)."""
    return [t for t in tasks if t != "trec-50"]


def figure_not_drawn(name, tasks):
    """Why figure ``name`` has nothing to draw for the selected ``tasks`` (None: it has).

    Figs. 3 and 5 are drawn for POS only, as in the paper (a task not selected is never
    fine-tuned for a figure); Figs. 2 and 4 for the tasks whose last layer the paper
    finds linear, every task but TREC-50.
    """
    if name.startswith(("fig3", "fig5")) and "pos" not in tasks:
        return "pos is not among the selected tasks"
    if name.startswith(("fig2", "fig4")) and not linear_tasks(tasks):
        return "drawn for the tasks with a linear last layer, and trec-50 is the only one selected"
    return None


def write_report(ws, records, out_dir, provenance):
    """Write ``REPORT.md`` and the figures into ``out_dir``; returns the report path.

    ``records`` are the evidence records of the claim run (``evidence.json``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = ws.tier.models[0]
    n = ws.n_layers(model)
    linear = linear_tasks(ws.tier.tasks)
    tier_tasks = ws.tier.tasks
    figs = []
    for name, draw in (
        ("fig2_min_distance.png",
         lambda p: figures.fig2_min_distance(ws, model, linear, n, p)),
        ("fig3_centroid_paths.png",
         lambda p: figures.fig3_centroid_paths(ws, model, "pos", [1, n], p)),
        ("fig4_layer_similarity.png",
         lambda p: figures.fig4_layer_similarity(ws, model, linear, p)),
        ("fig5_centroid_differences.png",
         lambda p: figures.fig5_centroid_differences(ws, model, "pos", p)),
        ("fig6_cka_by_layer.png",
         lambda p: figures.fig6_cka_by_layer(ws, model, list(ws.tier.tasks), p)),
    ):
        reason = figure_not_drawn(name, tier_tasks)
        if reason:
            figs.append(f"{name} (not drawn: {reason})")
            continue
        try:
            draw(out / name)
            figs.append(name)
        except NotInStore as err:
            figs.append(f"{name} (not drawn: {err})")
        except Exception as err:  # keep the report: a missing figure is stated, not hidden
            logger.exception("figure %s failed", name)
            figs.append(f"{name} (FAILED: {err})")
    tier = ws.tier
    paper = [r for r in records if r.get("scope", "paper") == "paper"]
    extension = [r for r in records if r.get("scope") == "extension"]
    text = [
        f"# Claim verification report: tier `{tier.name}`",
        "",
        f"{tier.description}",
        "",
        headline(records),
        "",
        f"{seeds_line(tier, records)} {_precompute_line(provenance)}Claim run: "
        f"{provenance.get('claims_wall_s', 0):.0f} s wall ({_store_line(provenance)}).",
        "",
        "Verdicts: *holds*: the paper's rule holds; *deviates*: it does not, as recorded in "
        "`claims/deviations.py` with the numbers it keeps (the cell fails if they change); "
        "*fails*: it does not hold and no deviation is recorded, or a recorded deviation "
        "changed; *not applicable*: the rule's precondition is not met (e.g. F3 on a layer "
        "that was linear already); *not run*: not measurable here. *Paper scope* is the "
        "paper's own setting (the last layer for F3 and F5); the other layers are "
        "*extensions*, counted apart.",
        "",
        "## Findings x tasks (paper scope)",
        "",
        matrix(records, tier.tasks, tier.models),
        "",
        "## Deviations and failures",
        "",
        "Numbers are this run's; envelopes and notes come from `claims/deviations.py`.",
        "",
        deviation_section(records),
        "",
        "## Every paper-scope cell",
        "",
        "\n".join(f"- **{k}**: {v}" for k, v in CLAIM_TITLES.items()),
        "",
        verdict_table(paper),
        "",
    ]
    if extension:
        text += ["## Extensions: other layers and later literature", "",
                 "F3 and F5 decided at every layer besides the paper's last one; "
                 + "; ".join(f"**{k}** {v}" for k, v in EXTENSION_TITLES.items())
                 + " (`docs/claims.md`).", "",
                 verdict_table(extension), ""]
    text += [
        "## Appendix C, ours beside the paper's (last layer)",
        "",
        f"Ours: fine-tuning seed {ws.seed()}. Accuracies are MLP-probe test accuracy (mean "
        "and std over the probe initialisations); `#clu` is DirectProbe's cluster count on "
        "the training set; `sim` the train/test spatial similarity (\"-\" when a clustering "
        "is not linear).",
        "",
        appendix_c(ws, records),
        "",
        "## Table 5, ours beside the paper's (PS-fxn probed, last layer)",
        "",
        table_5(ws, records=records),
        "",
        "## Beyond the paper: CKA by layer",
        "",
        f"Ours: fine-tuning seed {ws.seed()}. Each cell: the debiased linear CKA of the layer "
        "at the end of fine-tuning against the same layer at update 0 (same training "
        "examples), then the paper's spatial similarity of the same pair (F7; \"-\" where "
        "the original layer is not linear, or its clustering no longer separates). "
        "Spearman's rho compares the two rankings of layers 1..L where both are defined "
        "(in brackets: how many); \"-\" with fewer than 3. Fig. 6 draws the CKA.",
        "",
        cka_section(ws),
        "",
        "## Figures",
        "",
        f"Drawn from fine-tuning seed {ws.seed()}.",
        "",
    ]
    captions = {
        "fig2": "Fig. 2: minimum distance of the 3 most- and 3 least-rising labels over updates (top layer).",
        "fig3": "Fig. 3: centroid paths of the three closest POS labels, layer 1 and top layer (2-D PCA).",
        "fig4": "Fig. 4: spatial similarity of each layer to its original over updates (fixed one-cluster-per-label clustering of the original; layers not linear at the start are not drawn).",
        "fig5": "Fig. 5: PCA of per-label centroid differences (after - before), per layer, POS.",
        "fig6": "Fig. 6 (beyond the paper): debiased linear CKA of each layer to its original at the end of fine-tuning, layers x tasks (X1, X2).",
    }
    for f in figs:
        key = f[:4]
        if " (" in f:  # not drawn, or failed: say so, no image link
            text += [f"- {captions[key]} **{f}**", ""]
        else:
            text += [f"![{captions[key]}]({f})", "", f"*{captions[key]}*", ""]
    text += ["## Provenance", "", "```json", json.dumps(provenance, indent=1, default=str), "```",
             ""]
    path = out / "REPORT.md"
    path.write_text("\n".join(text))
    (out / "provenance.json").write_text(json.dumps(provenance, indent=1, default=str) + "\n")
    return path
