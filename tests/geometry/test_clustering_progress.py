"""A long DirectProbe run says what it is doing at least once a minute."""

import logging

import numpy as np

from harness.geometry import _oracle, cluster_labels


def test_directprobe_logs_its_progress_every_heartbeat(monkeypatch, caplog):
    # A heartbeat of 0 s logs at every check: the lines name the phase, the merges and
    # the exact oracle calls (a real run logs at most once a minute).
    monkeypatch.setattr(_oracle, "HEARTBEAT_S", 0.0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = rng.integers(0, 3, 60)  # overlapping labels: the search and greedy phases run
    with caplog.at_level(logging.INFO, logger="harness.geometry.clustering"):
        res = cluster_labels(X, y, mode="reference")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("DirectProbe")]
    assert not res.linear and lines
    assert any("greedy" in line and "merges" in line for line in lines)
    assert all("exact oracle calls" in line for line in lines)


def test_a_short_run_logs_nothing(caplog):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 3))
    y = rng.integers(0, 2, 40)
    with caplog.at_level(logging.INFO, logger="harness.geometry.clustering"):
        cluster_labels(X, y)
    assert not [r for r in caplog.records if r.getMessage().startswith("DirectProbe")]
