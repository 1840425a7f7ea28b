#!/bin/bash
# One lent-GPU call, prepared to fit a deadline (DEADLINE_S seconds from its start, default 570):
#  - the paper reproduction run past 500 epochs (simultaneous, seeds 0-2 side by side, up to 1,500
#    epochs, Parzen/FCD every 250 epochs; SIGTERM before the deadline: a clean save, then an evaluation
#    of the last checkpoint), REPRODUCTION.md;
#  - at the same time on the same GPU, a queue of shorter runs, PARALLEL (1) at a time, in this order:
#    conditional MNIST (concat D, 50 epochs of the paper config), the MNIST games sweep's paper-MLP
#    half (experiments/sweeps/games_mnist.py), the bf16 run of the paper model (100 epochs), conditional
#    MNIST with the projection D, the games sweep's DCGAN-28 half.
#    A queued run that cannot finish gets SIGTERM before the deadline (checkpoint kept, no evaluation).
# Every run's small outputs (metrics.jsonl, eval.json, sample PNGs, logs; no checkpoints) come back in
# $OUT/runs.tar.gz. Preparation and the carried wheels as in experiments/scripts/gpu_job.sh.
#   bash experiments/scripts/gpu_job_long.sh                     # on the device
#   SMALL=1 PY=.venv/bin/python OUT=/tmp/rehearsal bash experiments/scripts/gpu_job_long.sh   # a rehearsal here
set -u
START=$(date +%s)
OUT=${OUT:-/tmp/gpu_job_out}
SMALL=${SMALL:-0}
DEADLINE_S=${DEADLINE_S:-570}
PARALLEL=${PARALLEL:-1}
RUNS=${RUNS:-/tmp/gan_jax_runs}
PY=${PY:-python3}
mkdir -p "$RUNS"
# several processes share the GPU: no process may take most of its memory up front
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.15}
source experiments/scripts/gpu_common.sh  # .devcarry set-up, log.txt, phase, pack; prints the machine
left() { echo $(( START + DEADLINE_S - $(date +%s) )); }

if [ "$SMALL" = 1 ]; then
  LONG="--config=experiments/configs/smoke.py --config.num_steps=400 --config.steps_per_call=20"
  LONG="$LONG --config.log_every=100 --config.sample_every=200 --config.ckpt_every=100 --config.eval_every=200"
  LONG="$LONG --config.eval_samples=10000"
  QUICK="--config=experiments/configs/smoke.py --config.num_steps=40 --config.steps_per_call=20 --config.eval_every=40"
  QUICK="$QUICK --config.eval_samples=10000 --config.num_replicas=3"
  BF16_STEPS=40; COND_STEPS=40; END_MARGIN=60
else
  LONG="--config.num_epochs=1500 --config.steps_per_call=500 --config.log_every=5000"
  LONG="$LONG --config.sample_every=50000 --config.ckpt_every=25000 --config.eval_every=125000"
  QUICK="--config.num_epochs=100 --config.steps_per_call=500 --config.log_every=5000 --config.sample_every=50000"
  QUICK="$QUICK --config.ckpt_every=25000 --config.eval_every=50000 --config.num_replicas=3"
  BF16_STEPS=50000; COND_STEPS=25000; END_MARGIN=50
fi

phase "long run: paper config, simultaneous, seeds 0-2, budget $(( $(left) - END_MARGIN ))s"
( timeout -s TERM -k 30 $(( $(left) - END_MARGIN )) $PY launch.py $LONG --config.num_replicas=3 \
    --workdir="$RUNS/long_sim" > "$RUNS/long_sim.log" 2>&1
  echo "long run exit $?" >> "$RUNS/long_sim.log"
  timeout $(( $(left) - 5 )) $PY launch.py --mode=evaluate --workdir="$RUNS/long_sim" >> "$RUNS/long_sim.log" 2>&1
  echo "long evaluate exit $?" >> "$RUNS/long_sim.log" ) &
LONG_PID=$!

# the queue: one command per line, run PARALLEL at a time, each under what is left of the deadline
QUEUE="$RUNS/queue.txt"
: > "$QUEUE"
cond() { echo "$PY launch.py $QUICK --config.num_steps=$COND_STEPS --config.eval_every=$COND_STEPS --config.model.num_classes=10 --config.model.conditioning=$1 --workdir=$RUNS/cond_$1"; }
bf16="$PY launch.py $QUICK --config.num_steps=$BF16_STEPS --config.eval_every=$BF16_STEPS --config.model.dtype=bfloat16 --workdir=$RUNS/bf16"
cond concat >> "$QUEUE"
if [ "$SMALL" = 1 ]; then
  echo "$PY launch.py $QUICK --game=hinge --update=alternating --workdir=$RUNS/games/hinge" >> "$QUEUE"
  echo "$bf16" >> "$QUEUE"
  cond projection >> "$QUEUE"
else
  $PY experiments/scripts/sweep.py --sweep=experiments/sweeps/games_mnist.py --root="$RUNS/games" --dry_run \
    | grep "launch.py" > "$RUNS/games.txt"
  grep paper_mnist_adam "$RUNS/games.txt" >> "$QUEUE"
  echo "$bf16" >> "$QUEUE"
  cond projection >> "$QUEUE"
  grep dcgan_mnist "$RUNS/games.txt" >> "$QUEUE"
fi
phase "queue: $(wc -l < "$QUEUE") runs, $PARALLEL at a time"
run_queue "$QUEUE"
phase "queue done"
wait $LONG_PID
phase "long run done"
tail -5 "$RUNS/long_sim.log"
pack
ls -la "$OUT"
phase done
