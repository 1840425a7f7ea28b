#!/bin/bash
# One lent-GPU session, prepared to fit its 15 minutes: the speed benchmarks (BENCHMARKS.md) and the
# paper reproduction runs (REPRODUCTION.md), 3 seeds x {simultaneous, alternating}, evaluated there.
#
# Prepare (here; .devcarry/ is git-ignored via .git/info/exclude and carried to the device):
#   mkdir -p .devcarry/data .devcarry/whl && cp ~/.cache/gan_jax/mnist.pkl.gz .devcarry/data/
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
#       -d .devcarry/whl ml_collections==1.1.0 tensorboardX==2.6.5     # what the GPU image lacks
# On the device (repo root):
#   bash experiments/scripts/gpu_job.sh            # results in $OUT (log.txt, *.json, runs.tar.gz)
# Locally, a small rehearsal of every phase (minutes on 2 CPUs):  SMALL=1 PY=.venv/bin/python OUT=/tmp/gpu_rehearsal bash experiments/scripts/gpu_job.sh
set -u
OUT=${OUT:-/tmp/gpu_job_out}
SMALL=${SMALL:-0}
SIM_S=${SIM_S:-170}   # wall-clock budget of each training run (SIGTERM then: a clean save)
ALT_S=${ALT_S:-120}
RUNS=${RUNS:-/tmp/gan_jax_runs}
PY=${PY:-python3}
mkdir -p "$RUNS"
source experiments/scripts/gpu_common.sh  # .devcarry set-up, log.txt, phase, pack; prints the machine

if [ "$SMALL" = 1 ]; then
  BENCH="--window_steps=20 --windows=2 --steps_per_call=1,10"
  PARZEN="--n=1000"
  REPL="--replicas=1,2 --steps_per_call=10 --windows=2 --num_train=2000"
  TRAIN="--config=experiments/configs/smoke.py --config.num_steps=40 --config.log_every=10"
  TRAIN="$TRAIN --config.sample_every=20 --config.ckpt_every=20 --config.eval_every=0 --config.steps_per_call=10"
  SIM_S=60; ALT_S=60
else
  BENCH="--steps_per_call=1,100,500 --windows=3"
  PARZEN=""
  REPL="--replicas=1,3,8 --steps_per_call=500 --windows=3"
  # 500 epochs (the paper config) unless the time budget ends the run first; Parzen/FCD every 100 epochs.
  TRAIN="--config.steps_per_call=500 --config.log_every=5000 --config.sample_every=25000"
  TRAIN="$TRAIN --config.ckpt_every=25000 --config.eval_every=50000"
fi

if [ -z "${SKIP_BENCH:-}" ]; then
phase bench_steps simultaneous
timeout 150 $PY -m benchmarks.bench_steps $BENCH --json_out="$OUT/bench_steps.json"
phase bench_parzen
timeout 60 $PY -m benchmarks.bench_parzen $PARZEN --json_out="$OUT/bench_parzen.json"
phase bench_replicas
timeout 90 $PY benchmarks/bench_replicas.py $REPL --json_out="$OUT/bench_replicas.json"
fi

for scheme in simultaneous alternating; do
  budget=$SIM_S; [ $scheme = alternating ] && budget=$ALT_S
  phase "train $scheme, 3 seeds, ${budget}s budget"
  timeout -s TERM -k 60 "$budget" $PY launch.py $TRAIN --update=$scheme --config.num_replicas=3 \
    --workdir="$RUNS/$scheme"
  echo "exit $?"
  pack
done
for scheme in simultaneous alternating; do
  phase "evaluate $scheme"
  timeout 120 $PY launch.py --mode=evaluate --workdir="$RUNS/$scheme"
  timeout 40 $PY experiments/reports/paper_figures.py --workdir="$RUNS/$scheme" --replica=0 --out="$RUNS/figures_$scheme"
  pack
done
ls -la "$OUT"
phase done
