#!/bin/bash
# The extended Table 1 (experiments/sweeps/roads_mnist.py, experiments/reports/ROADS.md): GMMN+AE's two runs
# (its autoencoder, then GMMN in the code space), then every trial of the sweep in its order; each trained,
# measured by the MNIST metrics at its last step, and, for the rows INCEPTION names (every model row unless
# set), by Inception FID/KID (N_EVAL samples a seed against the first N_EVAL test images, KID subsets of
# KID_SUBSET). A finished step is marked (.trained, .evaluated) and skipped when the script is run again.
#   bash experiments/scripts/roads_mnist.sh ROOT          # e.g. /tmp/roads_mnist; PY defaults to .venv's
set -u
ROOT=${1:?usage: roads_mnist.sh ROOT}
PY=${PY:-.venv/bin/python}
N_EVAL=${N_EVAL:-1000}
KID_SUBSET=${KID_SUBSET:-500}
INCEPTION=${INCEPTION:-"config= gmmn_ae"}  # rows, as substrings of their workdirs (default: every model row)
GMMN_AE_STEPS=${GMMN_AE_STEPS:-1000}
mkdir -p "$ROOT"
say() { echo "$(date -u +%T) $*"; }
inception() {  # inception WORKDIR: its Inception metrics once, when INCEPTION names its row
  local workdir=$1 row
  for row in $INCEPTION; do
    case "$workdir" in *"$row"*) ;; *) continue ;; esac
    [ -f "$workdir/.trained" ] && [ ! -f "$workdir/.evaluated" ] || return
    say "inception $workdir"
    nice -n 5 $PY launch.py --mode=evaluate --workdir="$workdir" --reference=test:"$N_EVAL" \
      --num_samples="$N_EVAL" --kid_subset_size="$KID_SUBSET" >> "$workdir/eval_log.txt" 2>&1 \
      && touch "$workdir/.evaluated"
    say "evaluated (exit $?)"
    return
  done
}
run() {  # run WORKDIR COMMAND...: the training command once (output in WORKDIR/log.txt), then inception
  local workdir=$1; shift
  mkdir -p "$workdir"
  if [ ! -f "$workdir/.trained" ]; then
    say "train $workdir"
    if nice -n 5 "$@" >> "$workdir/log.txt" 2>&1; then touch "$workdir/.trained"; fi
    say "trained (exit $?)"
  fi
  inception "$workdir"
}

run "$ROOT/autoencoder" $PY launch.py --config=experiments/configs/gmmn_ae_mnist.py:autoencoder \
  --workdir="$ROOT/autoencoder"
run "$ROOT/gmmn_ae" $PY launch.py --config=experiments/configs/gmmn_ae_mnist.py \
  --config.mmd.autoencoder="$ROOT/autoencoder" --config.num_replicas=3 --config.num_steps="$GMMN_AE_STEPS" \
  --config.sample_every="$GMMN_AE_STEPS" --config.ckpt_every="$GMMN_AE_STEPS" \
  --config.eval_every="$GMMN_AE_STEPS" --config.steps_per_call=500 --config.log_every=500 \
  --workdir="$ROOT/gmmn_ae"
$PY experiments/scripts/sweep.py --sweep=experiments/sweeps/roads_mnist.py --root="$ROOT" --dry_run \
  > "$ROOT/commands.txt" || exit 2
while read -r line; do
  run "${line##*--workdir=}" bash -c "$line"
done < "$ROOT/commands.txt"
say done
