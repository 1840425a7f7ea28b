"""A fake ``gcloud`` for the sweep's Cloud TPU path: it checks and records every command line
(``$FAKE_GCLOUD/calls.jsonl``), keeps queued resources' states (``state.json``), and runs a trial's ssh
command for real in a fake VM (``$FAKE_GCLOUD/vm``: the repository's code, its ``.venv/bin/python``
launch.py on the bucket stand-in of tests/fake_gcs.py). A command it does not know exits 2.

A queued resource reports WAITING_FOR_RESOURCES at its first describe after creation, then ACTIVE.
The first trial whose workdir contains ``$FAKE_PREEMPT`` is preempted: killed (SIGKILL, the whole
process group) after its log line of step ``$FAKE_PREEMPT_STEP``, its queued resource then SUSPENDED
(a Spot TPU reclaimed) and the ssh exits 255, as ssh does when its host goes away.
"""

import json
import os
import re
import signal
import subprocess
import sys

import fake_gcs

HOME = os.environ["FAKE_GCLOUD"]
STATE = os.path.join(HOME, "state.json")
ZONE = r"--zone=[\w-]+( --project=[\w-]+)?"
COMMANDS = {  # what each verb's command line must look like (after "gcloud ")
    "create": rf"compute tpus queued-resources create ([\w-]+) --node-id=\1 --accelerator-type=v\d+\w*-\d+ "
    rf"--runtime-version=[\w.-]+( --spot)? {ZONE}",
    "describe": rf"compute tpus queued-resources describe [\w-]+ --format=value\(state\.state\) {ZONE}",
    "delete": rf"compute tpus queued-resources delete [\w-]+ --force --quiet {ZONE}",
    "scp": rf"compute tpus tpu-vm scp /\S+\.tar\.gz [\w-]+:gan_jax\.tar\.gz --worker=all {ZONE}",
    "ssh": rf"compute tpus tpu-vm ssh [\w-]+ --worker=all --command=.+ {ZONE}",
    "rm": r"storage rm gs://\S+/\.lock",
}


def load() -> dict:
    if not os.path.exists(STATE):
        return {"resources": {}, "preempted": False}
    with open(STATE) as f:
        return json.load(f)


def save(state: dict) -> None:
    with open(STATE, "w") as f:
        json.dump(state, f)


def run_trial(command: str, state: dict, name: str) -> int:
    """Runs a trial's command in the fake VM; the first matching one is preempted."""
    preempt = os.environ.get("FAKE_PREEMPT")
    victim = preempt and preempt in command and not state["preempted"]
    proc = subprocess.Popen(
        ["bash", "-c", command],
        cwd=os.path.join(HOME, "vm"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    for line in proc.stdout:
        print(line, end="", flush=True)
        if victim and line.startswith(f"step {os.environ['FAKE_PREEMPT_STEP']}/"):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            state["resources"][name] = "SUSPENDED"
            state["preempted"] = True
            save(state)
            print("Connection to the TPU VM closed by remote host.", file=sys.stderr)
            return 255
    return proc.wait()


def main(argv: list[str]) -> int:
    line = " ".join(argv)
    verb = argv[3] if argv[:2] == ["compute", "tpus"] else argv[1]
    with open(os.path.join(HOME, "calls.jsonl"), "a") as f:
        f.write(json.dumps(argv) + "\n")
    if verb not in COMMANDS or not re.fullmatch(COMMANDS[verb], line, re.DOTALL):
        print(f"fake gcloud: unexpected command: gcloud {line}", file=sys.stderr)
        return 2
    state = load()
    resources, name = state["resources"], argv[4] if verb != "rm" else None
    if verb == "scp":
        name = argv[5].split(":")[0]
    if verb == "create":
        if name in resources:
            print(f"ERROR: {name} already exists", file=sys.stderr)
            return 1
        resources[name] = "CREATED"
    elif verb == "describe":
        if name not in resources:
            print(f"ERROR: NOT_FOUND: {name}", file=sys.stderr)
            return 1
        resources[name] = "WAITING_FOR_RESOURCES" if resources[name] == "CREATED" else resources[name]
        print(resources[name])
        if resources[name] == "WAITING_FOR_RESOURCES":
            resources[name] = "ACTIVE"
    elif verb == "delete":
        resources.pop(name, None)
    elif verb == "rm":
        path = fake_gcs.local(argv[2])
        if not os.path.exists(path):
            print(f"ERROR: {argv[2]} not found", file=sys.stderr)
            return 1
        os.remove(path)
    elif verb in ("scp", "ssh") and resources.get(name) != "ACTIVE":
        print(f"ERROR: node {name} is not ready ({resources.get(name)})", file=sys.stderr)
        return 255
    save(state)
    command = argv[6].removeprefix("--command=") if verb == "ssh" else ""
    return run_trial(command, state, name) if "launch.py" in command else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
