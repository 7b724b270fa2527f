"""Manifest, download and verify, offline: a fake opener serves local copies (file:// URLs)."""

import gzip
import hashlib
import shutil
import urllib.error
import urllib.request

import pytest

from harness.cli import main
from harness.data import download as dl
from harness.exceptions import ChecksumError, UnknownNameError


def blob_id(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@pytest.fixture
def serve(real_data_dir):
    """An opener mapping each manifest URL to a file:// URL of the local copy (or an override)."""

    urlopen = urllib.request.urlopen  # the real one, even if a test patches it later

    def make(overrides=None):
        table = {e.url: (real_data_dir / e.path) for entries in dl.MANIFEST.values() for e in entries}
        table.update(overrides or {})
        calls = []

        def opener(url, timeout):
            calls.append(url)
            return urlopen(table[url].as_uri(), timeout=timeout)

        opener.calls = calls
        return opener

    return make


def test_manifest_is_well_formed():
    assert dl.dataset_names() == ["streusle-4.2", "trec", "ud-ewt-r2.16", "ud-pud-r2.18", "ud-pud-r2.9"]
    for entries in dl.MANIFEST.values():
        for e in entries:
            assert e.url.startswith("https://") and not e.path.startswith("/")
            assert e.sha256 or e.git_blob
            assert e.sha256 is None or len(e.sha256) == 64
            if "github" in e.url:
                assert e.git_blob and len(e.url.split("/")[5]) == 40  # pinned commit
    pud = dl.MANIFEST["ud-pud-r2.9"][0]
    assert "c7cc02b595a06c44e73f24fc89ac1aea8a8478e4" in pud.url
    assert dl.MANIFEST["ud-pud-r2.18"][0].git_blob.startswith("f0288b72")
    assert dl.MANIFEST["streusle-4.2"][0].git_blob == "6cdf4861"


def test_verify_real_data_dir(real_data_dir):
    records = dl.verify(real_data_dir)
    assert len(records) == sum(len(v) for v in dl.MANIFEST.values())
    bad = [r for r in records if r["status"] not in ("ok", "substitute")]
    assert bad == []
    ewt_train = next(r for r in records if r["path"].endswith("en_ewt-ud-train.conllu"))
    if ewt_train["checked"].endswith(".gz"):
        assert ewt_train["note"] == "gzip copy of the official file"


def test_download_writes_verified_files(tmp_path, serve, real_data_dir):
    opener = serve()
    out = tmp_path / "data"
    results = dl.download(out, ["trec", "ud-pud-r2.9"], opener=opener, timeout=5)
    assert [r["status"] for r in results] == ["downloaded"] * 3
    for rel in ("trec/train_5500.label", "trec/TREC_10.label", "ud_english_pud/r2.9/en_pud-ud-test.conllu"):
        assert (out / rel).read_bytes() == (real_data_dir / rel).read_bytes()
    assert not list(out.rglob("*.part"))
    # Second run: everything verified in place, nothing fetched.
    n_calls = len(opener.calls)
    again = dl.download(out, "trec", opener=opener)
    assert [r["status"] for r in again] == ["present", "present"] and len(opener.calls) == n_calls
    assert all(r["status"] == "ok" for r in dl.verify(out, ["trec", "ud-pud-r2.9"]))


def test_checksum_mismatch_raises_and_writes_nothing(tmp_path, serve, real_data_dir):
    r29 = dl.MANIFEST["ud-pud-r2.9"][0]
    opener = serve({r29.url: real_data_dir / "ud_english_pud/en_pud-ud-test.conllu"})  # r2.18 bytes
    out = tmp_path / "data"
    with pytest.raises(ChecksumError) as err:
        dl.download(out, "ud-pud-r2.9", opener=opener)
    msg = str(err.value)
    assert "en_pud-ud-test.conllu" in msg and r29.git_blob in msg
    assert "got git blob f0288b72" in msg
    assert not (out / r29.path).exists() and not list(out.rglob("*.part"))


def test_streusle_train_is_checked_by_blob_prefix(tmp_path, serve, real_data_dir):
    # The reconstruction is not the official file: its blob does not start with 6cdf4861.
    train = dl.MANIFEST["streusle-4.2"][0]
    opener = serve({train.url: real_data_dir / "streusle/train/streusle.ud_train.reconstructed.conllulex"})
    with pytest.raises(ChecksumError, match=r"expected git blob prefix \(8 hex\) 6cdf4861, got git blob d5d1224b"):
        dl.download(tmp_path, "streusle-4.2", opener=opener)
    assert dl._mismatch(None, "6cdf4861", "x", "6cdf4861" + "0" * 32) is None


def test_verify_statuses(tmp_path, real_data_dir):
    (tmp_path / "trec").mkdir()
    shutil.copy(real_data_dir / "trec/TREC_10.label", tmp_path / "trec/TREC_10.label")
    (tmp_path / "trec/train_5500.label").write_bytes(b"NUM:date When ?\n")
    records = {r["path"]: r for r in dl.verify(tmp_path, "trec")}
    assert records["trec/TREC_10.label"]["status"] == "ok"
    bad = records["trec/train_5500.label"]
    assert bad["status"] == "mismatch" and bad["expected"].startswith("sha256 9e4c8bdc")
    assert {r["status"] for r in dl.verify(tmp_path, "ud-pud-r2.18")} == {"missing"}
    # A gzip copy of an official file verifies by its decompressed content.
    dev = dl.MANIFEST["ud-ewt-r2.16"][0]
    content = b"# fake\n"
    fake = dl.ManifestFile(dev.path, dev.url, git_blob=blob_id(content),
                           substitutes=(dl.Substitute(dev.path + ".gz", "gzip"),))
    (tmp_path / (dev.path + ".gz")).parent.mkdir(parents=True)
    (tmp_path / (dev.path + ".gz")).write_bytes(gzip.compress(content))
    assert dl.check_file(fake, tmp_path)["status"] == "ok"


def test_damaged_gzip_copy_is_a_mismatch_not_a_crash(tmp_path):
    dev = dl.MANIFEST["ud-ewt-r2.16"][0]
    fake = dl.ManifestFile(dev.path, dev.url, git_blob="0" * 40,
                           substitutes=(dl.Substitute(dev.path + ".gz", "gzip"),))
    packed = gzip.compress(b"# a sentence\n" * 100)
    (tmp_path / (dev.path + ".gz")).parent.mkdir(parents=True)
    (tmp_path / (dev.path + ".gz")).write_bytes(packed[: len(packed) // 2])
    record = dl.check_file(fake, tmp_path)
    assert record["status"] == "mismatch" and record["checked"] == dev.path + ".gz"
    assert record["got"].startswith("damaged gzip")


def test_unreachable_url_and_unknown_dataset(tmp_path):
    def offline(url, timeout):
        raise urllib.error.URLError("no network")

    with pytest.raises(ConnectionError, match="cogcomp.*--data-dir"):
        dl.download(tmp_path, "trec", opener=offline)
    assert not list(tmp_path.rglob("*.part"))
    with pytest.raises(UnknownNameError, match="Did you mean: trec"):
        dl.download(tmp_path, "trek")


def test_cli_download_and_verify(tmp_path, serve, monkeypatch, capsys):
    monkeypatch.setattr(dl.urllib.request, "urlopen", serve())
    assert main(["data", "download", "--data-dir", str(tmp_path), "--dataset", "trec"]) == 0
    assert "downloaded" in capsys.readouterr().out
    assert main(["data", "verify", "--data-dir", str(tmp_path), "--dataset", "trec"]) == 0
    assert main(["data", "verify", "--data-dir", str(tmp_path), "--dataset", "ud-pud-r2.9"]) == 1
    assert "harness data download --dataset ud-pud-r2.9" in capsys.readouterr().out
