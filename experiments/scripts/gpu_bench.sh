#!/bin/bash
# The speed benchmarks on a lent GPU, alone on it (BENCHMARKS.md), in one call of at most 9.5 minutes
# (DEADLINE_S=570 from the start; each phase capped by what is left): where the fused step's time goes
# (profiler trace: kernels per step, device busy vs wall time), XLA's defaults against CUDA-graph
# command buffers that also take the scan's while loop and the shuffle's cond (CMDBUF: the whole fused
# call one graph), the training steps (gan_jax N = 1 and 500 fused vs the PyTorch eager reference),
# seeds side by side (1 and 8 replicas), the Parzen evaluation vs float64 numpy, and DCGAN-28's
# convolution gradients (canonical vs lax, replicas looped vs vmapped).
#   bash experiments/scripts/gpu_bench.sh          # results in $OUT (log.txt, trace_*.json, bench_*.json)
#   N=2 WINDOW=4 DCGAN_N=1,2 bash experiments/scripts/gpu_bench.sh   # a quick rehearsal (e.g. on a CPU)
set -u
N=${N:-500}            # steps fused per call
WINDOW=${WINDOW:-1000}  # steps per timed window of bench_steps
DCGAN_N=${DCGAN_N:-1,100}
OUT=${OUT:-/tmp/gpu_bench_out}
PY=${PY:-python3}
CMDBUF=${CMDBUF:-FUSION,CUBLAS,CUBLASLT,CUSTOM_CALL,CUDNN,DYNAMIC_SLICE_FUSION,WHILE,CONDITIONAL}
XLA_CMDBUF="{\"xla_gpu_enable_command_buffer\": \"$CMDBUF\"}"
source experiments/scripts/gpu_common.sh  # .devcarry set-up, log.txt, phase; prints the machine
phase profile_trace default
run_for 75 $PY -m benchmarks.profile_trace --steps_per_call=$N --lanes=2 --top=25 \
  --json_out="$OUT/trace_default.json"
phase profile_trace cmdbuf
run_for 75 $PY -m benchmarks.profile_trace --steps_per_call=$N --lanes=2 --top=25 \
  --xla_options="$XLA_CMDBUF" --json_out="$OUT/trace_cmdbuf.json"
phase bench_steps
run_for 140 $PY -m benchmarks.bench_steps --steps_per_call=1,$N --windows=3 --window_steps=$WINDOW \
  --xla_options="{\"cmdbuf\": $XLA_CMDBUF}" --json_out="$OUT/bench_steps.json"
phase bench_replicas default
run_for 60 $PY benchmarks/bench_replicas.py --replicas=1,8 --steps_per_call=$N --windows=3 \
  --json_out="$OUT/bench_replicas.json"
phase bench_replicas cmdbuf
run_for 60 $PY benchmarks/bench_replicas.py --replicas=1,8 --steps_per_call=$N --windows=3 \
  --xla_options="$XLA_CMDBUF" --json_out="$OUT/bench_replicas_cmdbuf.json"
phase bench_parzen
run_for 35 $PY -m benchmarks.bench_parzen --json_out="$OUT/bench_parzen.json"
phase bench_dcgan
run_for 80 $PY -m benchmarks.bench_dcgan --steps_per_call=$DCGAN_N --replicas=3 --windows=3 \
  --json_out="$OUT/bench_dcgan.json"
phase done
