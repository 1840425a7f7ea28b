"""Data parallelism over a 4-device CPU mesh gives the one-device results, traced once, with the
training set split by rows over the devices.

XLA_FLAGS must be set before JAX starts, so the 4-device checks run in a subprocess (this file run as
a script, ``python tests/test_sharding.py worker``) that prints one JSON line the tests assert on.
"""

import json
import os
import subprocess
import sys
import types
from functools import partial

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # for the script mode

from gan_jax.training import (
    jitting,
    parallel,  # noqa: E402
)

DEVICES = 4
RTOL, ATOL = 1e-5, 1e-6


def compare(a_tree, b_tree):
    """(all leaves close, all bit-equal, max |a - b|) over two pytrees of arrays."""
    import jax
    import numpy as np

    a_leaves, b_leaves = jax.tree.leaves(a_tree), jax.tree.leaves(b_tree)
    assert len(a_leaves) == len(b_leaves)
    close = exact = True
    worst = 0.0
    for a, b in zip(a_leaves, b_leaves, strict=True):
        a, b = np.asarray(a), np.asarray(b)
        exact &= bool(np.array_equal(a, b))
        close &= bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))
        if a.size:
            worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))))
    return close, exact, worst


def worker():
    """The 4-device run; prints a JSON dict."""
    import jax
    import numpy as np
    from conftest import tiny_config

    from gan_jax.game import steps
    from gan_jax.game.state import create_train_state, make_setup

    out = {"device_count": jax.device_count()}
    # 498 rows: put_rows pads them to 500 (125 a device) with zero rows no index reaches
    images = np.random.default_rng(0).uniform(size=(498, 784)).astype(np.float32)
    num_steps, fused = 6, 3

    traces = {"n": 0}
    make_step = steps.make_step

    def counting_make_step(*args, **kwargs):
        inner = make_step(*args, **kwargs)

        def step(state, batch_images):
            traces["n"] += 1  # a Python side effect: runs only while tracing
            return inner(state, batch_images)

        return step

    labels = np.random.default_rng(1).integers(0, 10, size=len(images)).astype(np.int32)
    for scheme, extra in (("simultaneous", {}), ("alternating", {"d_steps": 2})):
        config = tiny_config(update_scheme=scheme, **extra)
        config.model.d_init_scale = config.model.g_init_scale = 0.3  # updates well above rounding
        # the alternating run is conditional: its labels are split by rows too, gathered with the images
        config.model.num_classes = 10 if scheme == "alternating" else 0
        train_data = (images, labels) if scheme == "alternating" else images
        assert config.batch_size % DEVICES == 0
        setup = make_setup(config, len(images))

        # jit: one compile instead of many eager ones (halves the cost); new buffers at each call.
        fresh = jax.jit(partial(create_train_state, config, setup, images.mean(axis=0), len(images)))

        # One device.
        one = jitting.jit_step(steps.make_step(config, setup, len(images)))
        state, ref_states, ref_metrics = fresh(), [], []
        for _ in range(num_steps):
            state, metrics = one(state, train_data)
            ref_states.append(jax.device_get(state))
            ref_metrics.append(jax.device_get(metrics))

        # Four devices, single steps and fused steps.
        mesh = parallel.make_mesh()
        dp_data = parallel.put_rows(train_data, mesh)
        dp_images = dp_data[0] if scheme == "alternating" else dp_data
        steps.make_step = counting_make_step
        try:
            dp = jitting.jitted_step(config, setup, len(images), mesh)
            dp_fused = jitting.jitted_step(config, setup, len(images), mesh, num_steps=fused)
        finally:
            steps.make_step = make_step
        traces["n"] = 0
        res = {}
        state = parallel.put_replicated(fresh(), mesh)
        hlo = dp.lower(state, dp_data).compile().as_text()  # jit reuses this trace and executable
        close_m = exact_m = True
        worst_m = 0.0
        for i in range(num_steps):
            state, metrics = dp(state, dp_data)
            c, e, w = compare(jax.device_get(metrics), ref_metrics[i])
            close_m, exact_m, worst_m = close_m and c, exact_m and e, max(worst_m, w)
        res["single_traces"] = traces["n"]
        res["single_state"] = compare(jax.device_get(state), ref_states[-1])
        res["single_metrics"] = (close_m, exact_m, worst_m)
        res["replicated"] = all(
            x.sharding.is_fully_replicated and len(x.sharding.device_set) == DEVICES
            for x in jax.tree.leaves(state)
        )
        res["all_reduce"] = "all-reduce" in hlo
        b = config.batch_size
        res["shard_batch_in_hlo"] = f"f32[{b // DEVICES},784]" in hlo
        # each device's program sees its 125 rows of the data, never all 500 (no all-gather of it)
        res["data_rows_in_hlo"] = ["f32[125,784]" in hlo, "f32[500,784]" in hlo]
        res["data_shards"] = sorted(
            (
                s.index[0].start,
                s.index[0].stop,
                bool(np.array_equal(s.data, np.pad(images, ((0, 2), (0, 0)))[s.index])),
            )
            for s in dp_images.addressable_shards
        )
        if scheme == "alternating":
            res["label_shards"] = sorted(
                (s.index[0].start, bool(np.array_equal(s.data, np.pad(labels, (0, 2))[s.index])))
                for s in dp_data[1].addressable_shards
            )
        res["full_batch_in_hlo"] = f"f32[{b},784]" in hlo

        out[scheme] = res
        if scheme != "simultaneous":  # one fused compile is enough (~20 s each on 2 cores)
            continue
        state = parallel.put_replicated(fresh(), mesh)
        traces["n"] = 0
        state, metrics = dp_fused(state, dp_images)
        mid = compare(jax.device_get(state), ref_states[fused - 1])
        state, metrics = dp_fused(state, dp_images)
        res["fused_traces"] = traces["n"]
        res["fused_state"] = [mid, compare(jax.device_get(state), ref_states[-1])]
        res["fused_metrics"] = compare(jax.device_get(metrics), ref_metrics[-1])

    # 5 rows on 4 devices: padded to 8, 2 a device; device 2 holds row 4 and a zero row, device 3
    # zeros alone; and a host holding rows [4, 5) alone of them lacks those of devices 0 and 1
    five = parallel.put_rows(images[:5], mesh)
    padded = np.concatenate([images[:5], np.zeros((3, 784), np.float32)])
    out["five_rows"] = [five.shape[0], parallel.process_rows(5, mesh)] + sorted(
        (s.index[0].start, bool(np.array_equal(s.data, padded[s.index]))) for s in five.addressable_shards
    )
    try:
        parallel.put_rows(images[4:5], mesh, 5, first=4)
        out["tail_error"] = None
    except ValueError as e:
        out["tail_error"] = str(e)
    # a process that holds only some rows is refused the rows of its devices that it lacks
    out["process_rows"] = parallel.process_rows(len(images), mesh)
    try:
        parallel.put_rows(images[125:], mesh, len(images), first=125)
        out["missing_rows_error"] = None
    except ValueError as e:
        out["missing_rows_error"] = str(e)

    try:
        jitting.jitted_step(tiny_config(batch_size=102), setup, len(images), parallel.make_mesh())
        out["indivisible_error"] = None
    except ValueError as e:
        out["indivisible_error"] = str(e)
    print(json.dumps(out))


def multihost_worker(ckpt_dir):
    """One of two processes (2 CPU devices each, 4 in the mesh): 3 data-parallel steps against one
    local device, then an orbax save and restore by both; prints a JSON dict."""
    process, count = parallel.maybe_initialize_distributed()
    import jax
    import numpy as np
    import orbax.checkpoint as ocp
    from conftest import tiny_config

    from gan_jax.game import steps
    from gan_jax.game.state import create_train_state, make_setup

    images = np.random.default_rng(0).uniform(size=(500, 784)).astype(np.float32)
    config = tiny_config()
    config.model.d_init_scale = config.model.g_init_scale = 0.3
    setup = make_setup(config, len(images))
    with jax.default_device(jax.local_devices()[0]):
        init = jax.device_get(create_train_state(config, setup, images.mean(axis=0), len(images)))
        ref, one = init, jitting.jit_step(steps.make_step(config, setup, len(images)))
        for _ in range(3):
            ref, _ = one(ref, images)
    mesh = parallel.make_mesh()
    dp = jitting.jitted_step(config, setup, len(images), mesh)
    first, end = parallel.process_rows(len(images), mesh)  # this host's rows, the only ones it passes
    state = parallel.put_replicated(init, mesh)
    dp_images = parallel.put_rows(images[first:end], mesh, len(images), first)
    local = np.concatenate(
        [np.asarray(s.data) for s in sorted(dp_images.addressable_shards, key=lambda s: s.index[0].start)]
    )
    for _ in range(3):
        state, metrics = dp(state, dp_images)
    mngr = ocp.CheckpointManager(ckpt_dir, options=ocp.CheckpointManagerOptions(create=True))
    mngr.save(3, args=ocp.args.StandardSave(state), force=True)
    mngr.wait_until_finished()
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, parallel.put_replicated(init, mesh))
    restored = mngr.restore(3, args=ocp.args.StandardRestore(target))
    mngr.close()
    out = {
        "process": [process, count, jax.device_count(), jax.local_device_count()],
        "main": parallel.is_main_process(),
        "matches": compare(jax.device_get(state), jax.device_get(ref)),
        "restored": compare(jax.device_get(restored), jax.device_get(state))[1],
        "d_loss": float(metrics["d_loss"]),
        "rows": [first, end, bool(np.array_equal(local, images[first:end]))],
    }
    print(json.dumps(out))


def train_worker(workdir):
    """train.train of a tiny DCGAN-32 on a mock CIFAR-10 (10 images) with data_parallel, one process
    or one of two; prints a JSON dict: the rows each load read, the final state's G parameters."""
    process, count = parallel.maybe_initialize_distributed()
    import jax
    import numpy as np
    import tensorflow_datasets as tfds
    from conftest import tiny_dcgan_config

    from experiments.configs import dcgan_cifar10
    from gan_jax.data import datasets
    from gan_jax.training import train

    config = tiny_dcgan_config(dcgan_cifar10, num_steps=3, log_every=1, sample_every=3, ckpt_every=3)
    config.data_parallel = count > 1
    reads, load = [], datasets.load_tfds_images

    def recording(name, data_dir=None, num_train=0, rows=None):
        reads.append(rows)
        return load(name, data_dir, num_train, rows)

    datasets.load_tfds_images = recording
    with tfds.testing.mock_data(num_examples=10, policy=tfds.testing.MockPolicy.USE_CODE):
        state = train.train(config, workdir)
    g = [np.asarray(x, np.float64).ravel() for x in jax.tree.leaves(jax.device_get(state.g_params))]
    path = os.path.join(workdir, f"g_params_{process}.npy")  # (a pipe would fill and block the exit)
    np.save(path, np.concatenate(g))
    print(json.dumps({"reads": reads, "g_params": path}))


def run_processes(mode: str, arg: str, count: int = 2) -> list[dict]:
    """``count`` processes of this file in ``mode`` joined by jax.distributed (2 CPU devices each);
    their JSON lines."""
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    procs = []
    for i in range(count):
        env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
        env.update({parallel.ENV_FLAG: "1", "JAX_COORDINATOR_ADDRESS": f"localhost:{port}"})
        env.update(GAN_JAX_NUM_PROCESSES=str(count), GAN_JAX_PROCESS_ID=str(i))
        if count == 1:
            env = {k: v for k, v in env.items() if k != parallel.ENV_FLAG}
        cmd = [sys.executable, os.path.abspath(__file__), mode, arg]
        procs.append(
            subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    return [json.loads(o.strip().splitlines()[-1]) for o, _ in outs]


MULTIHOST = pytest.mark.skipif(
    os.environ.get("GAN_JAX_MULTIHOST_TEST") != "1",
    reason="two processes, ~30-60 s: GAN_JAX_MULTIHOST_TEST=1",
)


@MULTIHOST
def test_two_processes_train_reading_their_own_rows(tmp_path):
    """train.train in two processes (DCGAN-32, mock CIFAR-10 of 10 images, 4 devices): each host
    reads only its devices' rows (padded 12: [0, 6) and [6, 10)), and the run is the one-process
    run to float tolerance."""
    pytest.importorskip("tensorflow_datasets")
    two = run_processes("train", str(tmp_path / "two"))
    one = run_processes("train", str(tmp_path / "one"), count=1)[0]
    assert [r["reads"] for r in two] == [[[0, 6]], [[6, 12]]]
    assert one["reads"] == [None]
    g_two, g_other, g_one = (np.load(r["g_params"]) for r in (*two, one))
    np.testing.assert_allclose(g_two, g_one, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(g_two, g_other)
    with open(tmp_path / "two" / "metrics.jsonl") as f:  # host 0 alone wrote it
        assert [json.loads(line)["step"] for line in f] == [1, 2, 3]
    assert os.path.exists(tmp_path / "two" / "checkpoints" / "3")


def test_two_processes(tmp_path):
    """jax.distributed over two local processes (gloo collectives on CPU): one mesh, same results. In
    the default suite (~20-40 s); the heavier two-process training run is opt-in (MULTIHOST)."""
    results = run_processes("multihost", str(tmp_path / "ckpt"))
    assert [r["process"] for r in results] == [[0, 2, 4, 2], [1, 2, 4, 2]]
    assert [r["main"] for r in results] == [True, False]
    assert all(r["matches"][0] and r["restored"] for r in results), results
    assert results[0]["d_loss"] == results[1]["d_loss"]
    assert [r["rows"] for r in results] == [[0, 250, True], [250, 500, True]]  # each host its own half


@pytest.fixture(scope="module")
def result():
    env = {k: v for k, v in os.environ.items() if k != parallel.ENV_FLAG}
    env.update(XLA_FLAGS=f"--xla_force_host_platform_device_count={DEVICES}", JAX_PLATFORMS="cpu")
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_four_devices(result):
    assert result["device_count"] == DEVICES


@pytest.mark.parametrize("scheme", ["simultaneous", "alternating"])
def test_matches_one_device(result, scheme):
    """Simultaneous: the paper model; alternating (k = 2): a conditional one, labels split with the images."""
    r = result[scheme]
    assert r["single_state"][0], r["single_state"]
    assert r["single_metrics"][0], r["single_metrics"]
    if scheme == "simultaneous":  # the fused step is checked once
        assert all(c for c, _, _ in r["fused_state"]), r["fused_state"]
        assert r["fused_metrics"][0], r["fused_metrics"]


@pytest.mark.parametrize("scheme", ["simultaneous", "alternating"])
def test_traced_once(result, scheme):
    """Six calls of the single step (and two of the fused one): one trace each."""
    assert result[scheme]["single_traces"] == 1
    assert result[scheme].get("fused_traces", 1) == 1


@pytest.mark.parametrize("scheme", ["simultaneous", "alternating"])
def test_state_replicated_batch_sharded(result, scheme):
    r = result[scheme]
    assert r["replicated"]
    assert r["all_reduce"], "no gradient all-reduce in the compiled step"
    assert r["shard_batch_in_hlo"], "no per-device [batch/4, 784] minibatch in the compiled step"
    assert r["data_rows_in_hlo"] == [True, False], "the step should see its device's 125 rows, not all 500"
    # device i holds rows [125 i, 125 (i + 1)) of the 498 padded with 2 zero rows (labels too)
    assert r["data_shards"] == [[125 * i, 125 * (i + 1), True] for i in range(DEVICES)]
    if scheme == "alternating":  # the conditional run
        assert r["label_shards"] == [[125 * i, True] for i in range(DEVICES)]


def test_padding_rows_and_a_device_of_padding_alone(result):
    assert result["five_rows"] == [8, [0, 8], [0, True], [2, True], [4, True], [6, True]]
    assert result["tail_error"] == "this process holds rows [4, 5) of 5; its devices need [0, 2)"


def test_rows_a_process_lacks_one_line_error(result):
    assert result["process_rows"] == [0, 500]  # one process: all (padded) rows
    assert (
        result["missing_rows_error"] == "this process holds rows [125, 498) of 498; its devices need [0, 125)"
    )


def test_indivisible_batch_one_line_error(result):
    message = result["indivisible_error"]
    assert message and "\n" not in message
    assert "batch_size=102" in message and "4 devices" in message


def test_check_batch():
    mesh = types.SimpleNamespace(shape={parallel.AXIS: 3})
    parallel.check_batch(99, mesh)
    with pytest.raises(ValueError, match=r"^batch_size=100 is not divisible by the 3 devices"):
        parallel.check_batch(100, mesh)


def test_distributed_not_initialized_unless_asked(monkeypatch):
    import jax

    monkeypatch.delenv(parallel.ENV_FLAG, raising=False)
    assert parallel.maybe_initialize_distributed() == (0, 1)
    monkeypatch.setenv(parallel.ENV_FLAG, "0")
    assert parallel.maybe_initialize_distributed() == (0, 1)
    monkeypatch.setenv(parallel.ENV_FLAG, "1")
    assert parallel.maybe_initialize_distributed(enabled=False) == (0, 1)
    assert not jax.distributed.is_initialized()
    assert parallel.is_main_process()


if __name__ == "__main__" and sys.argv[1:] == ["worker"]:
    worker()
elif __name__ == "__main__" and sys.argv[1:2] == ["multihost"]:
    multihost_worker(sys.argv[2])
elif __name__ == "__main__" and sys.argv[1:2] == ["train"]:
    train_worker(sys.argv[2])
