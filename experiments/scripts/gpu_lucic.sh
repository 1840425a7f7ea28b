#!/bin/bash
# Lucic et al.'s games at their budget on a lent GPU (experiments/sweeps/lucic_games.py: DCGAN-28, 6 games x
# MNIST and Fashion-MNIST, 15,625 steps, 3 seeds side by side), then each seed's Inception FID/KID of
# N_EVAL (10,000) samples against the 10,000 test images, the real-data floors at that N, and the tables
# (experiments/reports/lucic_report.py reads the records once they are copied to
# experiments/results/lucic_games/gpu/ and BUDGETS names "gpu"). Everything lands in $OUT (log.txt,
# runs.tar.gz with every run's small files and reports, set_floors/*.json).
#
# Prepare (here). The Inception weights (inception_fid.npz, 87 MB) are over one call's 64 MiB, so they
# travel in two calls to the same warm machine, as two halves that this script joins (the loader then
# checks the joined file's content hash):
#   mkdir -p .devcarry/data .devcarry/whl .devcarry/parts && cp ~/.cache/gan_jax/mnist.pkl.gz .devcarry/data/
#   cp -r ~/.cache/gan_jax/fashion_mnist .devcarry/data/
#   split -n 2 -d ~/.cache/gan_jax/inception/inception_fid.npz .devcarry/parts/inception_fid.npz.
#   # call 1 carries .devcarry/parts/inception_fid.npz.00 (and copies it to /tmp/parts/), call 2 carries .01
#   # and runs this script with PARTS="/tmp/parts/inception_fid.npz.00 .devcarry/parts/inception_fid.npz.01"
# DATASETS picks the datasets' trials and MATCH (a grep -E pattern, e.g. "game=minimax |reg.clip") the
# trials among them; two calls of 6 trials each fit the 15 minutes better than one.
# A local rehearsal of every phase (a few steps, tiny sets; minutes on 2 CPUs):
#   SMALL=1 PY=.venv/bin/python OUT=/tmp/lucic_rehearsal RUNS=/tmp/lucic_rehearsal_runs \
#     DATASETS=fashion_mnist MATCH="game=minimax " bash experiments/scripts/gpu_lucic.sh
set -u
OUT=${OUT:-/tmp/gpu_lucic_out}
RUNS=${RUNS:-/tmp/gan_jax_runs}
PY=${PY:-python3}
DATASETS=${DATASETS:-mnist fashion_mnist}
PARALLEL=${PARALLEL:-4}
DEADLINE_S=${DEADLINE_S:-570}
N_EVAL=${N_EVAL:-10000}
KID_SUBSET=${KID_SUBSET:-1000}
REFERENCE=${REFERENCE:-test}  # all 10,000 test images (Lucic et al.'s "dev" set)
EXTRA=${EXTRA:-}
PARTS=${PARTS:-}
MATCH=${MATCH:-.}
if [ "${SMALL:-0}" = 1 ]; then
  N_EVAL=40; KID_SUBSET=20; REFERENCE=test:40
  EXTRA="--config.num_steps=4 --config.steps_per_call=2 --config.sample_every=4 --config.ckpt_every=4"
  EXTRA="$EXTRA --config.log_every=2"
fi
mkdir -p "$RUNS/lucic"
source experiments/scripts/gpu_common.sh  # .devcarry set-up, log.txt, phase, run_queue, pack
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.2}  # PARALLEL trials share it

CACHE=${GAN_JAX_DATA_DIR:-$HOME/.cache/gan_jax}
if [ -n "$PARTS" ]; then
  phase "join the Inception weights"
  mkdir -p "$CACHE/inception" && cat $PARTS > "$CACHE/inception/inception_fid.npz"
fi

phase "queue: $DATASETS"
$PY experiments/scripts/sweep.py --sweep=experiments/sweeps/lucic_games.py --root="$RUNS/lucic" --dry_run \
  > "$RUNS/all.txt" || exit 2
: > "$RUNS/queue.txt"
for dataset in $DATASETS; do
  grep -e "configs/dcgan_${dataset}.py " "$RUNS/all.txt" | grep -E -e "$MATCH" | sed "s| --workdir=| $EXTRA --workdir=|" \
    >> "$RUNS/queue.txt"
done
wc -l < "$RUNS/queue.txt"
run_queue "$RUNS/queue.txt"  # each trial under the deadline: SIGTERM is a clean save

phase "evaluate: $N_EVAL samples a seed against the test images"
for workdir in "$RUNS"/lucic/*/; do
  run_for 240 $PY launch.py --mode=evaluate --workdir="$workdir" --reference="$REFERENCE" \
    --num_samples="$N_EVAL" --kid_subset_size="$KID_SUBSET" > "$workdir/eval_log.txt" 2>&1
  echo "exit $?: $workdir"
done

phase "real-data floors at N = $N_EVAL"
for dataset in $DATASETS; do
  run_for 120 $PY experiments/scripts/set_floors.py --features=inception --num="$N_EVAL" \
    --kid_subset_size="$KID_SUBSET" --datasets="$dataset" --out="$OUT/set_floors"
done
# the small files only: each seed's samples_vs_reference.npy is 31 MB at N = 10,000
(cd "$RUNS" && tar czf "$OUT/runs.tar.gz" --exclude=checkpoints --exclude=tb --exclude='*.npy' .)
ls -la "$OUT"
phase done
