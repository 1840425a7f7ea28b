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
import importlib.util
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

from absl import app, flags

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

FLAG_KEYS = ("config", "game", "update", "d_steps", "seed")  # launch.py flags a trial may set
REMOTE_DIR = "gan_jax"  # the code's directory in the TPU VM's home
REMOTE_PYTHON = ".venv/bin/python"  # made by DEFAULT_SETUP; a custom --setup must make it too
# Python 3.11+ (setup.cfg) through uv: the TPU VM images ship 3.10. Runs in REMOTE_DIR on every worker.
DEFAULT_SETUP = (
    "curl -LsSf https://astral.sh/uv/install.sh | sh"
    " && ~/.local/bin/uv venv --seed --python=3.11 .venv"
    " && ~/.local/bin/uv pip install --python=.venv/bin/python -c constraints.txt -e . 'jax[tpu]' gcsfs"
    " && .venv/bin/python -m gan_jax.data"
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
    "setup", DEFAULT_SETUP, "Shell command run in the code's directory on every worker."
)
_KEEP_TPUS = flags.DEFINE_bool("keep_tpus", False, "Do not delete the queued resources at the end.")


class SweepError(ValueError):
    """A bad sweep file or override; the message is one line."""


# ---------------------------------------------------------------------------------------------- sweep


def _load_module(path: str, what: str):
    """The Python file ``path`` as a module; its own error (or its absence) in one line."""
    if not os.path.isfile(path):
        raise SweepError(f"no {what} file {path}")
    spec = importlib.util.spec_from_file_location("_" + what, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        raise SweepError(f"cannot load {what} {path}: {type(e).__name__}: {e}") from None
    return module


def load_sweep(path: str) -> tuple[str, list[dict]]:
    """(CONFIG, trials) of a sweep file, checked."""
    module = _load_module(path, "sweep")
    config, get_sweep = getattr(module, "CONFIG", None), getattr(module, "get_sweep", None)
    if not isinstance(config, str) or not callable(get_sweep):
        raise SweepError(f"{path} needs CONFIG (a config file path) and get_sweep()")
    try:
        trials = get_sweep()
    except Exception as e:
        raise SweepError(f"{path}: get_sweep() failed: {type(e).__name__}: {e}") from None
    if not trials or not isinstance(trials, list) or not all(isinstance(t, dict) for t in trials):
        raise SweepError(f"{path}: get_sweep() must return a non-empty list of override dicts")
    check_overrides(config, trials)
    return config, trials


def _load_config(path: str):
    module = _load_module(path if os.path.isabs(path) else os.path.join(ROOT, path), "config")
    try:
        return module.get_config()
    except Exception as e:  # the file's own error, in one line
        raise SweepError(f"cannot load config {path}: {type(e).__name__}: {e}") from None


def check_overrides(config: str, trials: list[dict]) -> None:
    """Every key is a launch.py flag or an existing field of the trial's config file."""
    configs = {}
    for trial in trials:
        path = trial.get("config", config)
        if not isinstance(path, str):
            raise SweepError(f"override 'config' must be a config file path, not {path!r}")
        if path not in configs:
            configs[path] = _load_config(path)
        for key in trial:
            if key in FLAG_KEYS:
                continue
            if not key.startswith("config."):
                raise SweepError(
                    f"unknown override {key!r} (use one of {', '.join(FLAG_KEYS)} or config.<field>)"
                )
            node = configs[path]
            for part in key.split(".")[1:]:
                if not hasattr(node, "keys") or part not in node:
                    raise SweepError(f"unknown override {key!r}: no such field in {path}")
                node = node[part]


def flag_value(value) -> str:
    """A value as absl/ml_collections parse it: (64, 64) -> '(64,64)'."""
    if isinstance(value, tuple | list):
        inner = ",".join(flag_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return str(value)


def trial_name(overrides: dict, keys=None) -> str:
    """A readable, path- and shell-safe name from the overrides in ``keys`` (default all).

    {'config.model.g_hidden': (64, 64), 'seed': 0} -> 'model.g_hidden=64x64,seed=0'.
    """
    parts = []
    for key, value in overrides.items():
        if keys is not None and key not in keys:
            continue
        text = os.path.splitext(os.path.basename(value))[0] if key == "config" else flag_value(value)
        text = re.sub(r"[()\[\] '\"]", "", text).strip(",").replace(",", "x")
        text = re.sub(r"[^\w.+-]", "_", text)
        parts.append(f"{key.removeprefix('config.')}={text}")
    return ",".join(parts) or "default"


def named_trials(trials: list[dict]) -> list[tuple[str, dict]]:
    """(name, overrides) pairs; names show the overrides that vary across the sweep (all if none do)."""
    keys = {k for t in trials for k in t}
    varying = {k for k in keys if len({repr(t.get(k)) for t in trials}) > 1} or None
    names = [trial_name(t, varying) for t in trials]
    for name in names:
        if names.count(name) > 1:
            raise SweepError(f"two trials are both named {name}; make their overrides differ")
    return list(zip(names, trials, strict=True))


def launch_args(config: str, overrides: dict, workdir: str) -> list[str]:
    """launch.py's arguments for one trial: --config first, then the overrides in order."""
    args = [f"--config={overrides.get('config', config)}"]
    for key, value in overrides.items():
        if key != "config":
            args.append(f"--{key}={flag_value(value)}")
    return [*args, f"--workdir={workdir}"]


def trial_argvs(python: str, config: str, overrides: dict, workdir: str, evaluate: bool) -> list[list[str]]:
    """The launch.py command lines of one trial: train, then (optionally) evaluate."""
    argvs = [[python, "launch.py", *launch_args(config, overrides, workdir)]]
    if evaluate:
        argvs.append([python, "launch.py", "--mode=evaluate", f"--workdir={workdir}"])
    return argvs


def join_path(root: str, name: str) -> str:
    return f"{root.rstrip('/')}/{name}"


# ---------------------------------------------------------------------------------------------- TPU


def check_accelerator(accelerator_type: str) -> None:
    """A one-line SweepError unless ``accelerator_type`` names a single-host TPU VM: <version>-<N> with
    N <= 8 (N counts TensorCores for v2-v4 and v5p, chips for v5e and v6e; every type above 8 spans
    several hosts). A trial runs as one process per VM; a slice's hosts would need --distributed and a
    checkpoint directory that all of them share."""
    match = re.fullmatch(r"v\d+[a-z]*-(\d+)", accelerator_type)
    if match is None:
        raise SweepError(f"--accelerator_type={accelerator_type} is not a TPU type like v4-8 or v5litepod-8")
    if int(match.group(1)) > 8:
        raise SweepError(
            f"--accelerator_type={accelerator_type} is a multi-host slice; a trial runs on one TPU VM host: "
            "use a type of 8 or fewer (v4-8, v5p-8, v5litepod-8, v6e-8; --data_parallel for all its chips)"
        )


ACTIVE = "ACTIVE"  # a queued resource's state once its TPU is allocated (queued-resources describe)
LOST = ("SUSPENDING", "SUSPENDED", "FAILED")  # its TPU reclaimed (a Spot TPU preempted) or never given
STATE_FORMAT = "--format=value(state.state)"


def gcloud(group: str, verb: str, *args: str, zone: str, project: str | None) -> list[str]:
    """``gcloud compute tpus GROUP VERB ARGS --zone=Z [--project=P]`` (GROUP: tpu-vm, queued-resources)."""
    extra = [f"--project={project}"] if project else []
    return ["gcloud", "compute", "tpus", group, verb, *args, f"--zone={zone}", *extra]


def remote_trial_command(config: str, overrides: dict, workdir: str, evaluate: bool) -> str:
    """Shell for every worker: train (and evaluate) the trial in its bucket ``workdir``; a rerun resumes."""
    runs = " && ".join(display(a) for a in trial_argvs(REMOTE_PYTHON, config, overrides, workdir, evaluate))
    return f"cd {REMOTE_DIR} && {runs}"


def tarball_path(prefix: str) -> str:
    return f"/tmp/{prefix}.tar.gz"


def tpu_plan(config: str, trials: list[tuple[str, dict]], root: str, **tpu) -> tuple[list, list[dict]]:
    """(local commands, one plan per queued resource). A plan holds its name (the queued resource's and
    its TPU node's), the commands to describe (its state), create, set up (every worker), run each
    trial (trial, workdir, ssh), drop a trial's lease (a dead VM's) and delete (None with keep_tpus).

    ``tpu`` holds prefix, num_tpus, zone, accelerator_type, version, spot, project, repo_url, setup,
    evaluate, keep_tpus. Every command is an argv list.
    """
    prefix, local = tpu["prefix"], []
    if tpu["repo_url"]:
        fetch = f"rm -rf {REMOTE_DIR} && git clone --depth=1 {shlex.quote(tpu['repo_url'])} {REMOTE_DIR}"
    else:
        tarball = tarball_path(prefix)
        local.append(["git", "-C", ROOT, "archive", "--format=tar.gz", f"--output={tarball}", "HEAD"])
        fetch = f"rm -rf {REMOTE_DIR} && mkdir {REMOTE_DIR} && tar -xzf {REMOTE_DIR}.tar.gz -C {REMOTE_DIR}"

    def vm(verb, *args):
        return gcloud("tpu-vm", verb, *args, zone=tpu["zone"], project=tpu["project"])

    def queued(verb, *args):
        return gcloud("queued-resources", verb, *args, zone=tpu["zone"], project=tpu["project"])

    plans = []
    for i in range(min(tpu["num_tpus"], len(trials))):
        name = f"{prefix}-{i}"
        setup = [] if tpu["repo_url"] else [vm("scp", tarball, f"{name}:{REMOTE_DIR}.tar.gz", "--worker=all")]
        setup.append(
            vm("ssh", name, "--worker=all", f"--command={fetch} && cd {REMOTE_DIR} && {tpu['setup']}")
        )
        runs = []
        for trial, overrides in trials[i :: tpu["num_tpus"]]:
            workdir = join_path(root, trial)
            command = remote_trial_command(config, overrides, workdir, tpu["evaluate"])
            runs.append((trial, workdir, vm("ssh", name, "--worker=all", f"--command={command}")))
        create = queued(
            "create",
            name,
            f"--node-id={name}",
            f"--accelerator-type={tpu['accelerator_type']}",
            f"--runtime-version={tpu['version']}",
            *(["--spot"] if tpu["spot"] else []),
        )
        plans.append(
            {
                "name": name,
                "describe": queued("describe", name, STATE_FORMAT),
                "create": create,
                "setup": setup,
                "trials": runs,
                "delete": queued("delete", name, "--force", "--quiet"),
                "keep": tpu["keep_tpus"],
            }
        )
    return local, plans


def unlock_command(workdir: str) -> list[str]:
    """Deletes a trial's lease (gan_jax/training/storage.py), left by a VM known to be gone."""
    return ["gcloud", "storage", "rm", join_path(workdir, ".lock")]


def quote(text: str) -> str:
    """shlex.quote, but "..." (with \\ before " $ ` \\) for text holding a single quote."""
    if "'" in text and "!" not in text:
        return '"' + re.sub(r'(["$`\\])', r"\\\1", text) + '"'
    return shlex.quote(text)


def display(argv: list[str]) -> str:
    """A command line to read and paste (bash reads back argv): --flag=VALUE quotes VALUE only."""
    out = []
    for arg in argv:
        flag = re.match(r"--[\w.-]+=", arg)
        out.append(flag[0] + quote(arg[flag.end() :]) if flag else quote(arg))
    return " ".join(out)


def plan_lines(local: list, plans: list[dict]) -> list[str]:
    """The plan as printed by --dry_run: commands in the order they run, '#' comments between; the
    commands of a preemption's recovery are printed as comments (they run only then)."""
    lines = (["# here: package the code (HEAD)"] + [display(a) for a in local]) if local else []
    for plan in plans:
        lines += [
            f"# {plan['name']}: {len(plan['trials'])} trial(s), in turn; reused if it exists (state below)",
            display(plan["describe"]),
            display(plan["create"]),
            f"# until its state is {ACTIVE}:",
            display(plan["describe"]),
        ]
        lines += [display(a) for a in plan["setup"]]
        for trial, workdir, argv in plan["trials"]:
            lines += [f"# trial {trial}", display(argv)]
            lines.append(f"# if it fails and the state is one of {', '.join(LOST)} (preempted): rerun after")
            for argv in (plan["delete"], unlock_command(workdir), plan["create"]):
                lines.append("#   " + display(argv))
        if not plan["keep"]:
            lines.append(display(plan["delete"]))
    return lines


# ---------------------------------------------------------------------------------------------- running


def last_line(path: str, offset: int = 0) -> str:
    """The log's last 'error:' line after ``offset``, else its last non-empty line."""
    try:
        with open(path, errors="replace") as f:
            f.seek(offset)
            lines = [line.strip() for line in f if line.strip()]
    except OSError:
        return "(no log)"
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or ["(empty log)"])[-1]


def run_logged(argvs: list[list[str]], log_path: str, cwd: str = ROOT) -> str | None:
    """Runs the commands in turn, output appended to log_path; None, or a one-line failure."""
    with open(log_path, "a") as log:
        for argv in argvs:
            log.write(f"$ {display(argv)}\n")
            log.flush()
            offset = log.tell()
            rc = subprocess.run(argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT).returncode
            if rc:
                return f"exit {rc}: {last_line(log_path, offset)}"
    return None


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


def describe(plan: dict, log_path: str) -> str | None:
    """The queued resource's state (None when it does not exist), the command logged."""
    result = subprocess.run(plan["describe"], cwd=ROOT, capture_output=True, text=True)
    with open(log_path, "a") as log:
        log.write(f"$ {display(plan['describe'])}\n{result.stdout}{result.stderr}")
    return result.stdout.strip() if result.returncode == 0 else None


class Lost(Exception):
    """A queued resource that cannot be had (creation failed, FAILED, or not ACTIVE in time)."""


def bring_up(plan: dict, log_path: str, poll_s: float, max_wait_s: float) -> bool:
    """Makes the queued resource ACTIVE (creating it unless it exists and is not lost) and sets up its
    workers; whether it was created here. ``Lost`` if it cannot be had."""
    state, created = describe(plan, log_path), False
    if state in LOST:
        run_logged([plan["delete"]], log_path)
    if state is None or state in LOST:
        failure = run_logged([plan["create"]], log_path)
        if failure:
            raise Lost(f"create {plan['name']}: {failure}")
        created = True
    start = time.time()
    while (state := describe(plan, log_path)) != ACTIVE:
        if state in LOST or time.time() - start > max_wait_s:
            raise Lost(f"queued resource {plan['name']} is {state} (not {ACTIVE})")
        time.sleep(poll_s)
    failure = run_logged(plan["setup"], log_path)
    if failure:
        raise Lost(f"setup {plan['name']}: {failure}")
    return created


def run_trial(plan: dict, trial: tuple, log_path: str, tpu: dict) -> tuple[str | None, bool]:
    """Runs one trial, recreating the queued resource and rerunning the trial (it resumes from its
    bucket) each time it is lost under it, up to ``max_preemptions``: (failure or None, created)."""
    name, workdir, argv = trial
    created = False
    for preemptions in range(tpu["max_preemptions"] + 1):
        failure = run_logged([argv], log_path)
        if failure is None:
            return None, created
        state = describe(plan, log_path)
        if state == ACTIVE:
            return failure, created
        if preemptions == tpu["max_preemptions"]:
            break
        print(f"{plan['name']} is {state} during {name}: recreating it; the trial resumes", flush=True)
        run_logged([plan["delete"]], log_path)
        run_logged([unlock_command(workdir)], log_path)  # (fails harmlessly when there is no lease)
        created = bring_up(plan, log_path, tpu["poll_s"], tpu["max_wait_s"]) or created
    return f"lost {plan['name']} {tpu['max_preemptions'] + 1} times: {failure}", created


def run_tpu_plan(plan: dict, log_path: str, tpu: dict) -> dict:
    """One queued resource's plan: bring it up, run its trials (all tried), delete it if it was created
    here; {trial: failure}."""
    names = [trial for trial, _, _ in plan["trials"]]
    try:
        created = bring_up(plan, log_path, tpu["poll_s"], tpu["max_wait_s"])
    except Lost as e:
        return dict.fromkeys(names, str(e))
    failures = {}
    for i, trial in enumerate(plan["trials"]):
        try:
            failure, recreated = run_trial(plan, trial, log_path, tpu)
        except Lost as e:
            failures |= dict.fromkeys(names[i:], str(e))
            created = True
            break
        created |= recreated
        print(f"{'FAILED' if failure else 'done'} {trial[0]} on {plan['name']}", flush=True)
        if failure:
            failures[trial[0]] = failure
    if created and not plan["keep"]:
        run_logged([plan["delete"]], log_path)
    return failures


def run_tpu(local: list, plans: list[dict], tpu: dict) -> dict:
    """Packages the code, then runs the queued resources' plans in parallel; {trial: failure}."""
    log_dir = tempfile.mkdtemp(prefix="gan_jax_sweep_")
    failure = run_logged(local, os.path.join(log_dir, "package.log")) if local else None
    if failure:
        raise SweepError(f"packaging the code failed: {failure}")
    logs = {p["name"]: os.path.join(log_dir, f"{p['name']}.log") for p in plans}
    print(f"commands and output of each queued resource in {log_dir}/<name>.log", flush=True)
    with concurrent.futures.ThreadPoolExecutor(len(plans)) as pool:
        results = pool.map(lambda p: run_tpu_plan(p, logs[p["name"]], tpu), plans)
        return {trial: failure for result in results for trial, failure in result.items()}


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
            check_accelerator(_ACCELERATOR.value)
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
            local, plans = tpu_plan(config, trials, root, **tpu)
            if _DRY_RUN.value:
                print("\n".join(plan_lines(local, plans)))
                return
            runs = dict(
                max_preemptions=_MAX_PREEMPTIONS.value, poll_s=_POLL_S.value, max_wait_s=_MAX_WAIT_S.value
            )
            failures = run_tpu(local, plans, runs)
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
