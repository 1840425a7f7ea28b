"""A sweep's trials on Cloud TPU queued resources (experiments/scripts/sweep.py --backend=tpu): the plan
of gcloud commands for each queued resource, and its run. A queued resource is created (or reused),
awaited until ACTIVE, set up on every worker, and runs its trials in turn with their workdirs in the
bucket; when a trial's ssh fails and the resource is no longer ACTIVE (SUSPENDING / SUSPENDED once a
Spot TPU is reclaimed, or FAILED: the states of "Manage queued resources",
docs.cloud.google.com/tpu/docs/queued-resources), it is deleted, the dead VM's lease on the workdir
deleted, the resource made again and the trial rerun: it resumes from its last checkpoint in the bucket.
"""

import concurrent.futures
import os
import re
import shlex
import subprocess
import tempfile
import time

from experiments.scripts.trials import ROOT, SweepError, display, join_path, run_logged, trial_argvs

REMOTE_DIR = "gan_jax"  # the code's directory in the TPU VM's home
REMOTE_PYTHON = ".venv/bin/python"  # made by DEFAULT_SETUP; a custom --setup must make it too
# Python 3.11+ (setup.cfg) through uv: the TPU VM images ship 3.10. Runs in REMOTE_DIR on every worker.
DEFAULT_SETUP = (
    "curl -LsSf https://astral.sh/uv/install.sh | sh"
    " && ~/.local/bin/uv venv --seed --python=3.11 .venv"
    " && ~/.local/bin/uv pip install --python=.venv/bin/python -c constraints.txt -e . 'jax[tpu]' gcsfs"
    " && .venv/bin/python -m gan_jax.data"
)


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
    trial ((trial, workdir, ssh) triples) and delete, and ``keep`` (keep_tpus: not deleted at the end).

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
        if state is None:  # (describe itself failed: a transient error is not a lost VM; ask once more)
            state = describe(plan, log_path)
        if state == ACTIVE:
            return failure, created
        if preemptions == tpu["max_preemptions"]:
            break
        print(f"{plan['name']} is {state} during {name}: recreating it; the trial resumes", flush=True)
        not_deleted = run_logged([plan["delete"]], log_path)
        if not_deleted and describe(plan, log_path) is not None:  # the VM may still run the trial:
            return f"{failure}; and deleting {plan['name']} failed: {not_deleted}", created  # keep its lease
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
