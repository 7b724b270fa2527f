"""Shared fixtures: the data directory and a session-wide offline default model."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def minilm():
    from harness.models import load_model

    return load_model("minilm-l6", device="cpu")
