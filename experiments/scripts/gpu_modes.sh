#!/bin/bash
# The mode-collapse tables' full budgets on a lent GPU (issue: mode collapse against the published
# tables): the sweeps' trials, PARALLEL at a time, each resuming from what an earlier session left in
# $RUNS (every trial checkpoints; one still running at DEADLINE_S gets SIGTERM: a clean save, so the
# next session, or the CPU, resumes it), then their tables and the small files in $OUT/runs.tar.gz.
#   SWEEPS="pacgan_toys stacked_mnist" bash experiments/scripts/gpu_modes.sh     # results in $OUT
# Carry $RUNS back between sessions (it holds the checkpoints) to go on where a session stopped.
# A local rehearsal (a few steps):
#   PY=.venv/bin/python OUT=/tmp/modes_rehearsal RUNS=/tmp/modes_runs SWEEPS=pacgan_toys \
#     EXTRA="--config.num_steps=4 --config.steps_per_call=2 --config.eval_every=4 --config.sample_every=4 \
#     --config.ckpt_every=4 --config.log_every=2 --config.num_replicas=1" bash experiments/scripts/gpu_modes.sh
set -u
OUT=${OUT:-/tmp/gpu_modes_out}
RUNS=${RUNS:-/tmp/gan_jax_runs}
PY=${PY:-python3}
SWEEPS=${SWEEPS:-pacgan_toys stacked_mnist}
PARALLEL=${PARALLEL:-4}
EXTRA=${EXTRA:-}
DEADLINE_S=${DEADLINE_S:-570}
source experiments/scripts/gpu_common.sh
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.2}  # PARALLEL trials share the GPU

: > "$RUNS/queue.txt"
for sweep in $SWEEPS; do
  mkdir -p "$RUNS/$sweep"
  $PY experiments/scripts/sweep.py --sweep="experiments/sweeps/$sweep.py" --root="$RUNS/$sweep" --dry_run \
    | sed "s| --workdir=| $EXTRA --workdir=|" >> "$RUNS/queue.txt" || exit 2
done
phase "queue: $(wc -l < "$RUNS/queue.txt") trials of $SWEEPS, $PARALLEL at a time"
run_queue "$RUNS/queue.txt"
phase collect
declare -A SORT=([pacgan_toys]="--sort_by=modes_covered" [stacked_mnist]="--sort_by=reverse_kl --order=ascending")
for sweep in $SWEEPS; do
  $PY experiments/reports/collect.py --root="$RUNS/$sweep" ${SORT[$sweep]:-} && cp "$RUNS/$sweep"/results.* "$OUT/" 2>/dev/null
done
pack
phase done
