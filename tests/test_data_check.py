"""The data comes first: ``harness data check`` passes, downloads, or stops with one line."""

import shutil

import pytest

from harness.cli import main
from harness.data.check import DataCheckError, check_data
from harness.settings import data_dir


def _no_network():
    return False


def test_missing_data_is_one_line_naming_the_variable_and_the_download(tmp_path):
    with pytest.raises(DataCheckError) as err:
        check_data(tmp_path / "none", download_if_missing=True, reachable=_no_network,
                   fetch=pytest.fail)
    text = str(err.value)
    assert "\n" not in text and "HARNESS_DATA_DIR" in text and "harness data download" in text
    assert "no data directory" in text


def test_the_command_exits_2_with_one_line(tmp_path, capsys):
    assert main(["data", "check", "--data-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("harness data check: error: ")


def test_missing_files_are_downloaded_when_the_network_answers(tmp_path):
    source = data_dir()
    if not source.is_dir():
        pytest.skip("no data directory to serve the download from")
    fetched = []

    def fetch(root):  # stands in for harness.data.download.download (checksummed)
        fetched.append(root)
        shutil.copytree(source, root, dirs_exist_ok=True)

    target = tmp_path / "data"
    assert check_data(target, download_if_missing=True, reachable=lambda: True,
                      fetch=fetch) == target
    assert fetched == [target]
    # Present now: nothing is fetched again.
    check_data(target, download_if_missing=True, reachable=lambda: True, fetch=pytest.fail)


def test_a_corrupt_file_is_reported_not_replaced(tmp_path):
    source = data_dir()
    if not source.is_dir():
        pytest.skip("no data directory")
    shutil.copytree(source, tmp_path / "data")
    (tmp_path / "data" / "trec" / "TREC_10.label").write_text("changed\n")
    with pytest.raises(DataCheckError, match="do not match their checksums.*--force"):
        check_data(tmp_path / "data", download_if_missing=True, reachable=pytest.fail)
