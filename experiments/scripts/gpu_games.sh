#!/bin/bash
# The DCGAN-28 trials of experiments/sweeps/games_mnist.py on a lent GPU, PARALLEL at a time (each
# trial: 3 seeds side by side, 7,500 steps, the MNIST metrics at the end; ~1-3 minutes each on an H100;
# one still running at DEADLINE_S gets SIGTERM: a clean save), then their table (experiments/reports/collect.py)
# and the small files of every run in $OUT/runs.tar.gz.
#   GAMES="minimax least_squares" bash experiments/scripts/gpu_games.sh     # results in $OUT
# GAMES: values of --game (default: all six, a GPU rerun of the table's DCGAN-28 rows, four of which
# were trained on the 2-core CPU; wasserstein is the sweep's gradient-penalty trial). A small local
# rehearsal (a few steps, no evaluation):
#   PY=.venv/bin/python OUT=/tmp/games_rehearsal RUNS=/tmp/games_rehearsal_runs GAMES=minimax \
#     EXTRA="--config.num_steps=4 --config.steps_per_call=2 --config.eval_every=0 --config.sample_every=4 \
#     --config.ckpt_every=4 --config.log_every=2" bash experiments/scripts/gpu_games.sh
set -u
OUT=${OUT:-/tmp/gpu_games_out}
RUNS=${RUNS:-/tmp/gan_jax_runs}
PY=${PY:-python3}
GAMES=${GAMES:-minimax nonsaturating least_squares hinge relativistic_average wasserstein}
PARALLEL=${PARALLEL:-4}
EXTRA=${EXTRA:-}  # overrides put after each trial's own flags (the rehearsal's)
DEADLINE_S=${DEADLINE_S:-570}  # seconds from the start: then SIGTERM (a clean save), collect, pack
mkdir -p "$RUNS/games"
source experiments/scripts/gpu_common.sh  # .devcarry set-up, log.txt, phase, pack; prints the machine
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.2}  # PARALLEL trials share the GPU

phase "queue: DCGAN-28 games $GAMES, $PARALLEL at a time"
$PY experiments/scripts/sweep.py --sweep=experiments/sweeps/games_mnist.py --root="$RUNS/games" --dry_run \
  | grep "dcgan_mnist" > "$RUNS/dcgan_games.txt"
: > "$RUNS/queue.txt"
for game in $GAMES; do
  if ! grep -e "--game=$game " "$RUNS/dcgan_games.txt" | sed "s| --workdir=| $EXTRA --workdir=|" \
    >> "$RUNS/queue.txt"; then
    echo "no DCGAN-28 trial of game '$game' in experiments/sweeps/games_mnist.py"
    exit 2
  fi
done
run_queue "$RUNS/queue.txt"  # gpu_common.sh: each under the deadline, SIGTERM = a clean save
phase collect
$PY experiments/reports/collect.py --root="$RUNS/games" --sort_by=fcd --order=ascending \
  --metrics=fcd,parzen_ll,classifier_score,precision,recall \
  || $PY experiments/reports/collect.py --root="$RUNS/games" --sort_by=d_loss
cp "$RUNS"/games/results.* "$OUT"/ 2>/dev/null
pack
phase done
