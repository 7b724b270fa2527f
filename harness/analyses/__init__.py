"""The paper's analyses: the only place where stored runs meet the geometry and probe kernels.

Each function takes a :class:`~harness.analyses.workspace.Workspace` (tier + store + data)
and returns plain records (dicts of numbers and lists) that claims assert on and reports
render. Expensive results (DirectProbe clusterings, probe grids) are cached in the run
store under their full configuration.
"""

from .workspace import Workspace

__all__ = ["Workspace"]
