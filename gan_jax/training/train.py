"""The training loop: validate, load the data, build the run, resume, step, and act periodically (log,
samples, checkpoint, evaluation), stopping cleanly on SIGTERM/SIGINT.

Outputs in ``workdir``: ``checkpoints/`` (orbax, periodic and final, the last N kept), ``metrics.jsonl``,
``tb/`` (TensorBoard events), ``samples/`` and ``config.json`` (gan_jax/training/outputs.py); with
``config.final_eval`` set, each replica's two-set metrics once the run ends (final_eval.py). Rerunning with
the same workdir resumes from its newest readable checkpoint; one process trains in a workdir at a time.
"""

import contextlib
import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import numpy as np

from gan_jax.errors import ConfigError
from gan_jax.game import replicas
from gan_jax.game.state import TrainState, create_state, make_setup
from gan_jax.metrics import evaluate
from gan_jax.networks import models
from gan_jax.training import autoencoder, final_eval, parallel, precision, storage, validation, workdir
from gan_jax.training.jitting import make_train_step
from gan_jax.training.outputs import Outputs
from gan_jax.training.run_checkpoints import Checkpoints
from gan_jax.training.run_data import load_run_data
from gan_jax.training.signals import Interrupted, Signals


class Run(NamedTuple):
    """What the loop acts with, built once a run is set up: the config, the compiled step
    (``train_step(state, data, n)``), the data on device, the writers of outputs and checkpoints, the
    signal catcher and the evaluation of one replica's view."""

    config: object
    train_step: Callable
    dataset: object
    out: Outputs
    ckpt: Checkpoints
    signals: Signals
    evaluate_fn: Callable


def next_stop(step: int, config, total: int) -> int:
    """The first step after ``step`` at which the loop must see the state: a multiple of a log, sample,
    checkpoint or eval cadence, or the last step. Fused chunks end there, so cadences are exact."""
    cadences = [config.log_every, config.sample_every, config.ckpt_every]
    cadences += [config.eval_every] if config.eval_every else []
    return min([total] + [(step // c + 1) * c for c in cadences])


def train(config, workdir_path: str) -> TrainState:
    """Trains ``config`` in ``workdir_path`` up to ``config.num_steps`` and returns the final state."""
    validation.validate(config)
    if storage.is_remote(workdir_path) and jax.process_count() > 1:
        raise ConfigError(
            f"workdir {workdir_path}: a bucket workdir is staged on one host; a multi-host run needs a "
            "file system all its hosts share (orbax writes each host's shards)"
        )
    # a gs:// workdir: a local staging copy, pulled now and pushed at each checkpoint (storage.py)
    with storage.staged(workdir_path, train=True) as staged:
        if staged.mirror is not None:
            print(f"workdir {workdir_path} staged in {staged.local}; pushed at each checkpoint", flush=True)
        path = workdir.prepare(staged.local)
        # one process trains in a workdir at a time (with several hosts, host 0 holds the lock)
        with workdir.lock(path) if jax.process_index() == 0 else contextlib.nullcontext():
            with precision.scope(config):
                return _train(config, path, staged)


def _train(config, path: str, staged: storage.Staged) -> TrainState:
    mesh = parallel.make_mesh() if config.data_parallel else None
    run_data = load_run_data(config, mesh)
    setup = make_setup(config, run_data.num_train)
    train_step = make_train_step(config, setup, run_data.num_train, mesh, validation.xla_options(config))
    x_train = run_data.splits["train"][0]
    state = create_state(
        config, setup, models.init_mean_pixel(config.model, x_train), run_data.num_train, jit=True
    )
    dataset = run_data.on_device
    if config.model.name == "gmmn_ae":  # GMMN+AE: the trained decoder into G's state, the data into codes
        state, dataset = autoencoder.prepare(config, state, dataset)
    if mesh is not None:  # the restore target then carries the mesh sharding too
        state = parallel.put_replicated(state, mesh)
    on_saved = staged.push if staged.mirror is not None else None
    with Checkpoints(path, config, on_saved) as ckpt:
        state = ckpt.restore(state)
        start, total = int(np.max(state.step)), int(config.num_steps)
        if start >= total:
            print(f"workdir {path} is already at step {start} >= num_steps={total}; nothing to do")
            return state
        out = Outputs(config, path, setup, state, x_train, run_data.num_train, mesh)
        try:
            out.open(path, start)
            count = replicas.num_replicas(config)
            grid = "".join(f"; {k} {v}" for k, v in replicas.replica_hparams(config).items())
            seeds = f" ({count} replicas, seeds {config.seed}..{config.seed + count - 1}{grid})"
            out.say(
                f"training {config.game}/{config.update_scheme} from step {start} to {total} in {path}"
                + (seeds if count > 1 else "")
            )
            evaluate_fn = functools.partial(_evaluate, setup, run_data.splits, config, mesh)
            with Signals() as signals:
                run = Run(config, train_step, dataset, out, ckpt, signals, evaluate_fn)
                state = loop(run, state, start)
        finally:
            out.close()
    final_eval.run(config, path, staged.path)  # (trained to num_steps in this call: config.final_eval)
    return state


def loop(run: Run, state, start: int) -> TrainState:
    """Steps from ``start`` to ``config.num_steps`` in chunks that end at every cadence; after each
    chunk the periodic actions (``after_chunk``)."""
    total, step, frozen = int(run.config.num_steps), start, set()
    if start == 0:
        run.out.started(state)
    run.out.reset_window()
    while step < total:
        n = min(int(run.config.steps_per_call), next_stop(step, run.config, total) - step)
        state, metrics = run.train_step(state, run.dataset, n)
        step += n
        run.out.stepped(n)
        after_chunk(run, state, metrics, step, frozen)
    run.ckpt.wait()
    return state


def due(step: int, every: int, total: int) -> bool:
    return bool(every) and (step % every == 0 or step == total)


def after_chunk(run: Run, state, metrics, step: int, frozen: set) -> None:
    """The periodic actions at ``step``: on a signal a checkpoint first; then the log line and metrics,
    the sample grids, the checkpoint, the evaluation (each at its cadence and at the last step), and
    on a signal the stop (``Interrupted``) once this step's outputs are written."""
    config, out, ckpt, signals = run.config, run.out, run.ckpt, run.signals
    total = int(config.num_steps)
    saved = stopping = signals.caught_anywhere()
    if stopping:
        ckpt.save(state, step, wait=True)
        signals.release()  # a second signal now stops at once: nothing is left unsaved
    live = ckpt.live_replicas(state, frozen, out)
    log_due, sample_due = due(step, config.log_every, total), due(step, config.sample_every, total)
    eval_due = out.main and due(step, config.eval_every, total)
    views = replicas.views(state, out.count) if log_due or sample_due or eval_due else None  # once
    if log_due:
        ckpt.check_finite(state)
        out.metrics(step, total, metrics, state, live, views)
    if sample_due:
        for r in live:
            out.samples(step, r, views[r])
    if due(step, config.ckpt_every, total) and not saved:
        ckpt.save(state, step, wait=False)
        saved = True
    if eval_due:
        for r in live:
            out.evaluation(step, r, run.evaluate_fn(views[r]))
        out.reset_window()
    if step < total and (stopping or signals.caught_anywhere()):
        if not saved:  # a signal during this step's outputs: its checkpoint now
            ckpt.save(state, step, wait=False)
        ckpt.wait()
        raise Interrupted(signals.signum(), step)


def _evaluate(setup, splits, config, mesh, view) -> dict:
    view = view if mesh is None else jax.tree.map(np.asarray, view)  # host 0 evaluates a host copy
    return evaluate.scalars(evaluate.evaluate_generator(setup, view, splits, config))
