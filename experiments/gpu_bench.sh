#!/bin/bash
# The speed benchmarks on a lent GPU, alone on it (BENCHMARKS.md), in about 5 minutes: training steps
# (gan_jax N = 1 and 500 fused, scan unroll 1 and 4, float32 and bf16, vs the PyTorch eager reference),
# seeds side by side (1, 3, 8 replicas), the Parzen evaluation vs float64 numpy.
#   bash experiments/gpu_bench.sh          # results in $OUT (log.txt, bench_*.json)
set -u
OUT=${OUT:-/tmp/gpu_bench_out}
PY=${PY:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if ! $PY -c "import ml_collections" 2>/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .devcarry/whl/*.whl
  export PYTHONPATH=/tmp/site
fi
exec > >(tee -a "$OUT/log.txt") 2>&1
phase() { echo "=== $(date -u +%T) $*"; }
phase machine
nvidia-smi -L 2>/dev/null
phase bench_steps
timeout 170 $PY -m benchmarks.bench_steps --steps_per_call=1,500 --unroll=1,4 --dtypes=float32,bfloat16 \
  --windows=3 --window_steps=1000 --json_out="$OUT/bench_steps.json"
phase bench_replicas
timeout 80 $PY benchmarks/bench_replicas.py --replicas=1,3,8 --steps_per_call=500 --windows=3 \
  --json_out="$OUT/bench_replicas.json"
phase bench_parzen
timeout 40 $PY -m benchmarks.bench_parzen --json_out="$OUT/bench_parzen.json"
phase done
