"""The training loop: validate, load the data, build the run, resume, step, and act periodically (log,
samples, checkpoint, evaluation), stopping cleanly on SIGTERM/SIGINT.

Outputs in ``workdir``: ``checkpoints/`` (orbax, periodic and final, the last N kept), ``metrics.jsonl``,
``tb/`` (TensorBoard events), ``samples/`` and ``config.json`` (gan_jax/training/outputs.py). Rerunning with
the same workdir resumes from its newest readable checkpoint; one process trains in a workdir at a time.
"""

import contextlib
import functools
import os
import shutil
import signal
from typing import NamedTuple

import jax
import numpy as np

from gan_jax.data import datasets
from gan_jax.errors import ConfigError, TrainError
from gan_jax.game import replicas, steps
from gan_jax.game.state import TrainState, create_state, make_setup
from gan_jax.metrics import evaluate
from gan_jax.networks import models
from gan_jax.training import checkpoints, parallel, validation, workdir
from gan_jax.training.outputs import Outputs


class Interrupted(Exception):
    """SIGTERM/SIGINT arrived; a checkpoint of the last finished step was saved."""

    def __init__(self, signum: int, step: int):
        super().__init__(f"{signal.Signals(signum).name} at step {step}: checkpoint saved; rerun to resume")
        self.signum = signum


class RunData(NamedTuple):
    splits: dict  # {'train': (x, y), ...} as read (a host reading its own rows holds those alone)
    num_train: int  # the whole training set's row count
    first: int  # the first training row this host holds
    on_device: object  # the step's data: images, or (images, labels) for a conditional model


def load_run_data(config, mesh) -> RunData:
    """The training set, checked against the config and placed for the step (split by rows over
    ``mesh``'s devices when data-parallel)."""
    first = 0
    if reads_own_rows(config, mesh):  # this host reads only the rows of its own devices
        num_train = datasets.train_size(config.data)
        first, end = parallel.process_rows(num_train, mesh)
        splits = datasets.load_dataset(config.data, rows=(first, end))
    else:
        splits = datasets.load_dataset(config.data)
        num_train = len(splits["train"][0])
    x_train, y_train = splits["train"]
    validation.check_data(config, x_train, y_train, num_train)
    dataset = (x_train, np.asarray(y_train, np.int32)) if models.num_classes(config.model) else x_train
    on_device = (
        jax.device_put(dataset) if mesh is None else parallel.put_rows(dataset, mesh, num_train, first)
    )
    return RunData(splits, num_train, first, on_device)


def reads_own_rows(config, mesh) -> bool:
    """Whether each process reads only its own devices' rows (``process_rows``): with several processes
    over a mesh, for the TFDS colour sets (read by index) and a model whose initial state does not read
    the data's mean (every model but the paper MLP). Otherwise every process reads the whole set."""
    return (
        mesh is not None
        and jax.process_count() > 1
        and config.data.name in datasets.IMAGE_DATASETS
        and not models.init_reads_mean(config.model)
    )


def jitted_step(config, setup, num_train: int, mesh=None, num_steps: int = 1, compiler_options=None):
    """The training step as jitted with the state donated: ``num_steps`` steps fused (``lax.scan``), over
    the stacked replicas when ``num_replicas`` > 1, data-parallel over ``mesh``'s ``data`` axis when a
    mesh is given (state replicated, data split by rows as ``parallel.put_rows`` places it, batch
    sharded). ``compiler_options``: XLA options of its compilation."""
    batch_sharding = None
    if mesh is not None:
        parallel.check_batch(config.batch_size, mesh)
        batch_sharding = parallel.shardings(mesh)[1]
    step_fn = steps.make_step(config, setup, num_train, batch_sharding)
    if replicas.num_replicas(config) > 1:
        step_fn = replicas.replicated_step(step_fn, config)
    step_fn = steps.make_multi_step(step_fn, num_steps, int(config.scan_unroll))
    if mesh is None:
        return steps.jit_step(step_fn, compiler_options)
    return parallel.jit_sharded(step_fn, mesh, compiler_options)


def make_train_step(config, setup, num_train: int, mesh=None, compiler_options: dict | None = None):
    """``train_step(state, data, n)``: ``jitted_step`` of n fused steps, compiled once per distinct n."""
    compiled = {}

    def train_step(state, dataset, n):
        if n not in compiled:
            compiled[n] = jitted_step(config, setup, num_train, mesh, n, compiler_options)
        return compiled[n](state, dataset)

    return train_step


def next_stop(step: int, config, total: int) -> int:
    """The first step after ``step`` at which the loop must see the state: a multiple of a log, sample,
    checkpoint or eval cadence, or the last step. Fused chunks end there, so cadences are exact."""
    cadences = [config.log_every, config.sample_every, config.ckpt_every]
    cadences += [config.eval_every] if config.eval_every else []
    return min([total] + [(step // c + 1) * c for c in cadences])


def train(config, workdir_path: str) -> TrainState:
    """Trains ``config`` in ``workdir_path`` up to ``config.num_steps`` and returns the final state."""
    validation.validate(config)
    if "://" in workdir_path:  # metrics, samples and the TensorBoard files are written with open()
        raise ConfigError(
            f"workdir {workdir_path} is not a local or mounted path; a TPU sweep trains in the VM's "
            "runs/<trial> and copies it to gs:// when the trial ends (experiments/sweep.py)"
        )
    path = workdir.prepare(workdir_path)
    # one process trains in a workdir at a time (with several hosts, host 0 holds the lock)
    with workdir.lock(path) if jax.process_index() == 0 else contextlib.nullcontext():
        return _train(config, path)


def _train(config, path: str) -> TrainState:
    mesh = parallel.make_mesh() if config.data_parallel else None
    run_data = load_run_data(config, mesh)
    setup = make_setup(config, run_data.num_train)
    train_step = make_train_step(config, setup, run_data.num_train, mesh, validation.xla_options(config))
    x_train = run_data.splits["train"][0]
    state = create_state(
        config, setup, models.init_mean_pixel(config.model, x_train), run_data.num_train, jit=True
    )
    if mesh is not None:  # the restore target then carries the mesh sharding too
        state = parallel.put_replicated(state, mesh)
    with Checkpoints(path, config) as ckpt:
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
                state = loop(
                    config, train_step, run_data.on_device, state, start, out, ckpt, signals, evaluate_fn
                )
        finally:
            out.close()
    return state


def loop(config, train_step, dataset, state, start, out, ckpt, signals, evaluate_fn) -> TrainState:
    """Steps from ``start`` to ``config.num_steps`` in chunks that end at every cadence; after each
    chunk the periodic actions (``after_chunk``)."""
    total, step, frozen = int(config.num_steps), start, set()
    if start == 0:
        out.started(state)
    out.reset_window()
    while step < total:
        n = min(int(config.steps_per_call), next_stop(step, config, total) - step)
        state, metrics = train_step(state, dataset, n)
        step += n
        out.stepped(n)
        after_chunk(config, state, metrics, step, out, ckpt, signals, evaluate_fn, frozen)
    ckpt.wait()
    return state


def due(step: int, every: int, total: int) -> bool:
    return bool(every) and (step % every == 0 or step == total)


def after_chunk(config, state, metrics, step, out, ckpt, signals, evaluate_fn, frozen: set) -> None:
    """The periodic actions at ``step``: on a signal a checkpoint first; then the log line and metrics,
    the sample grids, the checkpoint, the evaluation (each at its cadence and at the last step), and
    on a signal the stop (``Interrupted``) once this step's outputs are written."""
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
            out.evaluation(step, r, evaluate_fn(views[r]))
        out.reset_window()
    if step < total and (stopping or signals.caught_anywhere()):
        if not saved:  # a signal during this step's outputs: its checkpoint now
            ckpt.save(state, step, wait=False)
        ckpt.wait()
        raise Interrupted(signals.signum(), step)


def _evaluate(setup, splits, config, mesh, view) -> dict:
    view = view if mesh is None else jax.tree.map(np.asarray, view)  # host 0 evaluates a host copy
    return evaluate.scalars(evaluate.evaluate_generator(setup, view, splits, config))


def unused_name(path: str) -> str:
    """``path``, or ``path.1``, ``path.2``, ... : the first that does not exist."""
    candidate, n = path, 0
    while os.path.exists(candidate):
        n += 1
        candidate = f"{path}.{n}"
    return candidate


class Signals:
    """Catches SIGTERM and SIGINT for the duration of a ``with`` block (the loop then stops cleanly)."""

    def __enter__(self):
        self.caught = []
        self.handlers = {
            s: signal.signal(s, lambda signum, _: self.caught.append(signum))
            for s in (signal.SIGTERM, signal.SIGINT)
        }
        return self

    def caught_anywhere(self) -> bool:
        """Whether this or any other host caught one (every host asks at the same point)."""
        return parallel.any_process(bool(self.caught))

    def signum(self) -> int:
        return self.caught[0] if self.caught else signal.SIGTERM  # (another host's)

    def release(self) -> None:
        for s, h in self.handlers.items():
            signal.signal(s, h)

    def __exit__(self, *exc):
        self.release()


class Checkpoints:
    """The run's orbax manager: restore the newest readable checkpoint, save (refusing a non-finite
    state), and with ``on_nonfinite='freeze'`` tell the live replicas apart."""

    def __init__(self, path: str, config):
        self.path, self.config = path, config
        self.freeze = config.on_nonfinite == "freeze" and replicas.num_replicas(config) > 1
        self.mngr = checkpoints.checkpoint_manager(
            f"{path}/checkpoints", max_to_keep=config.keep_checkpoints, create=True
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        checkpoints.close(self.mngr)  # its threads must end on every way out, or exit prints tracebacks

    def restore(self, state):
        """The newest readable checkpoint; an unreadable newer one is moved to
        ``checkpoints_unreadable/`` (kept, never deleted; the run will write that step again)."""
        pieces = self.config.model.get("d_pieces")  # a maxout D's pieces: legacy checkpoint layouts
        state, _, skipped = checkpoints.restore_latest(self.mngr, state, self.path, pieces)
        for step, reason in skipped:
            kept = unused_name(os.path.join(self.path, "checkpoints_unreadable", str(step)))
            if jax.process_index() == 0:
                with workdir.writing(kept):
                    os.makedirs(os.path.dirname(kept), exist_ok=True)
                    shutil.move(os.path.join(self.path, "checkpoints", str(step)), kept)
                print(f"skipped the unreadable checkpoint at step {step} ({reason}); moved to {kept}")
        if skipped:
            parallel.sync("set_aside")
            self.mngr.reload()
        self.check_finite(state)
        return state

    def check_finite(self, state) -> None:
        """``TrainError`` if a replica's step was non-finite (with ``freeze``: if every one's was)."""
        bad = np.atleast_1d(np.asarray(state.nonfinite_step))
        if (bad >= 0).all() if self.freeze else (bad >= 0).any():
            checkpoints.wait(self.mngr)
            where = f"step {bad[bad >= 0].min()}"
            if len(bad) > 1:
                where += f" (replicas {np.flatnonzero(bad >= 0).tolist()})"
            raise TrainError(
                f"non-finite loss or gradient at {where}; stopped; last good checkpoint: "
                f"step {self.mngr.latest_step()}"
            )

    def save(self, state, step: int, wait: bool) -> None:
        self.check_finite(state)
        checkpoints.save(self.mngr, step, state, wait=wait)

    def wait(self) -> None:
        checkpoints.wait(self.mngr)

    def live_replicas(self, state, frozen: set, out) -> list[int]:
        """The replicas still training; says once, for each newly frozen one, at which step."""
        if not self.freeze:
            return list(range(out.count))
        first_bad = np.asarray(jax.device_get(state.nonfinite_step))
        for r in np.flatnonzero(first_bad >= 0):
            if int(r) not in frozen:
                out.say(
                    f"[replica {r}] non-finite loss or gradient at step {first_bad[r]}: frozen at its "
                    "state before that step (no more outputs); the other replicas train on"
                )
            frozen.add(int(r))
        return [r for r in range(len(first_bad)) if r not in frozen]
