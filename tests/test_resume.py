"""Stopped and resumed runs through launch.py equal uninterrupted ones bit for bit: two tiny DCGANs
(batch norm, spectral norm, sigmoid and tanh outputs) run in two parts, and a smoke run killed at
random steps and terminated (SIGTERM's checkpoint and one-line exit)."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from conftest import ROOT
from test_train import checkpoints, png, rows

TIMEOUT_S = 300
ABSL_LOG_LINE = re.compile(r"[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\] ")

# launch.py's main under a mock TFDS CIFAR-10 (16 random images, the same in every process): the
# colour data set is not available offline
MOCK_CIFAR_LAUNCH = """
import tensorflow_datasets as tfds
from absl import app
import launch
with tfds.testing.mock_data(num_examples=16, policy=tfds.testing.MockPolicy.USE_CODE):
    app.run(launch.main, flags_parser=launch.parse_flags)
"""

TINY_DCGAN = [
    "--config.model.ngf=4",
    "--config.model.ndf=4",
    "--config.model.z_dim=8",
    "--config.batch_size=8",
    "--config.num_steps=12",
    "--config.ckpt_every=6",
    "--config.log_every=3",
    "--config.sample_every=6",
    "--config.eval_every=0",
]
DCGANS = {
    # batch norm in G and D, sigmoid output, a grayscale grid
    "mnist": ["launch.py", "--config=experiments/configs/dcgan_mnist.py", *TINY_DCGAN],
    # spectral norm's power-iteration state in D, batch norm in G, tanh output, a colour grid
    "cifar10_sn": [
        "-c",
        MOCK_CIFAR_LAUNCH,
        "--config=experiments/configs/dcgan_cifar10.py",
        *TINY_DCGAN,
        "--config.model.spectral_norm=True",
    ],
}

# every step logged (all of a run's metrics are compared), a checkpoint every 5 steps
SMOKE = [
    "launch.py",
    "--config=experiments/configs/smoke.py",
    "--config.num_steps=40",
    "--config.ckpt_every=5",
    "--config.log_every=1",
]


def run(cmd, *args):
    proc = subprocess.run(
        [sys.executable, *cmd, *args], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def restore(workdir, step):
    manager = ocp.CheckpointManager(os.path.join(workdir, "checkpoints"))
    try:
        return manager.restore(step, args=ocp.args.StandardRestore())
    finally:
        manager.close()


def assert_same_run(workdir, straight, step):
    """The same logged rows (all but steps_per_sec), checkpoint ``step`` and last sample grid."""
    assert rows(workdir) == rows(straight)
    resumed, expected = restore(workdir, step), restore(straight, step)
    assert jax.tree.structure(resumed) == jax.tree.structure(expected)
    jax.tree.map(np.testing.assert_array_equal, resumed, expected)
    assert png(workdir, step) == png(straight, step)


def stop_at(cmd, workdir, step, signum, delay_s=0.0):
    """Starts ``cmd`` on ``workdir``, sends ``signum`` ``delay_s`` after it logs ``step`` and waits:
    (returncode, stderr)."""
    proc = subprocess.Popen(
        [sys.executable, *cmd, f"--workdir={workdir}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(TIMEOUT_S, proc.kill)
    watchdog.start()
    try:
        signalled = False
        for line in proc.stdout:
            if line.startswith(f"step {step}/"):
                time.sleep(delay_s)
                proc.send_signal(signum)
                signalled = True
                break
        _, stderr = proc.communicate()
    finally:
        watchdog.cancel()
    assert signalled, f"the run ended (exit {proc.returncode}) before logging step {step}: {stderr}"
    return proc.returncode, stderr


# the spectrally normalised CIFAR-10 pair's resume (30 s) runs with -m slow; MNIST's covers the DCGAN path
@pytest.fixture(
    scope="module",
    params=[pytest.param(n, marks=pytest.mark.slow) if n == "cifar10_sn" else n for n in sorted(DCGANS)],
)
def dcgan_straight(request, tmp_path_factory):
    """A tiny DCGAN's uninterrupted 12-step run: (its launch command, its workdir)."""
    cmd = DCGANS[request.param]
    workdir = str(tmp_path_factory.mktemp(f"dcgan_{request.param}"))
    run(cmd, f"--workdir={workdir}")
    return cmd, workdir


def test_a_dcgan_stopped_and_resumed_is_the_straight_run(dcgan_straight, tmp_path):
    """Six steps in one process, six more in another on the same workdir: the 12-step run's rows,
    final checkpoint (parameters, batch-norm or spectral-norm state, Adam moments, data position) and
    sample grid, bit for bit."""
    cmd, straight = dcgan_straight
    workdir = str(tmp_path)
    run(cmd, f"--workdir={workdir}", "--config.num_steps=6")
    assert checkpoints(workdir) == [6]
    resumed = run(cmd, f"--workdir={workdir}")
    assert "from step 6 to 12" in resumed.stdout
    assert_same_run(workdir, straight, 12)


@pytest.fixture(scope="module")
def smoke_straight(tmp_path_factory):
    """The smoke config's uninterrupted 40-step run."""
    workdir = str(tmp_path_factory.mktemp("smoke"))
    run(SMOKE, f"--workdir={workdir}")
    return workdir


def test_a_run_killed_three_times_and_terminated_resumes_to_the_straight_run(smoke_straight, tmp_path):
    """One workdir, stopped four times, each run resuming from the last checkpoint that finished
    before its stop. SIGKILL a few ms (drawn) after the log line of a step drawn from [1, 4] (before
    the first checkpoint), of 10 or 15 (its asynchronous checkpoint may be in flight) and of one of
    [16, 20] (a fixed generator: the same draws every time). Then SIGTERM after step 22's: exit
    128 + 15, one line on stderr naming the step it saved, that step the last checkpoint. The final
    run gives the straight run's metrics at every step, final checkpoint and sample grid. (The stops
    leave 18 or more steps to go, so that each lands before its run would have ended.)"""
    rng = np.random.default_rng(2014)
    kill_steps = [rng.integers(1, 5), 5 * rng.integers(2, 4), rng.integers(16, 21)]
    workdir = str(tmp_path)
    for step in kill_steps:
        returncode, stderr = stop_at(SMOKE, workdir, step, signal.SIGKILL, rng.uniform(0, 0.01))
        assert returncode == -signal.SIGKILL, (step, stderr)
    returncode, stderr = stop_at(SMOKE, workdir, 22, signal.SIGTERM)
    assert returncode == 128 + signal.SIGTERM, stderr
    stopped = checkpoints(workdir)[-1]
    assert 22 <= stopped < 40
    # (besides absl log lines: orbax warns as it removes a killed run's unfinished checkpoint)
    message = [line for line in stderr.splitlines() if line.strip() and not ABSL_LOG_LINE.match(line)]
    assert message == [f"SIGTERM at step {stopped}: checkpoint saved; rerun to resume"], stderr
    resumed = run(SMOKE, f"--workdir={workdir}")
    assert f"from step {stopped} to 40" in resumed.stdout
    assert_same_run(workdir, smoke_straight, 40)
