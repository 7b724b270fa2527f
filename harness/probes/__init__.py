"""Classifier probes: the paper's MLP probe and its grid-search protocol.

:class:`MLPProbe` is a scikit-learn classifier with two backends, ``"sklearn"`` (the
reference, :class:`sklearn.neural_network.MLPClassifier`) and ``"torch"`` (a batched
PyTorch trainer that fits many settings at once). :func:`probe_grid_search` runs the
paper's protocol and returns a :class:`ProbeResult`. torch is imported only when the
torch backend is used.
"""

from harness.probes.mlp import (
    GRIDS,
    MLPProbe,
    ProbeResult,
    choose_setting,
    get_grid,
    probe_grid_search,
    select_probe_setting,
)

__all__ = ["GRIDS", "MLPProbe", "ProbeResult", "choose_setting", "get_grid", "probe_grid_search",
           "select_probe_setting"]
