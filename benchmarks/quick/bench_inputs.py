"""Inputs of the quick kernel benchmarks: the asv suite's seeded generators, reused.

``benchmarks/benchmarks/common*.py`` are append-only (asv compares their numbers across
commits), so the quick benchmarks load them by path rather than copy them.
"""

import importlib.util
from pathlib import Path

ASV_SUITE = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"asv_{name}", ASV_SUITE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


common = _load("common")
#: DirectProbe's benchmark sets, by name (``DATASETS``).
geometry_clustering = _load("geometry_clustering")
