"""The cost table of docs/paper-tier.md from ``paper_tier_cost.py``'s JSON.

Per task and one seed: the plan's counts (updates, snapshots, DirectProbe runs, distance
units, probes), the measured cost of one unit of each stage, and their product. Each cell
is marked ``m`` (measured on the full run's quantity), ``x`` (extrapolated: measured unit
cost times the plan's count) or ``-`` (not measured: the stage exceeded its time limit,
given as ``> limit``). The five-seed total counts update 0's analyses once.

    python benchmarks/paper_tier_table.py cost.json
"""

import json
import sys


def unit_costs(measured, task):
    """Measured per-unit seconds and peak memory of ``task``'s stages."""
    out = {}
    ft = measured.get(f"{task}/finetune")
    if ft and "result" in ft:
        r = ft["result"]
        snaps = r["snapshots"]
        extract = sum(s["extract_s"] for s in snaps)
        ends = [s for s in snaps if s["update"] in (0, r["n_updates"])]
        out["update_s"] = (r["train_s"] - extract) / r["n_updates"]
        out["end_train_s"] = _mean(s["extract_s"] for s in ends if s["split"] == "train")
        out["end_test_s"] = _mean(s["extract_s"] for s in ends if s["split"] == "test")
        out["thin_s"] = _mean(s["extract_s"] for s in snaps if s["update"] == 5)
        out["full16_s"] = _mean(s["extract_s"] for s in snaps if s["update"] == 10)
        out["finetune_rss_mb"] = ft["peak_rss_mb"]
        out["model_bytes"] = r["model_bytes"]
    for stage in ("directprobe", "distances", "probe"):
        rec = measured.get(f"{task}/{stage}")
        if rec is None:
            continue
        if rec.get("timed_out"):
            out[f"{stage}_s"] = ("timeout", rec["limit_s"])
        elif "result" in rec:
            out[f"{stage}_s"] = rec["result"]["seconds"]
            out[f"{stage}_rss_mb"] = rec["peak_rss_mb"]
    return out


def _mean(values):
    values = list(values)
    return sum(values) / len(values) if values else None


def project(plan, cost):
    """One seed's seconds per stage (None where a unit cost is missing)."""
    kinds, units = plan["snapshot_kinds"], plan["units"]
    out = {}
    if "update_s" in cost:
        out["finetune"] = plan["n_updates"] * cost["update_s"]
        out["extract"] = (kinds.get("end-train-all-float32", 0) * cost["end_train_s"]
                          + kinds.get("end-test-all-float32", 0) * cost["end_test_s"]
                          + kinds.get("train-all-float16", 0) * (cost["full16_s"] or 0)
                          + kinds.get("train-1-float16", 0) * (cost["thin_s"] or 0))
    for stage, key in (("directprobe", "cluster"), ("distances", "distances"),
                       ("probe", "probe")):
        unit = cost.get(f"{stage}_s")
        n = units.get(key, 0)
        if n == 0:
            out[stage] = 0.0
        elif isinstance(unit, (int, float)):
            out[stage] = n * unit
        elif isinstance(unit, tuple) or isinstance(unit, list):
            out[stage] = ("timeout", n * unit[1])
    return out


def fmt(value, mark):
    if value is None:
        return "-"
    if isinstance(value, (tuple, list)):
        return f"> {value[1] / 3600:.1f} h (-)"
    return f"{value:,.0f} ({mark})"


def main(path):
    data = json.loads(open(path).read())
    rows = ["| task | updates | snapshots | fine-tune s | extraction s | DirectProbe s | "
            "distances s | probe s | store GB | peak RSS |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    totals = {}
    for task, plan in data["plan"].items():
        cost = unit_costs(data["measured"], task)
        proj = project(plan, cost)
        gb = (plan["snapshot_bytes"] + cost.get("model_bytes", 0)) / 1e9
        rss = max(v for k, v in cost.items() if k.endswith("_rss_mb")) if any(
            k.endswith("_rss_mb") for k in cost) else None
        rows.append(
            f"| {task} | {plan['n_updates']} | {plan['n_snapshots']} | "
            f"{fmt(proj.get('finetune'), 'x')} | {fmt(proj.get('extract'), 'x')} | "
            f"{fmt(proj.get('directprobe'), 'x')} | {fmt(proj.get('distances'), 'x')} | "
            f"{fmt(proj.get('probe'), 'x')} | {gb:.2f} | "
            f"{'-' if rss is None else f'{rss / 1024:.1f} GiB'} |")
        for k, v in proj.items():
            if isinstance(v, (int, float)):
                totals[k] = totals.get(k, 0.0) + v
        totals["gb"] = totals.get("gb", 0.0) + gb
    print("\n".join(rows))
    print()
    print("one seed, sum of measured/extrapolated stages:",
          {k: round(v) if k != "gb" else round(v, 2) for k, v in totals.items()})
    print("units measured:")
    for task in data["plan"]:
        print(task, {k: (round(v, 2) if isinstance(v, float) else v)
                     for k, v in unit_costs(data["measured"], task).items()})


if __name__ == "__main__":
    main(sys.argv[1])
