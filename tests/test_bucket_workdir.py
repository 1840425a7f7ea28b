"""A workdir in a bucket (gan_jax/training/storage.py) on a local stand-in for GCS (tests/fake_gcs.py):
what a push commits and a pull takes, the lease that keeps one writer, and a launch.py run on a
``gs://`` workdir killed and resumed to the uninterrupted local run, then sampled and evaluated."""

import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import time

import fake_gcs
import numpy as np
import pytest
from conftest import ROOT, tiny_config
from test_evaluate import launch_in_process
from test_resume import SMOKE, assert_same_run, smoke_straight, stop_at  # noqa: F401 (a fixture)
from test_train import checkpoints

from gan_jax.errors import WorkdirError
from gan_jax.training import checkpoints as checkpoints_lib
from gan_jax.training import storage, train

URL = "gs://bkt/runs/r"


@pytest.fixture
def bucket(tmp_path, monkeypatch):
    """The stand-in registered here and (through the environment) in launch.py subprocesses."""
    monkeypatch.setenv(fake_gcs.ENV, str(tmp_path / "gcs"))
    monkeypatch.setenv("GAN_JAX_STAGING", str(tmp_path / "staging"))
    fake_gcs.register()
    return tmp_path


def write(path, text="x"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def tree(root):
    """Every file under ``root`` (relative paths), sorted."""
    return sorted(os.path.relpath(os.path.join(d, n), root) for d, _, names in os.walk(root) for n in names)


def test_storage_digest_name_is_the_checkpoints_one():
    assert storage.DIGEST_FILE == checkpoints_lib.DIGEST_FILE


def test_a_push_commits_each_step_digest_last_and_a_pull_takes_committed_steps(bucket, monkeypatch):
    """Pushed: a digested step (its digest after its files), then the other files; not pushed: a step
    without its digest yet, orbax's in-flight directory, the lock. Pulled back: only committed steps.
    A later push deletes the bucket's steps that are gone locally, an uncommitted one included."""
    local = str(bucket / "local")
    digest = checkpoints_lib.DIGEST_FILE
    for name in ("checkpoints/5/default/a", f"checkpoints/5/{digest}", "checkpoints/10/default/a"):
        write(os.path.join(local, name))
    write(os.path.join(local, "checkpoints/15.orbax-checkpoint-tmp/default/a"))
    write(os.path.join(local, "metrics.jsonl"), '{"step": 5}\n')
    write(os.path.join(local, ".lock"))
    copied = []
    copy = storage._copy
    monkeypatch.setattr(storage, "_copy", lambda s, t: (copied.append(os.fspath(t)), copy(s, t)))
    storage.Mirror(URL, local).push()
    assert copied == [
        f"{URL}/checkpoints/5/default/a",
        f"{URL}/checkpoints/5/{digest}",
        f"{URL}/metrics.jsonl",
    ]
    remote = fake_gcs.local(URL)
    assert tree(remote) == ["checkpoints/5/default/a", f"checkpoints/5/{digest}", "metrics.jsonl"]

    write(os.path.join(remote, "checkpoints/20/default/a"))  # a push cut short: no digest
    again = str(bucket / "again")
    storage.Mirror(URL, again).pull()
    assert tree(again) == ["checkpoints/5/default/a", f"checkpoints/5/{digest}", "metrics.jsonl"]

    write(os.path.join(local, f"checkpoints/10/{digest}"))  # step 10 committed; orbax dropped 5
    for name in ("default/a", digest):
        os.remove(os.path.join(local, "checkpoints/5", name))
    copied.clear()
    storage.Mirror(URL, local).push()
    assert copied[:2] == [f"{URL}/checkpoints/10/default/a", f"{URL}/checkpoints/10/{digest}"]
    assert tree(remote) == ["checkpoints/10/default/a", f"checkpoints/10/{digest}", "metrics.jsonl"]


def lease_file(host, pid, renewed):
    owner = {"id": "other", "pid": pid, "host": host, "started": renewed, "renewed": renewed}
    write(os.path.join(fake_gcs.local(URL), ".lock"), json.dumps(owner))


def test_the_lease_refuses_a_fresh_holder_takes_a_stale_one_and_stops_when_lost(bucket):
    """A fresh lease (this process; another host's renewed now) refuses in one line naming its holder;
    a stale one (a dead pid on this host; another host's renewed over LEASE_TTL_S ago) is taken over.
    A run whose lease was taken stops at its next renewal; on leaving, its own lease is deleted."""
    path = fake_gcs.local(URL) + "/.lock"
    with storage.Lease(URL):
        holder = f"process {os.getpid()} on {socket.gethostname()}"
        with pytest.raises(WorkdirError, match=f"^workdir {URL} is in use by {holder} \\(started .*"):
            with storage.Lease(URL):
                pass
    assert not os.path.exists(path)

    now = datetime.datetime.now(datetime.UTC)
    old = (now - datetime.timedelta(seconds=storage.LEASE_TTL_S + 60)).isoformat(timespec="seconds")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    for host, pid, renewed, fresh in [
        ("tpu-vm-7", 1, now.isoformat(timespec="seconds"), True),
        ("tpu-vm-7", 1, old, False),
        (socket.gethostname(), int(dead.stdout), now.isoformat(timespec="seconds"), False),
    ]:
        lease_file(host, pid, renewed)
        if fresh:
            with pytest.raises(WorkdirError, match=f"in use by process 1 on tpu-vm-7 .* delete {URL}/.lock"):
                storage.Lease(URL).__enter__()
            continue
        with storage.Lease(URL) as lease:
            with open(path) as f:
                assert json.load(f)["id"] == lease.owner["id"]
    with storage.Lease(URL) as lease:
        lease_file("tpu-vm-8", 2, now.isoformat(timespec="seconds"))  # taken over by another
        with pytest.raises(WorkdirError, match="lease is now held by process 2 on tpu-vm-8"):
            lease.renew()
    assert os.path.exists(path)  # (not this run's to delete)


def test_a_held_lease_is_renewed_between_pushes(bucket):
    """The lease's heartbeat renews it every ttl / 4 with no push at all (a run that saves less often
    than the ttl keeps its workdir), and stops when the run leaves."""
    path = fake_gcs.local(URL) + "/.lock"
    with storage.Lease(URL, ttl_s=0.8) as lease:
        time.sleep(1.6)  # (the times have one-second resolution)
        with open(path) as f:
            held = json.load(f)
        assert held["id"] == lease.owner["id"] and held["renewed"] > held["started"]
    assert not lease._beat.is_alive() and not os.path.exists(path)


def test_an_unknown_scheme_is_one_line():
    with pytest.raises(WorkdirError, match="^cannot open workdir nope://b/r: no file system for nope://"):
        with storage.staged("nope://b/r"):
            pass


def bucket_launch(*args):
    """launch.py's arguments ``args`` run with the stand-in registered (after the interpreter)."""
    return ["-c", fake_gcs.LAUNCH, *args]


def launch_on(*args):
    """A launch.py run with the stand-in registered: its CompletedProcess, asserted to succeed."""
    proc = subprocess.run(
        [sys.executable, *bucket_launch(*args)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc


# ~60 s on 2 cores (the straight run, the killed one, its resume, a sample); the default suite kills and
# resumes a bucket run through launch.py in test_sweep's queued-resource test, on this stand-in
@pytest.mark.slow
def test_a_bucket_run_killed_and_resumed_is_the_straight_run(bucket, smoke_straight):  # noqa: F811
    """launch.py on gs://bkt/runs/r (the stand-in): SIGKILLed after step 17's log line, when the bucket
    holds the steps pushed so far and the lease of a dead process, resumed from the newest of them to
    the uninterrupted local run's rows, final checkpoint and grid, bit for bit; then --mode=sample
    reads it and writes samples.npy into the bucket. A run that ends removes its staging copy."""
    remote = fake_gcs.local(URL)
    code, stderr = stop_at(bucket_launch(*SMOKE[1:]), URL, 17, signal.SIGKILL)
    assert code == -signal.SIGKILL, stderr
    pushed = checkpoints(remote)
    assert pushed == [5, 10, 15]  # (each save awaited and pushed before the next step)
    assert os.path.exists(os.path.join(remote, ".lock"))
    resumed = launch_on(*SMOKE[1:], f"--workdir={URL}")
    assert "from step 15 to 40" in resumed.stdout
    assert_same_run(remote, smoke_straight, 40)
    assert not os.path.exists(os.path.join(remote, ".lock"))
    sampled = launch_on("--mode=sample", "--num_samples=200", f"--workdir={URL}")
    assert f"wrote {URL}/samples.npy" in sampled.stdout
    assert np.load(os.path.join(remote, "samples.npy")).shape == (200, 784)
    assert len(os.listdir(bucket / "staging")) == 1  # the killed run's alone: the others were removed


def test_train_and_sample_modes_on_a_bucket_workdir(bucket, capsys):
    """Training in this process on gs:// (the stand-in): a run of 4 steps lands config.json,
    metrics, the grid, TensorBoard events and its committed checkpoint in the bucket, its lease gone;
    launch.py --mode=sample (its main, here) reads it and writes samples.npy there. Its evaluation at the
    end (config.final_eval, on the classifier's features) is pushed with it."""
    config = tiny_config(num_steps=4, ckpt_every=2, log_every=2)
    np.save(bucket / "ref.npy", np.zeros((20, 28, 28, 1), np.uint8))
    config.final_eval.update(
        reference=str(bucket / "ref.npy"), num_samples=20, features="classifier", kid_subset_size=10
    )
    train.train(config, URL)
    remote = fake_gcs.local(URL)
    assert f"wrote {URL}/samples_vs_reference.eval.json" in capsys.readouterr().out
    assert {"samples_vs_reference.npy", "samples_vs_reference.eval.json"} <= set(tree(remote))
    assert checkpoints(remote) == [2, 4]
    assert {"config.json", "metrics.jsonl", "samples/step_0000004.png"} <= set(tree(remote))
    assert any(name.startswith("tb/events.out.tfevents.") for name in tree(remote))
    with open(os.path.join(remote, "metrics.jsonl")) as f:
        assert [json.loads(line)["step"] for line in f] == [2, 4]
    assert not os.path.exists(os.path.join(remote, ".lock"))
    launch_in_process("--mode=sample", "--num_samples=50", f"--workdir={URL}")
    assert f"wrote {URL}/samples.npy" in capsys.readouterr().out
    assert np.load(os.path.join(remote, "samples.npy")).shape == (50, 784)


@pytest.mark.slow  # ~40 s: 10,000 samples and the real-data floors
def test_evaluate_mode_reads_and_writes_a_bucket_workdir(bucket):
    launch_on(*SMOKE[1:], "--config.num_steps=5", f"--workdir={URL}")
    proc = launch_on("--mode=evaluate", f"--workdir={URL}")
    assert f"wrote {URL}/eval.json" in proc.stdout
    with open(os.path.join(fake_gcs.local(URL), "eval.json")) as f:
        report = json.load(f)
    assert report["step"] == 5 and report["num_samples"] == 10_000
