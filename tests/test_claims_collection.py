"""Collecting the claims never touches the network or looks for weights (issue 15).

The collection runs in a fresh interpreter where every function that could reach the hub
(the weight lookup, hub downloads, any socket) raises: collecting ``-m tiny`` must not
call them for the full tier's five BERTs, nor for a hub id given with ``--models``.
"""

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]

GUARDED_COLLECTION = r"""
import socket, sys
import huggingface_hub, pytest
import harness.models.registry as registry
import harness.models.load as load

def refuse(*args, **kwargs):
    raise AssertionError("network or weight lookup during collection")

registry.weights_available = refuse
load.model_directory = refuse
huggingface_hub.snapshot_download = refuse
huggingface_hub.hf_hub_download = refuse
socket.socket.connect = refuse
socket.create_connection = refuse
sys.exit(pytest.main(sys.argv[1:]))
"""


def _collect(*extra):
    return subprocess.run(
        [sys.executable, "-c", GUARDED_COLLECTION, "claims", "-m", "tiny", "--collect-only",
         "-q", "-p", "no:cacheprovider", *extra],
        cwd=PROJECT, capture_output=True, text=True, timeout=300)


def test_collecting_tiny_never_looks_for_weights_or_the_network():
    done = _collect()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "tiny-minilm-l6-pos-L6" in done.stdout


def test_a_hub_id_is_collected_without_the_hub():
    # Not in any local cache: one cell per per-layer claim, decided (and failed with the
    # reason) when it runs, never at collection.
    done = _collect("--models", "example-org/not-cached-model")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "tiny-example-org/not-cached-model-pos" in done.stdout
