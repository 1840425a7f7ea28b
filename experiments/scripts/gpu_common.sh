# Sourced (from the repo root) by the lent-GPU scripts gpu_job.sh, gpu_job_long.sh, gpu_games.sh and gpu_bench.sh,
# with OUT and PY set (RUNS too, for pack): the carried data and wheels of .devcarry/ (see gpu_job.sh)
# put to use, everything printed from here on also written to $OUT/log.txt, the machine printed, and
#   phase TEXT   a timestamped header (seconds since START, which a script may set before sourcing)
#   pack         the small files of every run in $RUNS (no checkpoints, no event files) -> $OUT/runs.tar.gz
#   run_queue F  the commands of file F (one a line) PARALLEL (1) at a time, each under what is left of
#                START + DEADLINE_S (570 s) less 15 (SIGTERM then: a clean save), skipped with under
#                60 s left; each one's output in $RUNS/<its --workdir below $RUNS>.log
#   run_for T CMD...  CMD under min(T s, what is left of START + DEADLINE_S less 5); skipped under 10 s
START=${START:-$(date +%s)}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
[ -f .devcarry/data/mnist.pkl.gz ] && export GAN_JAX_DATA_DIR=$PWD/.devcarry/data
if ! $PY -c "import ml_collections, tensorboardX" 2>/dev/null; then  # what the GPU image lacks
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .devcarry/whl/*.whl
  export PYTHONPATH=/tmp/site
fi
exec > >(tee -a "$OUT/log.txt") 2>&1
phase() { echo "=== $(date -u +%T) +$(( $(date +%s) - START ))s $*"; }
pack() { (cd "$RUNS" && tar czf "$OUT/runs.tar.gz" --exclude=checkpoints --exclude=tb .); }
run_one() {  # one queued command; skipped when under 60 s are left
  local left=$(( START + DEADLINE_S - $(date +%s) - 15 ))
  local name; name=$(echo "$1" | sed "s|.*--workdir=$RUNS/||; s/[^A-Za-z0-9_.=,-]/_/g")
  if [ "$left" -lt 60 ]; then echo "skipped (${left}s left): $name"; return; fi
  echo "start $(date -u +%T) ($left s left): $name"
  timeout -s TERM -k 15 "$left" bash -c "$1" > "$RUNS/$name.log" 2>&1
  echo "end $(date -u +%T) exit $?: $name"
}
run_for() {
  local t=$1 left=$(( START + ${DEADLINE_S:-570} - $(date +%s) - 5 )); shift
  [ "$left" -lt "$t" ] && t=$left
  if [ "$t" -lt 10 ]; then echo "skipped (${left}s left): $*"; return; fi
  timeout -k 5 "$t" "$@"
}
run_queue() {
  export START RUNS DEADLINE_S=${DEADLINE_S:-570}
  export -f run_one
  tr '\n' '\0' < "$1" | xargs -0 -P "${PARALLEL:-1}" -I{} bash -c 'run_one "$@"' _ {}
}
phase machine
nvidia-smi -L 2>/dev/null; $PY -c "import jax; print(jax.__version__, jax.devices())"
