# Sourced (from the repo root) by the lent-GPU scripts gpu_job.sh, gpu_job_long.sh and gpu_bench.sh,
# with OUT and PY set (RUNS too, for pack): the carried data and wheels of .devcarry/ (see gpu_job.sh)
# put to use, everything printed from here on also written to $OUT/log.txt, the machine printed, and
#   phase TEXT   a timestamped header (seconds since START, which a script may set before sourcing)
#   pack         the small files of every run in $RUNS (no checkpoints, no event files) -> $OUT/runs.tar.gz
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
phase machine
nvidia-smi -L 2>/dev/null; $PY -c "import jax; print(jax.__version__, jax.devices())"
