r"""Runs a sweep (experiments/sweeps/*.py): every trial is launch.py with its overrides in its own workdir.

Locally, N trials at a time, each one's output in <workdir>/log.txt:
  python experiments/scripts/sweep.py --sweep=experiments/sweeps/smoke.py --root=/tmp/sweep_smoke --parallel=2
On Cloud TPU through queued resources (--num_tpus of them, created or reused, given trials round robin,
deleted at the end if created here; --dry_run prints the commands and runs nothing):
  python experiments/scripts/sweep.py --sweep=experiments/sweeps/seeds.py --backend=tpu \
      --root=gs://BUCKET/seeds --project=PROJECT --zone=us-central2-b --num_tpus=2 --spot --evaluate --dry_run
A TPU is one host (a multi-host --accelerator_type is refused); the same command starts on every worker
(`tpu-vm ssh --worker=all`); --data_parallel trains each trial over all its chips (one chip otherwise).
A trial's workdir is <root>/<trial> in the bucket itself (gan_jax/training/storage.py: pushed at each
checkpoint), so when its TPU is preempted (the trial's ssh fails and the queued resource's state is no
longer ACTIVE: SUSPENDING / SUSPENDED once a Spot TPU is reclaimed, or FAILED), the queued resource is
deleted and created again, the dead VM's lease on the workdir deleted, and the trial rerun: it resumes
from its last checkpoint in the bucket. The code goes up as `git archive HEAD` (commit first), or is
cloned from --repo_url. Each queued resource's commands and output: <tmp>/gan_jax_sweep_*/<name>.log.
Tabulate with experiments/reports/collect.py (after `gcloud storage cp -r` of the root).
"""

import concurrent.futures
import os
import sys
import time

from absl import app, flags

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from experiments.scripts import queued_resources  # noqa: E402
from experiments.scripts.trials import (  # noqa: E402
    SweepError,
    display,
    load_sweep,
    named_trials,
    run_logged,
    trial_argvs,
)

_SWEEP = flags.DEFINE_string("sweep", None, "A sweep file: CONFIG and get_sweep() -> list of override dicts.")
_ROOT = flags.DEFINE_string(
    "root",
    None,
    "Trials go to <root>/<trial name>; gs://... for --backend=tpu. Default /tmp/gan_jax/sweeps/<sweep>.",
)
_BACKEND = flags.DEFINE_enum("backend", "local", ["local", "tpu"], "Where trials run.")
_PARALLEL = flags.DEFINE_integer("parallel", 1, "Local trials at a time.")
_EVALUATE = flags.DEFINE_bool("evaluate", False, "Run launch.py --mode=evaluate after each trial trains.")
_DRY_RUN = flags.DEFINE_bool("dry_run", False, "Print the commands; run nothing.")
_TPU_PREFIX = flags.DEFINE_string(
    "tpu_name_prefix",
    "gan-jax-sweep",
    "Queued resources (and their TPU nodes) are <prefix>-0, <prefix>-1, ...",
)
_NUM_TPUS = flags.DEFINE_integer(
    "num_tpus", 1, "Queued resources working in parallel; each runs its trials in turn."
)
_SPOT = flags.DEFINE_bool("spot", False, "Spot TPUs (cheaper, preemptible: a preempted trial resumes).")
_MAX_PREEMPTIONS = flags.DEFINE_integer(
    "max_preemptions", 5, "Recreations of a queued resource for one trial before the trial is given up."
)
_POLL_S = flags.DEFINE_float("poll_s", 30.0, "Seconds between the checks of a queued resource's state.")
_MAX_WAIT_S = flags.DEFINE_float(
    "max_wait_s", 24 * 3600.0, "Give up a queued resource not ACTIVE after this long."
)
_ZONE = flags.DEFINE_string("zone", "us-central2-b", "TPU zone.")
_ACCELERATOR = flags.DEFINE_string(
    "accelerator_type",
    "v4-8",
    "TPU type of one host (v4-8, v5p-8, v5litepod-8, v6e-8, ...); a multi-host slice is refused.",
)
_DATA_PARALLEL = flags.DEFINE_bool(
    "data_parallel",
    False,
    "Each trial trains over all its machine's devices (--config.data_parallel=True: the batch split "
    "over them, the data by rows); off, a trial uses one device (one chip of a TPU VM).",
)
_VERSION = flags.DEFINE_string(
    "version", "tpu-ubuntu2204-base", "TPU runtime version (v5e: v2-alpha-tpuv5-lite; v6e: v2-alpha-tpuv6e)."
)
_PROJECT = flags.DEFINE_string("project", None, "GCP project (default: gcloud's).")
_REPO_URL = flags.DEFINE_string("repo_url", None, "git clone this on the VMs instead of copying HEAD up.")
_SETUP = flags.DEFINE_string(
    "setup", queued_resources.DEFAULT_SETUP, "Shell command run in the code's directory on every worker."
)
_KEEP_TPUS = flags.DEFINE_bool("keep_tpus", False, "Do not delete the queued resources at the end.")


def run_local(config: str, trials: list[tuple[str, dict]], root: str, parallel: int, evaluate: bool) -> dict:
    """Trials in a pool of ``parallel``; {trial: failure} for the failed ones."""
    root = os.path.abspath(root)

    def one(item):
        name, overrides = item
        workdir = os.path.join(root, name)
        os.makedirs(workdir, exist_ok=True)
        start = time.time()
        failure = run_logged(
            trial_argvs(sys.executable, config, overrides, workdir, evaluate), f"{workdir}/log.txt"
        )
        print(f"{'FAILED' if failure else 'done'} {name} ({time.time() - start:.0f} s)", flush=True)
        return name, failure

    with concurrent.futures.ThreadPoolExecutor(max(1, parallel)) as pool:
        return {name: failure for name, failure in pool.map(one, trials) if failure}


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        if not _SWEEP.value:
            raise SweepError("--sweep is required (a file in experiments/sweeps/)")
        config, trials = load_sweep(_SWEEP.value)
        trials = named_trials(trials)
        if _DATA_PARALLEL.value:  # after naming: the trials' names stay those of their own overrides
            if any("config.data_parallel" in overrides for _, overrides in trials):
                raise SweepError("--data_parallel and a trial's own config.data_parallel: choose one")
            if _BACKEND.value == "local" and _PARALLEL.value > 1:
                raise SweepError("--data_parallel gives each trial every device; run them one at a time")
            trials = [(name, {**overrides, "config.data_parallel": True}) for name, overrides in trials]
        root = _ROOT.value or f"/tmp/gan_jax/sweeps/{os.path.splitext(os.path.basename(_SWEEP.value))[0]}"
        if (_BACKEND.value == "tpu") != root.startswith("gs://"):
            raise SweepError(
                f"--backend={_BACKEND.value} needs a {'gs://' if _BACKEND.value == 'tpu' else 'local'} --root"
            )
        if _BACKEND.value == "local":
            if _DRY_RUN.value:
                for name, overrides in trials:
                    workdir = os.path.join(os.path.abspath(root), name)
                    for a in trial_argvs(sys.executable, config, overrides, workdir, _EVALUATE.value):
                        print(display(a))
                return
            print(f"{len(trials)} trials in {root}, {_PARALLEL.value} at a time", flush=True)
            failures = run_local(config, trials, root, _PARALLEL.value, _EVALUATE.value)
        else:
            if _PARALLEL.value != 1:
                raise SweepError("--parallel is for --backend=local; on TPUs --num_tpus VMs work in parallel")
            queued_resources.check_accelerator(_ACCELERATOR.value)
            tpu = dict(
                prefix=_TPU_PREFIX.value,
                num_tpus=_NUM_TPUS.value,
                zone=_ZONE.value,
                accelerator_type=_ACCELERATOR.value,
                version=_VERSION.value,
                spot=_SPOT.value,
                project=_PROJECT.value,
                repo_url=_REPO_URL.value,
                setup=_SETUP.value,
                evaluate=_EVALUATE.value,
                keep_tpus=_KEEP_TPUS.value,
            )
            local, plans = queued_resources.tpu_plan(config, trials, root, **tpu)
            if _DRY_RUN.value:
                print("\n".join(queued_resources.plan_lines(local, plans)))
                return
            runs = dict(
                max_preemptions=_MAX_PREEMPTIONS.value, poll_s=_POLL_S.value, max_wait_s=_MAX_WAIT_S.value
            )
            failures = queued_resources.run_tpu(local, plans, runs)
    except SweepError as e:
        print("error: " + " ".join(str(e).split()), file=sys.stderr)
        sys.exit(2)
    for name, failure in failures.items():
        print(f"FAILED {name}: {failure}", file=sys.stderr)
    print(f"{len(trials) - len(failures)}/{len(trials)} trials finished in {root}")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    app.run(main)
