#!/usr/bin/env bash
# The GPU checks, run on a CUDA machine from the repository root after prepare.sh:
# the CUDA tests (bf16 autocast extraction and fine-tuning, the probe on CUDA) and the
# probe benchmark (batched torch on the GPU vs scikit-learn on one CPU thread, same
# process). Logs go to $OUT (or ./device-out).
set -uo pipefail
OUT=${OUT:-device-out}; mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .device/wheels/*.whl
export PYTHONPATH=/tmp/site:$PWD/.device/site:$PWD PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
export HARNESS_DATA_DIR=$PWD/.device/data HARNESS_STORE=/tmp/harness-store
nvidia-smi -L | tee "$OUT/device.txt"
python3 -c "import torch, transformers, sklearn, numpy; print(torch.__version__, transformers.__version__, sklearn.__version__, numpy.__version__)" | tee -a "$OUT/device.txt"
timeout 240 python3 -m pytest tests/test_cuda.py -v -p no:cacheprovider -rA 2>&1 | tee "$OUT/cuda_tests.log"
timeout ${PROBE_BENCH_S:-300} python3 benchmarks/benchmarks/probes.py --device cuda --threads 1 \
    --sklearn-subset ${SKLEARN_SUBSET:-6} 2>&1 | tee "$OUT/probe_bench.log"
