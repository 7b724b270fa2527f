#!/usr/bin/env bash
# The paper tier on a GPU box: minilm-l6, the five tasks, all 5 fine-tuning seeds, through
# Ray: fine-tuning, snapshot extraction and probes on the GPU, DirectProbe and the hull
# distances on the CPU cores (docs/paper-tier.md). Prepared, not yet run (no GPU was at
# hand when it was written). Run from the repository root; rerun the same command after
# a kill or a failure: finished artifacts are found in the store, fine-tuning runs resume
# from their last checkpoint.
#
#   OUT=device-out SEEDS="0 1 2 3 4" benchmarks/device/paper_tier.sh
#
# Needs: Python with the project installed (or PYTHONPATH=$PWD and its dependencies),
# Ray (`pip install '.[ray]'`), the data in $HARNESS_DATA_DIR, about 40 GB free for the
# store (docs/paper-tier.md: about 6.9 GB per seed plus checkpoints and models).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-device-out}; mkdir -p "$OUT"
SEEDS=${SEEDS:-"0 1 2 3 4"}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
export HARNESS_STORE=${HARNESS_STORE:-/tmp/harness-store}
export HARNESS_DATA_DIR=${HARNESS_DATA_DIR:-$PWD/../shared/data}
PY=${PY:-python3}
"$PY" -c "import ray" 2>/dev/null || "$PY" -m pip install -q '.[ray]'
{
  nvidia-smi -L
  nproc; free -g | head -2; df -h "$(dirname "$HARNESS_STORE")" | tail -1
  "$PY" -c "import torch, transformers, ray, numpy; print(torch.__version__, torch.cuda.is_available(), transformers.__version__, ray.__version__, numpy.__version__)"
} 2>&1 | tee "$OUT/device.txt"
# One command: precompute on Ray (local runtime sized to the machine), the claim run,
# the report. Progress lines go to stderr; without a terminal they are plain log lines.
# shellcheck disable=SC2086
/usr/bin/time -v "$PY" -m harness.cli verify --tier paper --executor ray --seeds $SEEDS \
    --out reports/paper 2>&1 | tee "$OUT/verify.log"
code=${PIPESTATUS[0]}
cp reports/paper/claims.log reports/paper/evidence.json reports/paper/REPORT.md "$OUT/" 2>/dev/null
du -sh "$HARNESS_STORE" | tee "$OUT/store_size.txt"
"$PY" -m harness.cli store ls > "$OUT/store_ls.txt" 2>&1
exit "$code"
