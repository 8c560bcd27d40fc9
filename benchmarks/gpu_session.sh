#!/bin/bash
# One prepared session on a lent GPU machine (about 5 minutes): install the wheels that benchmarks/gpu_wheels.sh
# put in .whl/, then benchmarks/gpu.py, `supernas demo` on CUDA (training, Ray actors, Ray Tune fine-tuning,
# export), a Ray Tune supernet training with half a GPU per trial, and the CUDA-relevant tests. Files land in $OUT.
set -o pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
OUT=${OUT:-/tmp/gpu-session}
mkdir -p "$OUT"
t0=$(date +%s)
since() { echo "$1 at $(($(date +%s) - t0)) s"; }
$PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 3
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 PATH=/tmp/site/bin:$PATH
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/env.txt"
since setup
timeout 230 $PY benchmarks/gpu.py --budget-s 210 2>&1 | tee "$OUT/gpu.log"
since gpu.py
(nvidia-smi dmon -s um -d 2 >"$OUT/dmon.log" 2>&1 &)
mkdir -p /tmp/demo /tmp/tune
timeout 170 $PY -m supernas.cli.main demo --dir /tmp/demo 2>&1 | tee "$OUT/demo.log"
since demo
timeout 100 $PY -m supernas.cli.main train --out /tmp/tune/sn.pt --ray --trials 2 --gpus-per-trial 0.5 --epochs 5 \
    --json 2>&1 | tail -25 | tee "$OUT/tune.log"
pkill -f "nvidia-smi dmon"
since tune
timeout 120 $PY -m pytest -q -p no:cacheprovider -n 4 --dist loadscope --timeout 100 tests/supernet \
    tests/workers/test_pool.py tests/api/test_finetune.py 2>&1 | tail -40 | tee "$OUT/tests.log"
since tests
timeout 40 $PY benchmarks/gpu_profile.py >"$OUT/profile.log" 2>&1; grep "==" "$OUT/profile.log"
since profile
