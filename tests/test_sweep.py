"""Sweeps: a dry run's exact TPU commands, a tiny local sweep through launch.py, collect's tables, errors."""

import csv
import json
import os
import re
import shlex
import subprocess
import sys

import fake_gcs
import pytest
import test_resume

from experiments.reports import collect
from experiments.sweeps import product
from gan_jax.metrics import evaluate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMOKE = "experiments/sweeps/smoke.py"
GCS = "gs://bkt/sweeps/smoke"
SETUP = (
    "rm -rf gan_jax && mkdir gan_jax && tar -xzf gan_jax.tar.gz -C gan_jax && cd gan_jax && "
    "curl -LsSf https://astral.sh/uv/install.sh | sh && ~/.local/bin/uv venv --seed --python=3.11 .venv && "
    "~/.local/bin/uv pip install --python=.venv/bin/python -c constraints.txt -e . 'jax[tpu]' gcsfs && "
    ".venv/bin/python -m gan_jax.data"
)
VM = "gcloud compute tpus tpu-vm"
QR = "gcloud compute tpus queued-resources"
WHERE = "--zone=europe-west4-a --project=proj"


def run_sweep(*args, timeout=300):
    cmd = [sys.executable, "experiments/scripts/sweep.py", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def remote_trial(seed: int, evaluate: bool) -> str:
    """The ssh --command of smoke trial ``seed``, as bash should hand it to gcloud: its workdir in GCS."""
    d = f"{GCS}/seed={seed}"
    train = (
        f".venv/bin/python launch.py --config=experiments/configs/smoke.py --config.num_steps=20 "
        f"--config.eval_every=0 --config.model.g_hidden='(16,16)' --seed={seed} --workdir={d}"
    )
    return (
        "cd gan_jax && "
        + train
        + (f" && .venv/bin/python launch.py --mode=evaluate --workdir={d}" if evaluate else "")
    )


def printed(command: str) -> str:
    """How the dry run prints an ssh --command holding a single quote: in double quotes."""
    return '--command="' + command + '"'


def queued_lines(name: str, where: str, spot: bool = False) -> tuple[str, str, str]:
    """(describe, create, delete) of queued resource ``name`` as the dry run prints them."""
    create = (
        f"{QR} create {name} --node-id={name} --accelerator-type=v4-8 --runtime-version=tpu-ubuntu2204-base"
    )
    return (
        f"{QR} describe {name} --format='value(state.state)' {where}",
        create + (" --spot " if spot else " ") + where,
        f"{QR} delete {name} --force --quiet {where}",
    )


def recovery(name: str, where: str, workdir: str, spot: bool = False) -> list[str]:
    """The commented commands the dry run prints after a trial: a preemption's recovery."""
    _, create, delete = queued_lines(name, where, spot)
    return [
        "# if it fails and the state is one of SUSPENDING, SUSPENDED, FAILED (preempted): rerun after",
        f"#   {delete}",
        f"#   gcloud storage rm {workdir}/.lock",
        f"#   {create}",
    ]


def bash_argv(line: str) -> list[str]:
    """The argv bash makes of a printed command line."""
    out = subprocess.run(["bash", "-c", "printf '%s\\0' " + line], capture_output=True, text=True, check=True)
    return out.stdout.split("\0")[:-1]


def test_tpu_dry_run_prints_the_exact_commands():
    args = [
        "--backend=tpu",
        f"--root={GCS}/",
        "--project=proj",
        "--zone=europe-west4-a",
        "--num_tpus=2",
        "--spot",
    ]
    result = run_sweep(
        f"--sweep={SMOKE}", *args, "--evaluate", "--dry_run", "--tpu_name_prefix=t", timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    expected = [
        "# here: package the code (HEAD)",
        f"git -C {ROOT} archive --format=tar.gz --output=/tmp/t.tar.gz HEAD",
    ]
    for i in (0, 1):  # round robin: one trial per queued resource
        describe, create, delete = queued_lines(f"t-{i}", WHERE, spot=True)
        expected += [
            f"# t-{i}: 1 trial(s), in turn; reused if it exists (state below)",
            describe,
            create,
            "# until its state is ACTIVE:",
            describe,
            f"{VM} scp /tmp/t.tar.gz t-{i}:gan_jax.tar.gz --worker=all {WHERE}",
            f'{VM} ssh t-{i} --worker=all --command="{SETUP}" {WHERE}',
            f"# trial seed={i}",
            f"{VM} ssh t-{i} --worker=all {printed(remote_trial(i, evaluate=True))} {WHERE}",
            *recovery(f"t-{i}", WHERE, f"{GCS}/seed={i}", spot=True),
            delete,
        ]
    assert lines == expected
    # What bash passes to gcloud: the remote shell is valid, the format's parentheses quoted.
    argv = bash_argv(lines[10])
    assert argv[:7] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh", "t-0", "--worker=all"]
    assert argv[7] == "--command=" + remote_trial(0, evaluate=True)
    assert argv[8:] == ["--zone=europe-west4-a", "--project=proj"]
    subprocess.run(["bash", "-n", "-c", argv[7].removeprefix("--command=")], check=True)
    assert bash_argv(lines[8])[-3] == "--command=" + SETUP
    assert bash_argv(lines[3])[6] == "--format=value(state.state)"


def test_tpu_dry_run_repo_url_keep_tpus_one_vm():
    args = [
        "--backend=tpu",
        f"--root={GCS}",
        "--repo_url=https://example.com/g.git",
        "--keep_tpus",
        "--dry_run",
    ]
    result = run_sweep(f"--sweep={SMOKE}", *args, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    where = "--zone=us-central2-b"
    clone = "rm -rf gan_jax && git clone --depth=1 https://example.com/g.git gan_jax && cd gan_jax && "
    setup = clone + SETUP.split("cd gan_jax && ")[1]
    describe, create, _ = queued_lines("gan-jax-sweep-0", where)
    assert lines[:6] == [
        "# gan-jax-sweep-0: 2 trial(s), in turn; reused if it exists (state below)",
        describe,
        create,
        "# until its state is ACTIVE:",
        describe,
        f'{VM} ssh gan-jax-sweep-0 --worker=all --command="{setup}" {where}',
    ]
    assert lines[6:] == [
        line
        for seed in (0, 1)
        for line in (
            f"# trial seed={seed}",
            f"{VM} ssh gan-jax-sweep-0 --worker=all {printed(remote_trial(seed, evaluate=False))} {where}",
            *recovery("gan-jax-sweep-0", where, f"{GCS}/seed={seed}"),
        )
    ]  # no tarball, no delete


def test_product_and_local_dry_run_names(tmp_path):
    trials = product({"config.model.g_hidden": [(8,), (16, 16)]}, game="minimax", seed=range(2))
    assert trials[1] == {"config.model.g_hidden": (8,), "game": "minimax", "seed": 1}
    assert len(trials) == 4
    path = tmp_path / "s.py"
    path.write_text(
        f"from experiments.sweeps import product\nCONFIG = 'experiments/configs/smoke.py'\n"
        f"def get_sweep():\n    return {trials!r}\n"
    )
    result = run_sweep(f"--sweep={path}", f"--root={tmp_path}/r", "--dry_run", timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == (
        f"{sys.executable} launch.py --config=experiments/configs/smoke.py --config.model.g_hidden='(8,)' "
        f"--game=minimax --seed=1 --workdir={tmp_path}/r/model.g_hidden=8,seed=1"
    )
    assert not (tmp_path / "r").exists()  # a dry run runs nothing


HEAD = "CONFIG = 'experiments/configs/smoke.py'\n"
RETURNS = HEAD + "def get_sweep():\n    return "
BAD_SWEEPS = {
    "no get_sweep": (HEAD, "needs CONFIG"),
    "syntax": (HEAD + "def get_sweep(:\n", "cannot load"),
    "empty": (RETURNS + "[]\n", "non-empty list"),
    "unknown key": (RETURNS + "[{'gamez': 1}]\n", "unknown override 'gamez'"),
    "unknown field": (
        RETURNS + "[{'config.model.nope': 1}]\n",
        "unknown override 'config.model.nope': no such field in experiments/configs/smoke.py",
    ),
    "same names": (RETURNS + "[{'seed': '1'}, {'seed': 1}]\n", "both named seed=1"),
    "no config file": (RETURNS + "[{'config': 'experiments/configs/nope.py'}]\n", "no config file"),
    "get_sweep raises": (RETURNS + "[1 / 0]\n", "get_sweep() failed: ZeroDivisionError"),
    "no sweep file": (None, "no sweep file"),
}


@pytest.mark.parametrize("case", sorted(BAD_SWEEPS))
def test_bad_sweep_one_line_error(tmp_path, case):
    text, message = BAD_SWEEPS[case]
    if text is not None:
        (tmp_path / "bad.py").write_text(text)
    result = run_sweep(f"--sweep={tmp_path / 'bad.py'}", f"--root={tmp_path}/r", timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert message in result.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("accelerator", ["v4-16", "v5litepod-16", "v6e-256", "tpu-8"])
def test_tpu_multi_host_or_unknown_accelerator_refused(accelerator):
    result = run_sweep(
        f"--sweep={SMOKE}", "--backend=tpu", f"--root={GCS}", f"--accelerator_type={accelerator}"
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    want = "is a multi-host slice" if accelerator[0] == "v" else "is not a TPU type like v4-8"
    assert result.stderr.startswith(f"error: --accelerator_type={accelerator} {want}"), result.stderr


def test_data_parallel_trials_use_every_device(tmp_path):
    """--data_parallel adds config.data_parallel=True to every trial (names unchanged), on a TPU VM of
    one host (v5litepod-8 accepted) and locally."""
    tpu = ["--backend=tpu", f"--root={GCS}", "--accelerator_type=v5litepod-8", "--data_parallel", "--dry_run"]
    result = run_sweep(f"--sweep={SMOKE}", *tpu, timeout=60)
    assert result.returncode == 0, result.stderr
    trials = [line for line in result.stdout.splitlines() if " ssh " in line and "launch.py" in line]
    assert len(trials) == 2
    for seed, line in enumerate(trials):
        assert f'--seed={seed} --config.data_parallel=True --workdir={GCS}/seed={seed}"' in line, line
    assert "--accelerator-type=v5litepod-8" in result.stdout
    result = run_sweep(f"--sweep={SMOKE}", f"--root={tmp_path}", "--data_parallel", "--dry_run", timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("--seed=")[1] for line in lines] == [
        f"{seed} --config.data_parallel=True --workdir={tmp_path}/seed={seed}" for seed in (0, 1)
    ]
    result = run_sweep(
        f"--sweep={SMOKE}", f"--root={tmp_path}", "--data_parallel", "--parallel=2", timeout=60
    )
    assert (result.returncode, result.stderr) == (
        2,
        "error: --data_parallel gives each trial every device; run them one at a time\n",
    )
    (tmp_path / "own.py").write_text(
        HEAD + "def get_sweep():\n    return [{'config.data_parallel': False}]\n"
    )
    result = run_sweep(f"--sweep={tmp_path / 'own.py'}", f"--root={tmp_path}", "--data_parallel", "--dry_run")
    assert result.returncode == 2 and "a trial's own config.data_parallel" in result.stderr, result.stderr


def test_tpu_backend_needs_gcs_root(tmp_path):
    result = run_sweep(f"--sweep={SMOKE}", "--backend=tpu", f"--root={tmp_path}", "--dry_run", timeout=60)
    assert (result.returncode, result.stderr) == (2, "error: --backend=tpu needs a gs:// --root\n")
    result = run_sweep(f"--sweep={SMOKE}", "--backend=tpu", "--root=gs://b/s", "--parallel=2", "--dry_run")
    assert result.returncode == 2 and result.stderr.startswith("error: --parallel is for --backend=local")


def test_failed_trials_reported_and_others_continue(tmp_path):
    (tmp_path / "bad.py").write_text(RETURNS + "[{'game': 'bogus'}, {'update': 'bogus'}]\n")
    result = run_sweep(f"--sweep={tmp_path / 'bad.py'}", f"--root={tmp_path}", "--parallel=1")
    assert result.returncode == 1
    failed = sorted(line for line in result.stderr.splitlines() if line.startswith("FAILED"))
    assert len(failed) == 2, result.stderr
    assert failed[0].startswith("FAILED game=bogus: exit 2: error: bad flag: flag --game=bogus")
    assert failed[1].startswith("FAILED update=bogus: exit 2: error: bad flag: flag --update=bogus")
    assert "0/2 trials finished" in result.stdout
    assert "--game=bogus" in (tmp_path / "game=bogus" / "log.txt").read_text()


def test_local_smoke_sweep_then_collect(tmp_path):
    result = run_sweep(f"--sweep={SMOKE}", f"--root={tmp_path}", "--parallel=2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2/2 trials finished" in result.stdout
    last_d_loss = {}
    for seed in (0, 1):
        workdir = tmp_path / f"seed={seed}"
        config = json.loads((workdir / "config.json").read_text())
        assert (config["seed"], config["num_steps"], config["model"]["g_hidden"]) == (seed, 20, [16, 16])
        rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
        assert rows[-1]["step"] == 20
        last_d_loss[str(seed)] = rows[-1]["d_loss"]
        assert "training nonsaturating/simultaneous" in (workdir / "log.txt").read_text()

    text = collect.write_results(str(tmp_path), "d_loss", "ascending", None, "seed")
    with open(tmp_path / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert [r["seed"] for r in table] == sorted(last_d_loss, key=last_d_loss.get)  # lowest d_loss first
    assert {r["seed"]: float(r["d_loss"]) for r in table} == last_d_loss
    assert (tmp_path / "results.md").read_text() == text
    assert "| seed | d_loss | g_loss | d_real | d_fake |" in text
    assert "\n| 2 | 0.6931 ± " in text  # the seeds' summary row: n = 2
    assert (tmp_path / "results.png").read_bytes()[:4] == b"\x89PNG"


def write_trial(root, name, rows, eval_json=None):
    workdir = root / name
    workdir.mkdir()
    (workdir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if eval_json is not None:
        (workdir / "eval.json").write_text(json.dumps(eval_json))


def test_collect_sorts_groups_and_reads_the_last_value(tmp_path):
    parzen = {
        ("minimax", 0): 100.0,
        ("minimax", 1): 110.0,
        ("nonsaturating", 0): 200.0,
        ("nonsaturating", 1): 220.0,
    }
    for (game, seed), ll in parzen.items():
        rows = [{"step": 10, "parzen_ll": -1.0, "fcd": 9.0}, {"step": 20, "parzen_ll": ll, "fcd": ll / 100}]
        rows.append({"step": 25, "d_loss": 0.5})  # a train row after the last eval row
        write_trial(tmp_path, f"game={game},seed={seed}", rows)
    (tmp_path / "not_a_trial").mkdir()
    write_trial(
        tmp_path, "game=minimax,seed=2", [{"step": 5, "d_loss": 1.0}], {"parzen_ll": 300.0, "step": 99}
    )

    text = collect.write_results(str(tmp_path), "parzen_ll", "auto", ["parzen_ll", "fcd"], "seed")
    with open(tmp_path / "results.csv") as f:
        table = list(csv.DictReader(f))
    order = [(r["game"], r["seed"], r["parzen_ll"], r["step"]) for r in table]
    assert order == [
        ("minimax", "2", "300.0", "5"),  # eval.json's parzen_ll, metrics.jsonl's step
        ("nonsaturating", "1", "220.0", "25"),
        ("nonsaturating", "0", "200.0", "25"),
        ("minimax", "1", "110.0", "25"),
        ("minimax", "0", "100.0", "25"),
    ]
    assert "| game | seed | parzen_ll | fcd |" in text
    summary = text.split("## Mean ± std over seed")[1]
    assert "| nonsaturating | 2 | 210 ± 14.1 | 2.1 ± 0.141 |" in summary
    assert "| minimax | 3 | 170 ± 113 | 1.05 ± 0.0707 |" in summary  # fcd of seed 2 is missing
    assert summary.index("minimax") > summary.index("nonsaturating")  # best mean parzen_ll first

    collect.write_results(str(tmp_path), "fcd", "auto", None, "seed")  # fcd: lower is better
    with open(tmp_path / "results.csv") as f:
        assert [r["fcd"] for r in csv.DictReader(f)] == ["1.0", "1.1", "2.0", "2.2", ""]


def test_collect_errors(tmp_path):
    with pytest.raises(collect.CollectError, match="no trial directories"):
        collect.write_results(str(tmp_path), "parzen_ll", "auto", None, "seed")
    write_trial(tmp_path, "seed=0", [{"step": 1, "d_loss": 0.7}])
    with pytest.raises(
        collect.CollectError, match="no trial has metric 'parzen_ll'; --sort_by one of: d_loss, step"
    ):
        collect.write_results(str(tmp_path), "parzen_ll", "auto", None, "seed")
    with pytest.raises(collect.CollectError, match="copy gs://b/s to a local directory"):
        collect.write_results("gs://b/s", "d_loss", "auto", None, "seed")


def test_tpu_backend_runs_the_plan_and_deletes_after_a_failed_trial(tmp_path):
    """A fake gcloud on PATH records its calls; the trial with seed=1 fails on the TPU while its queued
    resource stays ACTIVE: a failure of its own (no recreation), the other trial done, the resource
    deleted at the end."""
    calls = tmp_path / "calls.txt"
    fake = tmp_path / "bin" / "gcloud"
    fake.parent.mkdir()
    fake.write_text(
        f'#!/bin/bash\necho "$4 $5" >> {calls}\n'
        f'if [ "$4" = describe ]; then [ -f {tmp_path}/made ] && echo ACTIVE && exit 0; exit 1; fi\n'
        f'if [ "$4" = create ]; then touch {tmp_path}/made; fi\n'
        'if [[ "$*" == *"seed=1 "* ]]; then echo "error: boom"; exit 3; fi\n'
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}", "TMPDIR": str(tmp_path)}
    prefix = f"test-{os.getpid()}"
    cmd = [
        sys.executable,
        "experiments/scripts/sweep.py",
        f"--sweep={SMOKE}",
        "--backend=tpu",
        f"--root={GCS}",
    ]
    cmd.append(f"--tpu_name_prefix={prefix}")
    try:
        result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    finally:
        if os.path.exists(f"/tmp/{prefix}.tar.gz"):
            os.remove(f"/tmp/{prefix}.tar.gz")
    assert result.returncode == 1, result.stdout + result.stderr
    vm = f"{prefix}-0"
    assert calls.read_text().splitlines() == [
        f"describe {vm}",  # not there: created
        f"create {vm}",
        f"describe {vm}",  # ACTIVE
        f"scp /tmp/{prefix}.tar.gz",
        f"ssh {vm}",  # setup
        f"ssh {vm}",  # seed=0
        f"ssh {vm}",  # seed=1, fails
        f"describe {vm}",  # still ACTIVE: the trial's own failure
        f"delete {vm}",
    ]
    assert result.stderr == "FAILED seed=1: exit 3: error: boom\n"
    assert "1/2 trials finished" in result.stdout


def test_collect_expands_replicas_into_seeds(tmp_path):
    """A num_replicas trial (workdir/replica_<r>/) gives one row per replica, seed = config.seed + r."""
    trial = tmp_path / "game=hinge"
    for r, modes in enumerate([7, 8, 6]):
        (trial / f"replica_{r}").mkdir(parents=True)
        (trial / f"replica_{r}" / "metrics.jsonl").write_text(
            json.dumps({"step": 10, "modes_covered": modes})
        )
    (trial / "config.json").write_text(json.dumps({"seed": 4}))
    columns, rows = collect.collect(str(tmp_path))
    assert columns == ["game", "seed"]
    assert [(r["trial"], r["seed"], r["modes_covered"]) for r in rows] == [
        ("game=hinge/replica_0", "4", 7),
        ("game=hinge/replica_1", "5", 8),
        ("game=hinge/replica_2", "6", 6),
    ]


def test_collect_gives_each_replica_its_hyper_parameters(tmp_path):
    """A trial with config.replica_hparams: each replica's row carries its own values as columns."""
    trial = tmp_path / "game=hinge"
    for r, fcd in enumerate([30.0, 20.0]):
        (trial / f"replica_{r}").mkdir(parents=True)
        (trial / f"replica_{r}" / "eval.json").write_text(json.dumps({"step": 10, "fcd": fcd}))
    grid = {"d.learning_rate": [0.0001, 0.0004], "g.b1": [0.5, 0.9]}
    (trial / "config.json").write_text(json.dumps({"seed": 0, "replica_hparams": json.dumps(grid)}))
    columns, rows = collect.collect(str(tmp_path))
    assert columns == ["game", "seed", "d.learning_rate", "g.b1"]
    assert [(r["seed"], r["d.learning_rate"], r["g.b1"], r["fcd"]) for r in rows] == [
        ("0", "0.0001", "0.5", 30.0),
        ("1", "0.0004", "0.9", 20.0),
    ]


def test_distances_and_divergences_sort_lowest_first():
    """Every evaluation key that is a distance (FCD) or divergence (KL) ranks lowest first by default."""
    keys = evaluate.KEYS + evaluate.CONDITIONAL_KEYS + evaluate.TOY_KEYS
    lower = [k for k in keys if "fcd" in k or "kl" in k]
    assert len(lower) >= 4
    assert not any(collect.descending(k, "auto") for k in lower)
    assert collect.descending("parzen_ll", "auto") and collect.descending("cond_accuracy", "auto")


def test_collect_lists_invalid_trials_apart(tmp_path):
    for game, fcd in (("hinge", 40.0), ("wasserstein_gp", 30.0)):
        write_trial(tmp_path, f"game={game},seed=0", [{"step": 1, "fcd": fcd}])
    text = collect.write_results(
        str(tmp_path), "fcd", "auto", None, "seed", ["game=wasserstein_gp,seed=0"], "batch-norm critic"
    )
    ranked, invalid = text.split("## INVALID")
    assert "wasserstein_gp" not in ranked and "| hinge | 0 | 40 |" in ranked
    assert "batch-norm critic" in invalid and "| wasserstein_gp | 0 | 30 |" in invalid
    with open(tmp_path / "results.csv") as f:
        assert {r["game"]: r["invalid"] for r in csv.DictReader(f)} == {
            "wasserstein_gp": "True",
            "hinge": "False",
        }
    with pytest.raises(collect.CollectError, match="--invalid names no trial"):
        collect.write_results(str(tmp_path), "fcd", "auto", None, "seed", ["game=nothing"])


PREEMPT_SWEEP = HEAD + (
    "def get_sweep():\n"
    "    fixed = {'config.num_steps': 40, 'config.log_every': 1, 'config.eval_every': 0}\n"
    "    return [{**fixed, 'config.ckpt_every': 5}, {**fixed, 'config.ckpt_every': 8}]\n"
)


def fake_vm(home):
    """The fake TPU VM's home: gan_jax/ holds the code (links) and a .venv/bin/python that runs launch.py
    on the bucket stand-in."""
    code = home / "vm" / "gan_jax"
    (code / ".venv" / "bin").mkdir(parents=True)
    for name in ("launch.py", "gan_jax", "experiments", "tests"):
        (code / name).symlink_to(os.path.join(ROOT, name))
    python = code / ".venv" / "bin" / "python"
    python.write_text(f'#!/bin/sh\nshift\nexec {sys.executable} -c {shlex.quote(fake_gcs.LAUNCH)} "$@"\n')
    python.chmod(0o755)
    gcloud = home / "bin" / "gcloud"
    gcloud.parent.mkdir()
    gcloud.write_text(f'#!/bin/sh\nexec {sys.executable} {ROOT}/tests/fake_gcloud.py "$@"\n')
    gcloud.chmod(0o755)


# ~60 s on 2 cores (three launch.py runs: a trial killed, its resume, another trial): the one test of the
# whole queued-resource path, preemption and resume included
def test_tpu_sweep_on_queued_resources_resumes_a_preempted_trial_from_the_bucket(tmp_path):
    """A two-trial sweep on one spot queued resource, against a fake gcloud (tests/fake_gcloud.py) and
    a bucket stand-in: the first trial is preempted after step 17 (its queued resource SUSPENDED), the
    resource deleted, the dead VM's lease removed, the resource created again and set up, and the
    trial rerun: it resumes from its last checkpoint in the bucket. Every command, in order; the
    resumed trial's rows, final checkpoint and grid equal the other trial's, which ran uninterrupted
    (log_every=1: both compute the same 40 one-step chunks; only the checkpoint cadence differs)."""
    fake_vm(tmp_path)
    (tmp_path / "sweep.py").write_text(PREEMPT_SWEEP)
    root, prefix = "gs://bkt/sweeps/p", f"test-{os.getpid()}"
    env = os.environ | {
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "FAKE_GCLOUD": str(tmp_path),
        "FAKE_PREEMPT": "ckpt_every=5",
        "FAKE_PREEMPT_STEP": "17",
        fake_gcs.ENV: str(tmp_path / "gcs"),
        "GAN_JAX_STAGING": str(tmp_path / "staging"),
        "TMPDIR": str(tmp_path),
    }
    args = [f"--sweep={tmp_path / 'sweep.py'}", "--backend=tpu", f"--root={root}", "--spot", "--poll_s=0"]
    try:
        result = subprocess.run(
            [sys.executable, "experiments/scripts/sweep.py", *args, f"--tpu_name_prefix={prefix}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        if os.path.exists(f"/tmp/{prefix}.tar.gz"):
            os.remove(f"/tmp/{prefix}.tar.gz")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2/2 trials finished" in result.stdout
    assert f"{prefix}-0 is SUSPENDED during ckpt_every=5: recreating it; the trial resumes" in result.stdout
    with open(tmp_path / "calls.jsonl") as f:
        calls = [json.loads(line) for line in f]
    qr, where = f"{prefix}-0", "--zone=us-central2-b"
    describe = ["describe", qr, "--format=value(state.state)", where]
    create = ["create", qr, f"--node-id={qr}", "--accelerator-type=v4-8"]
    create += ["--runtime-version=tpu-ubuntu2204-base", "--spot", where]
    up = [
        create,
        describe,
        describe,
        ["scp", f"/tmp/{prefix}.tar.gz", f"{qr}:gan_jax.tar.gz"],
        ["ssh", "setup"],
    ]
    delete = ["delete", qr, "--force", "--quiet", where]
    expected = [
        describe,
        *up,
        ["ssh", "ckpt_every=5"],
        describe,
        delete,
        ["rm", f"{root}/ckpt_every=5/.lock"],
    ]
    expected += [describe, *up, ["ssh", "ckpt_every=5"], ["ssh", "ckpt_every=8"], delete]

    def short(argv):
        """A call as ``expected`` spells it: the queued-resources verb's arguments; ssh's target."""
        if argv[:2] == ["storage", "rm"]:
            return ["rm", argv[2]]
        if argv[2] == "queued-resources":
            return argv[3:]
        if argv[3] == "scp":
            return argv[3:6]
        command = argv[6]
        assert argv[4:6] == [qr, "--worker=all"] and argv[7:] == [where], argv
        return ["ssh", "setup" if "uv venv" in command else re.search(r"ckpt_every=\d", command)[0]]

    assert [short(argv) for argv in calls] == expected
    trial = "cd gan_jax && .venv/bin/python launch.py --config=experiments/configs/smoke.py"
    assert calls[6][6] == (
        f"--command={trial} --config.num_steps=40 --config.log_every=1 --config.eval_every=0 "
        f"--config.ckpt_every=5 --workdir={root}/ckpt_every=5"
    )
    bucket = tmp_path / "gcs" / root.removeprefix("gs://")
    resumed, straight = str(bucket / "ckpt_every=5"), str(bucket / "ckpt_every=8")
    assert test_resume.checkpoints(resumed) == [30, 35, 40] and test_resume.checkpoints(straight)[-1] == 40
    test_resume.assert_same_run(resumed, straight, 40)
