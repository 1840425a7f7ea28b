"""The training loop: resume, jitted steps, metrics, sample grids, checkpoints, clean stops.

Outputs in ``workdir``: ``checkpoints/`` (orbax, periodic + final, last N kept), ``metrics.jsonl``,
``tb/`` (TensorBoard events), ``samples/step_XXXXXXX.png`` (10x10 grid from a fixed z) and
``config.json``. Rerunning with the same workdir resumes from the latest checkpoint.
"""

import os
import signal
import time

import jax
import numpy as np
import orbax.checkpoint as ocp

from gan_jax import data, evaluate, figures, games, images, metric_writers, models, steps
from gan_jax.state import SAMPLE_STREAM, TrainState, create_train_state, make_setup

GRID = 10


class TrainError(RuntimeError):
    """A run that cannot go on; the message is one line."""


class Interrupted(Exception):
    """SIGTERM/SIGINT arrived; a checkpoint of the last finished step was saved."""

    def __init__(self, signum: int, step: int):
        super().__init__(f"{signal.Signals(signum).name} at step {step}: checkpoint saved; rerun to resume")
        self.signum = signum


def validate(config) -> None:
    games.get_game(config.game)
    steps.check_update_scheme(config.update_scheme)
    if config.eval_every < 0 or (config.eval_every and config.eval_samples < 1):
        raise ValueError("config.eval_every must be >= 0 (0: never) and config.eval_samples >= 1")
    for name in ("num_steps", "batch_size", "log_every", "ckpt_every", "sample_every", "d_steps", "g_steps"):
        if int(config[name]) < 1:
            raise ValueError(f"config.{name} must be >= 1, got {config[name]}")


def _restore(mngr: ocp.CheckpointManager, state: TrainState, workdir: str) -> TrainState:
    step = mngr.latest_step()
    if step is None:
        return state
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, state)
    try:
        return mngr.restore(step, args=ocp.args.StandardRestore(target))
    except (ValueError, KeyError, TypeError) as e:
        first = str(e).strip().split("\n")[0].split(". ")[0]
        raise TrainError(
            f"the checkpoint at step {step} in {workdir} does not fit this config's model ({first}); "
            "use a new --workdir"
        ) from None


def _check_finite(state: TrainState, mngr: ocp.CheckpointManager) -> None:
    bad = int(state.nonfinite_step)
    if bad >= 0:
        mngr.wait_until_finished()
        raise TrainError(
            f"non-finite loss or gradient at step {bad}; stopped; last good checkpoint: "
            f"step {mngr.latest_step()}"
        )


def train(config, workdir: str) -> TrainState:
    """Trains ``config`` in ``workdir`` up to ``config.num_steps`` and returns the final state."""
    validate(config)
    splits = data.load_dataset(config.data)
    x_train = splits["train"][0]
    if x_train.shape[1] != config.model.data_dim:
        raise ValueError(f"data has {x_train.shape[1]} dims, config.model.data_dim={config.model.data_dim}")
    setup = make_setup(config, len(x_train))
    step_fn = steps.jit_step(steps.make_step(config, setup, len(x_train)))
    sampler = steps.make_sampler(setup)
    state = create_train_state(config, setup, x_train.mean(axis=0), len(x_train))
    train_images = jax.device_put(x_train)

    workdir = os.path.abspath(workdir)
    os.makedirs(os.path.join(workdir, "samples"), exist_ok=True)
    options = ocp.CheckpointManagerOptions(max_to_keep=config.keep_checkpoints, create=True)
    mngr = ocp.CheckpointManager(os.path.join(workdir, "checkpoints"), options=options)
    try:  # the manager's threads must be closed on every way out, or exit prints their tracebacks
        state = _restore(mngr, state, workdir)
        _check_finite(state, mngr)
    except BaseException:
        mngr.close()
        raise
    start, total = int(state.step), int(config.num_steps)
    if start >= total:
        mngr.close()
        print(f"workdir {workdir} is already at step {start} >= num_steps={total}; nothing to do")
        return state
    with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write(config.to_json_best_effort(indent=2))
    metric_writers.truncate_jsonl(os.path.join(workdir, "metrics.jsonl"), start)
    writer = metric_writers.MetricWriter(workdir)
    num_fixed = GRID * GRID if config.model.data_dim == 784 else 1000
    fixed_z = models.sample_noise(jax.random.fold_in(state.rng, SAMPLE_STREAM), num_fixed, config.model.z_dim)
    critic = jax.jit(lambda d_params, x: setup.discriminator.apply({"params": d_params}, x, train=False))

    def write_samples(step):
        x = np.asarray(sampler(state.g_params, fixed_z))
        path = os.path.join(workdir, "samples", f"step_{step:07d}.png")
        if x.shape[1] == 784:
            grid = images.grid(x, GRID, GRID)
            images.save_png(path, grid)
            writer.image(step, "samples", grid)
            return
        if x.shape[1] == 2:
            figures.scatter_2d(path, x, data.toy_centres(config.data), f"step {step}")
        else:
            lo, hi = np.percentile(x_train, [0.1, 99.9]) + np.array([-1.0, 1.0]) * x_train.std()
            x_grid = np.linspace(lo, hi, 400, dtype=np.float32)
            d_values = jax.nn.sigmoid(critic(state.d_params, x_grid[:, None]))
            p_data = data.toy_density(config.data, x_grid)
            figures.density_1d(path, x_grid, p_data, x[:, 0], d_values, title=f"step {step}")
        writer.image(step, "samples", images.read_png(path), dataformats="HWC")

    caught = []
    handlers = {
        s: signal.signal(s, lambda signum, _: caught.append(signum)) for s in (signal.SIGTERM, signal.SIGINT)
    }
    epoch_batches = len(x_train) // config.batch_size
    print(f"training {config.game}/{config.update_scheme} from step {start} to {total} in {workdir}")
    try:
        if start == 0:
            writer.text(0, "config", "```\n" + str(config) + "\n```")
            write_samples(0)
        window_start, window_steps = time.perf_counter(), 0
        for step in range(start + 1, total + 1):
            state, metrics = step_fn(state, train_images)
            window_steps += 1
            last = step == total
            if caught:
                _check_finite(state, mngr)
                mngr.save(step, args=ocp.args.StandardSave(state), force=True)
                mngr.wait_until_finished()
                raise Interrupted(caught[0], step)
            if step % config.log_every == 0 or last:
                _check_finite(state, mngr)
                rate = window_steps / (time.perf_counter() - window_start)
                scalars = jax.device_get(metrics) | {"steps_per_sec": rate}
                scalars["epoch"] = int(state.data_index) / epoch_batches
                writer.scalars(step, scalars)
                eta = (total - step) / rate
                print(
                    f"step {step}/{total} d_loss {scalars['d_loss']:.4f} g_loss {scalars['g_loss']:.4f} "
                    f"D(x) {scalars['d_real']:.3f} D(G(z)) {scalars['d_fake']:.3f} "
                    f"{rate:.1f} steps/s ETA {time.strftime('%H:%M:%S', time.gmtime(eta))}",
                    flush=True,
                )
                window_start, window_steps = time.perf_counter(), 0
            if step % config.sample_every == 0 or last:
                write_samples(step)
            if step % config.ckpt_every == 0 or last:
                _check_finite(state, mngr)
                mngr.save(step, args=ocp.args.StandardSave(state), force=True)
            if config.eval_every and (step % config.eval_every == 0 or last):
                results = evaluate.evaluate_generator(setup, state, splits, config)
                results = evaluate.scalars(results)
                writer.scalars(step, results)
                print(f"step {step} eval: " + ", ".join(f"{k} {v:.4g}" for k, v in results.items()))
                window_start, window_steps = time.perf_counter(), 0
        mngr.wait_until_finished()
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
        writer.close()
        mngr.close()
    return state
