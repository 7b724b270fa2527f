"""Store keys cover everything read: data files (sha256) and the code that produced a result.

The edits happen in temporary copies (of the package, of the data files); keys are
computed in a subprocess that imports the copy.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import harness
from harness.fingerprints import code_fingerprint, file_sha256, harness_imports

PACKAGE = Path(harness.__file__).parent
PUD = "ud_english_pud/r2.9/en_pud-ud-test.conllu"
TREC = ("trec/train_5500.label", "trec/TREC_10.label")

KEYS = r"""
import json, sys
import harness; print(harness.__file__)  # the copy, not the original
from types import SimpleNamespace
from harness.data import load_task
from harness.finetune import FinetuneConfig, run_config
from harness.fingerprints import code_fingerprint
from harness.representations import representation_config
from harness.store import config_key

model = SimpleNamespace(spec=SimpleNamespace(name="m"), fingerprint="weights")
out = {"analysis": code_fingerprint("harness.analyses.snapshot_geometry")}
for task in ("pos", "trec-6"):
    data = load_task(task, sys.argv[1], max_train_sentences=5, max_test_sentences=5)
    rep = representation_config(task, model, "train", [0], data=data.fingerprint)
    run = run_config(FinetuneConfig(task=task), model, data)
    out[task] = {"representations": config_key(rep), "run": config_key(run)}
print(json.dumps(out))
"""


def test_imports_are_followed_into_functions_and_parent_packages():
    # representations imports extract at module level; finetune imports the data and
    # model packages inside functions only.
    assert {"harness", "harness.extract", "harness.encoding", "harness.pooling",
            "harness.store"} <= set(harness_imports("harness.representations"))
    assert {"harness.data", "harness.data.registry", "harness.models.load",
            "harness.representations"} <= set(harness_imports("harness.finetune"))
    # the analyses depend on the geometry kernels through the geometry package
    assert {"harness.analyses", "harness.analyses.workspace", "harness.geometry._validation",
            "harness.geometry.hull_distance"} <= set(harness_imports("harness.analyses.snapshot_geometry"))


def test_a_reader_does_not_depend_on_the_other_readers():
    ud = set(harness_imports("harness.data.ud"))
    assert {"harness.data.ud", "harness.data._io", "harness.data.base"} <= ud
    assert not ud & {"harness.data.trec", "harness.data.streusle"}


def test_lazy_targets_exist_only_in_the_task_registry():
    # Lazy "module:attr" strings are not imports, so the fingerprint does not follow
    # them; the task registry's are covered by load_task. A new lazy registry would
    # escape the fingerprint: this test is there to notice it.
    lazy = re.compile(r"[\"']harness(\.\w+)+:\w+[\"']")
    holders = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
               if lazy.search(p.read_text())}
    # A task file's spec names its reader the same way (data/taskfile.py); load_task
    # fingerprints that reader as it does the built-ins'.
    assert holders == {"data/registry.py", "data/taskfile.py"}


def test_file_sha256_is_the_sha256_of_the_bytes(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"abc")
    assert file_sha256(path) == hashlib.sha256(b"abc").hexdigest()
    path.write_bytes(b"abcd")
    assert file_sha256(path) == hashlib.sha256(b"abcd").hexdigest()


@pytest.fixture(scope="module")
def copies(tmp_path_factory, real_data_dir):
    """A copy of the package and of the PUD and TREC files."""
    root = tmp_path_factory.mktemp("copies")
    shutil.copytree(PACKAGE, root / "src" / "harness",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for rel in (PUD, *TREC):
        (root / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(real_data_dir / rel, root / "data" / rel)
    return root


@pytest.fixture(scope="module")
def real_data_dir():
    from harness.settings import data_dir

    root = data_dir()
    if not (root / PUD).is_file():
        pytest.skip(f"{root / PUD} is absent; run `harness data download`")
    return root


def _keys(copies):
    # cwd: `python -c` puts the current directory first on sys.path, which from the
    # project root would import the original package instead of the copy.
    env = {**os.environ, "PYTHONPATH": str(copies / "src")}
    done = subprocess.run([sys.executable, "-c", KEYS, str(copies / "data")], env=env,
                          cwd=copies, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == str(copies / "src" / "harness" / "__init__.py")
    return json.loads(done.stdout.splitlines()[-1])


def _append(path, text):
    with open(path, "a") as fh:
        fh.write(text)


def test_editing_a_reader_or_a_data_file_changes_exactly_the_dependent_keys(copies):
    before = _keys(copies)

    # 1. A reader: only the tasks it reads get new keys.
    _append(copies / "src/harness/data/ud.py", "\n# an edit\n")
    after_reader = _keys(copies)
    for kind in ("representations", "run"):
        assert after_reader["pos"][kind] != before["pos"][kind]
        assert after_reader["trec-6"][kind] == before["trec-6"][kind]
    assert after_reader["analysis"] == before["analysis"]  # vectors' keys carry the data

    # 2. A data file: one label edited in PUD, in a sentence outside the 5-sentence cap.
    pud = copies / "data" / PUD
    text = pud.read_text()
    line = next(ln for ln in text.splitlines()[-50:] if "\tADP\t" in ln)
    pud.write_text(text.replace(line, line.replace("\tADP\t", "\tNOUN\t"), 1))
    after_data = _keys(copies)
    for kind in ("representations", "run"):
        assert after_data["pos"][kind] != after_reader["pos"][kind]
        assert after_data["trec-6"][kind] == after_reader["trec-6"][kind]

    # 3. Geometry code: the analyses' fingerprint changes, the runs' do not.
    _append(copies / "src/harness/geometry/_validation.py", "\n# an edit\n")
    after_geometry = _keys(copies)
    assert after_geometry["analysis"] != after_data["analysis"]
    assert after_geometry["pos"] == after_data["pos"]


def test_cached_analyses_are_keyed_by_the_calling_module(tmp_path):
    from harness.analyses import Workspace
    from harness.store import RunStore
    from harness.tiers import get_tier

    ws = Workspace(get_tier("tiny"), store=RunStore(tmp_path), progress=False)
    calls = []

    def compute():
        calls.append(1)
        return {"value": 1}

    assert ws.cached({"analysis": "demo"}, compute) == {"value": 1}
    assert ws.cached({"analysis": "demo"}, compute) == {"value": 1}
    assert len(calls) == 1
    (manifest,) = RunStore(tmp_path).ls()
    assert manifest["config"]["code"] == code_fingerprint(__name__)
    assert "harness.analyses.workspace" in harness_imports(__name__)
