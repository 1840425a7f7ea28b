#!/bin/bash
# The roads on the 2-D toys (experiments/sweeps/roads_toys.py, experiments/reports/ROADS.md): every trial
# in the sweep's order, each in ROOT/<toy>/<row> (its output in log.txt there), a finished one marked
# (.trained) and skipped when the script is run again; the commands are written to ROOT/commands.txt.
#   bash experiments/scripts/roads_toys.sh ROOT          # e.g. /tmp/roads_toys; PY defaults to .venv's
set -u
ROOT=${1:?usage: roads_toys.sh ROOT}
PY=${PY:-.venv/bin/python}
mkdir -p "$ROOT"
say() { echo "$(date -u +%T) $*"; }
$PY - "$PY" "$ROOT" > "$ROOT/commands.txt" <<'PYEOF' || exit 2
import sys
from experiments.scripts import trials
from experiments.sweeps import roads_toys
python, root = sys.argv[1:]
for record, overrides in roads_toys.named():
    argv = [python, "launch.py", *trials.launch_args(roads_toys.CONFIG, overrides, f"{root}/{record}")]
    print(trials.display(argv))
PYEOF
while read -r line; do
  workdir=${line##*--workdir=}
  mkdir -p "$workdir"
  [ -f "$workdir/.trained" ] && continue
  say "train $workdir"
  if nice -n 5 bash -c "$line" >> "$workdir/log.txt" 2>&1; then touch "$workdir/.trained"; fi
  say "trained (exit $?)"
done < "$ROOT/commands.txt"
say done
