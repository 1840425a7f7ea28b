"""End to end through launch.py: outputs, exact resume, clean stops and one-line errors."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from conftest import ROOT

SMOKE = ["--config=experiments/configs/smoke.py"]


def launch(*args, wait=True, env=None, config=SMOKE):
    """launch.py with ``args`` after ``config`` (the smoke config's flag; [] for the default config)."""
    cmd = [sys.executable, "launch.py", *config, *args]
    env = None if env is None else os.environ | env
    if not wait:
        return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def rows(workdir):
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        return [{k: v for k, v in json.loads(line).items() if k != "steps_per_sec"} for line in f]


def checkpoints(workdir):
    return sorted(int(d) for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit())


def png(workdir, step):
    with open(os.path.join(workdir, "samples", f"step_{step:07d}.png"), "rb") as f:
        return f.read()


def one_line_error(proc):
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """An uninterrupted 30-step run."""
    workdir = str(tmp_path_factory.mktemp("straight"))
    proc = launch(f"--workdir={workdir}", "--config.num_steps=30")
    assert proc.returncode == 0, proc.stderr
    return workdir


def test_outputs_of_a_run(straight):
    table = rows(straight)
    assert [r["step"] for r in table] == [5, 10, 15, 20, 25, 30]
    expected = {
        "d_loss",
        "g_loss",
        "d_real",
        "d_fake",
        "g_grad_norm",
        "d_grad_norm",
        "lr",
        "momentum",
        "epoch",
    }
    assert expected <= set(table[-1])
    assert checkpoints(straight) == [10, 20, 30]
    assert os.path.exists(os.path.join(straight, "samples", "step_0000030.png"))
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(os.path.join(straight, "tb")))
    with open(os.path.join(straight, "config.json")) as f:
        assert json.load(f)["num_steps"] == 30


def test_resume_is_bit_identical(straight, tmp_path):
    workdir = str(tmp_path)
    assert launch(f"--workdir={workdir}", "--config.num_steps=20").returncode == 0
    resumed = launch(f"--workdir={workdir}", "--config.num_steps=30")
    assert resumed.returncode == 0, resumed.stderr
    assert "from step 20" in resumed.stdout
    assert "resuming at step 20 with config changes: num_steps: 20 -> 30" in resumed.stdout
    assert rows(workdir) == rows(straight)
    assert png(workdir, 30) == png(straight, 30)


def test_config_changes_name_nested_and_new_fields():
    from gan_jax.training.outputs import config_changes

    old = {"seed": 0, "optim": {"lr": 0.1, "momentum": 0.5}, "gone": 1}
    new = {"seed": 0, "optim": {"lr": 0.2, "momentum": 0.5}, "xla_options": ""}
    assert config_changes(old, new) == [
        "gone: 1 -> '<unset>'",
        "optim.lr: 0.1 -> 0.2",
        "xla_options: '<unset>' -> ''",
    ]
    assert config_changes(new, new) == []


def test_sigterm_saves_and_the_resumed_run_matches(tmp_path):
    """Fused chunks end on log steps (every 4) or sample steps (every 10), so the stop always lands on
    a step whose outputs the stopped run must still write: a resume starts after them. (Programs other
    than test_fused_steps_give_the_same_run's, which must compile its own to dump them.)"""
    workdir = str(tmp_path / "killed")
    fused = ["--config.steps_per_call=4", "--config.log_every=4"]
    proc = launch(
        f"--workdir={workdir}", "--config.num_steps=100000", "--config.ckpt_every=100000", *fused, wait=False
    )
    metrics = os.path.join(workdir, "metrics.jsonl")
    deadline = time.time() + 120
    while not (os.path.exists(metrics) and os.path.getsize(metrics) > 0) and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    stopped = checkpoints(workdir)[-1]
    assert stopped >= 4 and f"SIGTERM at step {stopped}" in stderr
    # the stop step's outputs are written before the stop (the resume starts after them)
    if stopped % 4 == 0:
        assert rows(workdir)[-1]["step"] == stopped
    if stopped % 10 == 0:
        assert os.path.exists(os.path.join(workdir, "samples", f"step_{stopped:07d}.png"))
    target = f"--config.num_steps={stopped + 7}"
    assert launch(f"--workdir={workdir}", target, *fused).returncode == 0
    fresh = str(tmp_path / "fresh")
    assert launch(f"--workdir={fresh}", target, *fused).returncode == 0
    assert rows(workdir) == rows(fresh)
    grids = sorted(os.listdir(os.path.join(fresh, "samples")))
    assert sorted(os.listdir(os.path.join(workdir, "samples"))) == grids
    assert all(png(workdir, int(g[5:12])) == png(fresh, int(g[5:12])) for g in grids)


def test_a_signal_during_a_checkpoint_steps_outputs_stops_cleanly(tmp_path, monkeypatch):
    """In process: SIGTERM while step 10's sample grid is written (step 10 also checkpoints): one
    checkpoint of step 10, then Interrupted, not a second save of the step. Then another host's
    signal (any_process true on this host at step 20's second check): this host saves step 20 too."""
    from experiments.configs import smoke
    from gan_jax.training import outputs, parallel, signals, train

    save_png = outputs.images.save_png

    def save_then_signal(path, grid):
        save_png(path, grid)
        if path.endswith("step_0000010.png"):
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(outputs.images, "save_png", save_then_signal)
    config = smoke.get_config()
    config.num_steps = 30
    with pytest.raises(signals.Interrupted, match="SIGTERM at step 10"):
        train.train(config, str(tmp_path))
    assert checkpoints(str(tmp_path)) == [10] and rows(str(tmp_path))[-1]["step"] == 10
    monkeypatch.setattr(outputs.images, "save_png", save_png)
    calls, single = [], parallel.any_process

    def another_host_at_20(flag):
        calls.append(flag)
        return single(flag) or len(calls) == 2 * 10  # steps 11..20, two checks each: step 20's second

    monkeypatch.setattr(parallel, "any_process", another_host_at_20)
    with pytest.raises(signals.Interrupted, match="SIGTERM at step 20"):
        train.train(config, str(tmp_path))
    assert checkpoints(str(tmp_path)) == [10, 20]


def test_unknown_game_lists_the_choices(tmp_path):
    line = one_line_error(launch("--game=bogus", f"--workdir={tmp_path}"))
    assert "minimax" in line and "nonsaturating" in line


def test_misspelled_config_field_is_one_line(tmp_path):
    line = one_line_error(launch("--config.num_stepz=3", f"--workdir={tmp_path}"))
    assert "num_steps" in line


@pytest.mark.parametrize(
    "flag, message",
    [
        ("--config.num_stepz=3", 'Did you mean "num_steps"'),  # read while the flag is defined
        ("--config.model.name=dcgan28", "start from a DCGAN config"),
        ("--config.model.name=bogus", "choose one of: paper_mlp, mlp, dirac, dcgan28"),
        # flags that would be ignored, and a workdir train cannot write
        ("--samples=x.npy", "--samples/--labels are for --mode=evaluate"),
        ("--num_samples=10", "--num_samples is for --mode=sample/evaluate"),
        ("--workdir=nope://bucket/run", "cannot open workdir nope://bucket/run: no file system for nope://"),
    ],
)
def test_bad_flags_with_the_default_config_are_one_line(tmp_path, flag, message):
    line = one_line_error(launch(f"--workdir={tmp_path}", flag, config=[]))
    assert message in line


def test_unknown_xla_option_is_one_line(tmp_path):
    line = one_line_error(
        launch('--config.xla_options={"xla_gpu_enable_command_buffer": "BOGUS"}', f"--workdir={tmp_path}")
    )
    assert "xla_options" in line and "BOGUS" in line
    line = one_line_error(launch("--config.xla_options=[1]", f"--workdir={tmp_path}"))
    assert "JSON object" in line


def test_nan_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    proc = launch(f"--workdir={tmp_path}", "--config.optim.learning_rate=1e30", "--config.ckpt_every=1")
    line = one_line_error(proc)
    assert "non-finite loss or gradient at step 2" in line and "last good checkpoint: step 1" in line
    assert checkpoints(str(tmp_path)) == [1]


def test_a_frozen_replica_stops_its_outputs_and_the_run_goes_on(tmp_path):
    """on_nonfinite='freeze' with a grid whose replica 1 diverges (G's Adam at lr 1e30): the run ends
    normally, says once when replica 1 froze, writes no more of its rows, and checkpoints finite
    values; when every replica diverges, it stops with the usual one-line error."""
    args = ["--config.num_steps=10", "--config.num_replicas=2", "--config.on_nonfinite=freeze"]
    args += ["--config.g_optim.name=adam", "--config.g_optim.learning_rate=2e-4"]
    proc = launch(
        f"--workdir={tmp_path / 'one'}", *args, '--config.replica_hparams={"g.learning_rate": [2e-4, 1e30]}'
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("[replica 1] non-finite loss or gradient at step 2: frozen") == 1
    assert [r["step"] for r in rows(str(tmp_path / "one" / "replica_0"))] == [5, 10]
    assert rows(str(tmp_path / "one" / "replica_1")) == []
    manager = ocp.CheckpointManager(str(tmp_path / "one" / "checkpoints"))
    saved = manager.restore(10, args=ocp.args.StandardRestore())
    manager.close()
    assert saved["nonfinite_step"].tolist() == [-1, 2]
    assert all(np.isfinite(x).all() for x in jax.tree.leaves(saved["g_params"]))
    both = '--config.replica_hparams={"g.learning_rate": [1e30, 1e30]}'
    line = one_line_error(launch(f"--workdir={tmp_path / 'both'}", *args, both))
    assert "non-finite loss or gradient at step 2 (replicas [0, 1])" in line


def test_checkpoint_of_another_model_shape_is_refused(straight, tmp_path):
    workdir = str(tmp_path / "run")
    shutil.copytree(straight, workdir)  # a finished run's workdir, resumed with a smaller D
    line = one_line_error(launch(f"--workdir={workdir}", "--config.num_steps=40", "--config.model.d_units=8"))
    assert "was written by" in line and "d_params" in line and "(48,)" in line
    assert checkpoints(workdir) == [10, 20, 30]


def test_sample_mode_writes_samples_of_the_checkpoint(straight):
    proc = launch(f"--workdir={straight}", "--mode=sample", "--num_samples=50")
    assert proc.returncode == 0, proc.stderr
    samples = np.load(os.path.join(straight, "samples.npy"))
    assert samples.shape == (50, 784) and samples.dtype == np.float32
    assert 0.0 <= samples.min() and samples.max() <= 1.0


def test_evaluate_errors_are_one_line(tmp_path):
    assert "no config.json" in one_line_error(launch("--mode=evaluate", f"--workdir={tmp_path}"))
    few = tmp_path / "few.npy"
    np.save(few, np.zeros((100, 784), np.float32))
    assert "at least 10000" in one_line_error(launch("--mode=evaluate", f"--samples={few}"))
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((100, 3), np.float32))
    assert "[N, 784]" in one_line_error(launch("--mode=evaluate", f"--samples={bad}"))


def ring_mode_metrics(samples, std, num_modes=8, radius=1.0, threshold=3.0):
    """VEEGAN/PacGAN's ring metrics by hand (float64): nearest of K centres r (cos 2πk/K, sin 2πk/K)
    at distance / std < threshold is high quality; modes hit, % high quality, KL(q || uniform)."""
    angles = 2 * np.pi * np.arange(num_modes) / num_modes
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], 1)
    dist = np.linalg.norm(samples.astype(np.float64)[:, None] - centres[None], axis=-1) / std
    nearest, good = dist.argmin(1), dist.min(1) < threshold
    hits = np.bincount(nearest[good], minlength=num_modes)
    q = hits[hits > 0] / max(good.sum(), 1)
    kl = float(np.sum(q * np.log(q * num_modes))) if good.any() else None
    return dict(modes_covered=int((hits > 0).sum()), high_quality=100 * good.mean(), reverse_kl=kl)


def test_toy_run_evaluates_mode_coverage(tmp_path):
    """The logged mode metrics are those of the final checkpoint's 2,500 evaluation samples, recomputed
    here. The ring's std is raised to 0.2 so that 40 steps already give a non-trivial cover (with the
    protocol's 0.01, a handful of samples at most are high quality)."""
    proc = subprocess.run(
        [sys.executable, "launch.py", "--config=experiments/configs/ring.py", f"--workdir={tmp_path}"]
        + [
            "--config.num_steps=40",
            "--config.eval_every=20",
            "--config.sample_every=20",
            "--config.log_every=20",
            "--config.data.std=0.2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    evals = [r for r in rows(str(tmp_path)) if "modes_covered" in r]
    assert [r["step"] for r in evals] == [20, 40]
    assert all(r["num_modes"] == 8 and 0 <= r["modes_covered"] <= 8 for r in evals)
    assert os.path.getsize(os.path.join(tmp_path, "samples", "step_0000040.png")) > 1000
    ring = ["--config=experiments/configs/ring.py"]
    proc = launch(f"--workdir={tmp_path}", "--mode=sample", "--num_samples=2500", config=ring)
    assert proc.returncode == 0, proc.stderr
    expected = ring_mode_metrics(np.load(os.path.join(tmp_path, "samples.npy")), std=0.2)
    assert 0 < expected["modes_covered"] < 8 and 0 < expected["high_quality"] < 100  # not a trivial cover
    assert evals[-1]["modes_covered"] == expected["modes_covered"]
    assert evals[-1]["high_quality"] == pytest.approx(expected["high_quality"], abs=1e-9)
    assert evals[-1]["reverse_kl"] == pytest.approx(expected["reverse_kl"], abs=1e-9)


@pytest.mark.slow  # (the default suite stays under 15 min on 2 cores; `pytest -m slow`)
def test_fused_steps_give_the_same_run(straight, tmp_path):
    """steps_per_call=3 (no divisor of the cadences: chunks of 3 and 2 steps): the same logged rows,
    checkpoints and samples. The run also passes an XLA option of its own (an HLO dump): it reaches
    the step's compilation (the tests' compilation cache off, or a cached program dumps nothing)."""
    dump = tmp_path / "xla"
    xla = f'--config.xla_options={{"xla_dump_to": "{dump}"}}'
    proc = launch(
        f"--workdir={tmp_path}",
        "--config.num_steps=30",
        "--config.steps_per_call=3",
        xla,
        env={"JAX_ENABLE_COMPILATION_CACHE": "false"},
    )
    assert proc.returncode == 0, proc.stderr
    assert any(n.endswith("jit_multi.cpu_after_optimizations.txt") for n in os.listdir(dump))
    assert rows(str(tmp_path)) == rows(straight)
    assert checkpoints(str(tmp_path)) == [10, 20, 30]
    assert png(str(tmp_path), 30) == png(straight, 30)


def test_replicas_are_the_seeds_trained_side_by_side(straight, tmp_path):
    """num_replicas=2 from seed 0 trains seeds 0 and 1 under vmap: replica 0 follows the seed-0 run,
    replica 1 a separate seed-1 run (to float tolerance: batched matmuls may round differently)."""
    workdir, single = str(tmp_path / "replicas"), str(tmp_path / "seed1")
    proc = launch(f"--workdir={workdir}", "--config.num_steps=10", "--config.num_replicas=2")
    assert proc.returncode == 0, proc.stderr
    assert launch(f"--workdir={single}", "--config.num_steps=10", "--seed=1").returncode == 0
    assert checkpoints(workdir) == [10]
    runs = [rows(os.path.join(workdir, f"replica_{r}")) for r in range(2)]
    for got, want in ((runs[0], rows(straight)[:2]), (runs[1], rows(single))):
        assert [r["step"] for r in got] == [r["step"] for r in want] == [5, 10]
        for g, w in zip(got, want, strict=True):
            keys = sorted(w)
            np.testing.assert_allclose([g[k] for k in keys], [w[k] for k in keys], rtol=1e-4, atol=1e-7)
    assert runs[0][-1]["d_loss"] != runs[1][-1]["d_loss"]
    assert os.path.exists(os.path.join(workdir, "replica_1", "samples", "step_0000010.png"))
    proc = launch(f"--workdir={workdir}", "--mode=sample", "--num_samples=20")
    assert proc.returncode == 0, proc.stderr
    drawn = [np.load(os.path.join(workdir, f"replica_{r}", "samples.npy")) for r in range(2)]
    assert drawn[0].shape == drawn[1].shape == (20, 784) and not np.allclose(drawn[0], drawn[1])


def test_data_parallel_run_on_four_devices_matches_one(straight, tmp_path):
    """config.data_parallel on 4 (fake CPU) devices: the batch split over a Mesh, the same run to
    float tolerance (gradient sums are added in another order)."""
    four = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    args = ["--config.num_steps=10", "--config.data_parallel=True", "--config.steps_per_call=5"]
    proc = launch(f"--workdir={tmp_path}", *args, env=four)
    assert proc.returncode == 0, proc.stderr
    got, want = rows(str(tmp_path)), rows(straight)[:2]
    assert [r["step"] for r in got] == [5, 10]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose([g[k] for k in sorted(w)], [w[k] for k in sorted(w)], rtol=1e-4, atol=1e-7)
    assert checkpoints(str(tmp_path)) == [10]


# --- Faults a user meets: each one line (exit 2), nothing lost ------------------------------------


def test_a_batch_larger_than_the_training_set_is_one_line(tmp_path):
    proc = launch(f"--workdir={tmp_path}", "--config.batch_size=100000")
    line = one_line_error(proc)
    assert proc.returncode == 2
    assert "config.batch_size=100000" in line and "50000 training examples" in line


def test_an_unwritable_workdir_is_one_line(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    proc = launch(f"--workdir={blocker}/run")
    line = one_line_error(proc)
    assert proc.returncode == 2 and str(blocker) in line


def test_a_second_process_on_a_busy_workdir_is_refused_until_the_first_dies(tmp_path):
    """The lock names the process that holds it; a SIGKILLed holder leaves no stale lock."""
    workdir = str(tmp_path)
    first = launch(f"--workdir={workdir}", "--config.num_steps=1000000", "--config.log_every=1", wait=False)
    try:
        deadline = time.time() + 120
        while not os.path.exists(os.path.join(workdir, "metrics.jsonl")) and time.time() < deadline:
            time.sleep(0.2)
        second = launch(f"--workdir={workdir}", "--config.num_steps=10")
        line = one_line_error(second)
        assert second.returncode == 2 and f"process {first.pid}" in line and workdir in line
    finally:
        first.kill()
        first.communicate()
    third = launch(f"--workdir={workdir}", "--config.num_steps=10")
    assert third.returncode == 0, third.stderr


def test_a_corrupt_latest_checkpoint_is_skipped_and_the_run_resumes_exactly(straight, tmp_path):
    """A truncated file in the newest checkpoint: the run says so in one line, resumes from the one
    before (leaving the corrupt one on disk) and ends where a straight run ends, bit for bit."""
    workdir = str(tmp_path)
    assert launch(f"--workdir={workdir}", "--config.num_steps=20").returncode == 0
    step_dir = os.path.join(workdir, "checkpoints", "20")
    files = [os.path.join(d, f) for d, _, fs in os.walk(step_dir) for f in fs]
    biggest = max(files, key=os.path.getsize)
    with open(biggest, "r+b") as f:
        f.truncate(os.path.getsize(biggest) // 2)
    resumed = launch(f"--workdir={workdir}", "--config.num_steps=30")
    assert resumed.returncode == 0, resumed.stderr
    skipped = [line for line in resumed.stdout.splitlines() if "skipped" in line]
    assert len(skipped) == 1 and "step 20" in skipped[0]
    assert "from step 10" in resumed.stdout
    assert os.path.isdir(os.path.join(workdir, "checkpoints_unreadable", "20"))  # kept, not deleted
    assert rows(workdir) == rows(straight)


def test_a_full_disk_is_one_line_and_keeps_the_last_good_checkpoint(tmp_path):
    """A workdir on a small tmpfs: the run fails with one line naming the path, and the checkpoints
    written before the disk filled still restore."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)]).returncode:
        pytest.skip("cannot mount a tmpfs here (not root)")
    try:
        workdir = str(mount / "run")
        proc = launch(f"--workdir={workdir}", "--config.num_steps=200", "--config.ckpt_every=5")
        line = one_line_error(proc)
        assert proc.returncode == 2 and workdir in line and "No space left" in line
        saved = checkpoints(workdir)
        assert saved
        with ocp.CheckpointManager(os.path.join(workdir, "checkpoints")) as mngr:
            restored = mngr.restore(saved[-1])
        assert int(restored["step"]) == saved[-1]
    finally:
        subprocess.run(["umount", str(mount)])
