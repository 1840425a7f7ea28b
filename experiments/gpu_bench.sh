#!/bin/bash
# The speed benchmarks on a lent GPU, alone on it (BENCHMARKS.md), in about 5 minutes: training steps
# (gan_jax N = 1 and 500 fused, scan unroll 1 and 4, float32 and bf16, vs the PyTorch eager reference),
# seeds side by side (1, 3, 8 replicas), the Parzen evaluation vs float64 numpy, and DCGAN-28's
# convolution gradients (canonical vs lax, replicas looped vs vmapped, vs torch eager), which decides
# config.model.conv_impl='auto' and replica_mode='auto' on the GPU (both pick lax and vmap there now).
#   bash experiments/gpu_bench.sh          # results in $OUT (log.txt, bench_*.json)
set -u
OUT=${OUT:-/tmp/gpu_bench_out}
PY=${PY:-python3}
source experiments/gpu_common.sh  # .devcarry set-up, log.txt, phase; prints the machine
phase bench_steps
timeout 170 $PY -m benchmarks.bench_steps --steps_per_call=1,500 --unroll=1,4 --dtypes=float32,bfloat16 \
  --windows=3 --window_steps=1000 --json_out="$OUT/bench_steps.json"
phase bench_replicas
timeout 80 $PY benchmarks/bench_replicas.py --replicas=1,3,8 --steps_per_call=500 --windows=3 \
  --json_out="$OUT/bench_replicas.json"
phase bench_parzen
timeout 40 $PY -m benchmarks.bench_parzen --json_out="$OUT/bench_parzen.json"
phase bench_dcgan
timeout 120 $PY -m benchmarks.bench_dcgan --steps_per_call=1,100 --replicas=3 --windows=3 \
  --json_out="$OUT/bench_dcgan.json"
phase done
