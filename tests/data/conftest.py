"""Fixtures for the data tests: the real data directory and a writer of small bad files."""

import pytest

from harness.settings import data_dir


@pytest.fixture(scope="session")
def real_data_dir():
    # Tests against the real corpora need the shared data directory; skip (with the
    # path in the reason) only when it is not there at all.
    root = data_dir()
    if not root.is_dir():
        pytest.skip(f"data directory {root} is absent; run `harness data download` "
                    "or set HARNESS_DATA_DIR")
    return root


@pytest.fixture
def write(tmp_path):
    """``write(relpath, text_or_bytes)`` creates a file under tmp_path and returns its path."""

    def _write(rel, content):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
        return path

    return _write
