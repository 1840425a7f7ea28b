"""The training loop: resume, jitted steps, metrics, sample grids, checkpoints, clean stops.

Outputs in ``workdir``: ``checkpoints/`` (orbax, periodic + final, last N kept), ``metrics.jsonl``,
``tb/`` (TensorBoard events), ``samples/step_XXXXXXX.png`` (10x10 grid from a fixed z) and
``config.json``. Rerunning with the same workdir resumes from the latest checkpoint.
"""

import functools
import json
import os
import signal
import time

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from gan_jax import data, evaluate, games, images, metric_writers, models, options, parallel, steps
from gan_jax.checkpoints import checkpoint_manager, restore_checkpoint
from gan_jax.errors import TrainError
from gan_jax.state import (
    SAMPLE_STREAM,
    TrainState,
    create_state,
    g_optim,
    make_setup,
    num_replicas,
    replica,
    replica_axes,
    replica_hparams,
    stack_replicas,
)

GRID = 10
REPLICA_MODES = ("auto", "vmap", "loop")


class Interrupted(Exception):
    """SIGTERM/SIGINT arrived; a checkpoint of the last finished step was saved."""

    def __init__(self, signum: int, step: int):
        super().__init__(f"{signal.Signals(signum).name} at step {step}: checkpoint saved; rerun to resume")
        self.signum = signum


def validate(config) -> None:
    steps.check_update_scheme(config.update_scheme)
    options.check(config, games.get_game(config.game))
    if config.eval_every < 0 or (config.eval_every and config.eval_samples < 1):
        raise ValueError("config.eval_every must be >= 0 (0: never) and config.eval_samples >= 1")
    for name in ("num_steps", "batch_size", "log_every", "ckpt_every", "sample_every", "d_steps", "g_steps"):
        if int(config[name]) < 1:
            raise ValueError(f"config.{name} must be >= 1, got {config[name]}")
    for name in ("steps_per_call", "num_replicas", "scan_unroll"):
        if int(config.get(name, 1)) < 1:
            raise ValueError(f"config.{name} must be >= 1, got {config[name]}")
    models.build_models(config)  # unknown model, dtype, conv_impl or conditioning: one line
    g_optim(config)  # G's own optimizer: an unknown name or field
    replica_hparams(config)
    on_nonfinite(config)
    xla_options(config, check=True)
    replica_mode(config)
    classes, name = models.num_classes(config.model), config.data.get("name", "mnist")
    if classes and name not in data.LABELLED:
        raise ValueError(
            f"config.model.num_classes={classes}: a conditional model needs class labels; dataset "
            f"{name!r} has none (labelled: {', '.join(data.LABELLED)})"
        )
    if classes and classes != data.NUM_CLASSES[name]:
        raise ValueError(
            f"config.model.num_classes={classes} but {name!r} has {data.NUM_CLASSES[name]} classes"
        )


def xla_options(config, check: bool = False) -> dict:
    """``config.xla_options`` (a JSON object of XLA debug options, "" for none) as the training step's
    ``compiler_options``. ``check``: compile a trivial function with them, so that an unknown option or
    value fails here, in one line, rather than at the first step."""
    opts = steps.parse_xla_options(config.get("xla_options", ""), "config.xla_options")
    if check and opts:
        try:
            jax.jit(lambda x: x + 1).lower(np.float32(0)).compile(compiler_options=opts)
        except jax.errors.JaxRuntimeError as e:  # XLA's own message names the option and why
            raise ValueError(f"config.xla_options: {(str(e).splitlines() or [repr(e)])[0]}") from None
    return opts


def config_changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    """The fields (dotted names) whose values differ between two configs as dicts: 'name: old -> new'."""
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "<unset>"), new.get(key, "<unset>")
        if isinstance(a, dict) and isinstance(b, dict):
            changes += config_changes(a, b, f"{prefix}{key}.")
        elif a != b:
            changes.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return changes


def check_labels(labels: np.ndarray, num_classes: int) -> None:
    """The training labels of a conditional run must lie in [0, num_classes) (a host that reads its own
    rows checks those; one whose rows are all padding has none)."""
    if num_classes and len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"training labels span [{labels.min()}, {labels.max()}]; config.model.num_classes={num_classes}"
        )


def grid_labels(num_classes: int, rows: int = 10, cols: int = 10) -> np.ndarray | None:
    """Labels of a class-by-row sample grid: row r shows class r % K (None when unconditional)."""
    if not num_classes:
        return None
    return np.repeat(np.arange(rows) % num_classes, cols).astype(np.int32)


def grid_noise(key, num_classes: int, z_dim: int, rows: int = 10, cols: int = 10):
    """The grid's fixed z: rows*cols draws; conditional, one z per column shared by every row (each
    column then shows one "style" across the classes)."""
    if not num_classes:
        return models.sample_noise(key, rows * cols, z_dim)
    return jax.numpy.tile(models.sample_noise(key, cols, z_dim), (rows, 1))


def _restore(mngr: ocp.CheckpointManager, state: TrainState, workdir: str, maxout_pieces=None) -> TrainState:
    step = mngr.latest_step()
    if step is None:
        return state
    try:
        return restore_checkpoint(mngr, step, state, maxout_pieces)
    except (ValueError, KeyError, TypeError) as e:
        first = str(e).strip().split("\n")[0].split(". ")[0]
        raise TrainError(
            f"the checkpoint at step {step} in {workdir} does not fit this config's model ({first}); "
            "use a new --workdir"
        ) from None


NONFINITE = ("stop", "freeze")


def on_nonfinite(config) -> str:
    """``config.on_nonfinite``: 'stop' (the default: the first non-finite loss or gradient stops the run,
    keeping the last good checkpoint) or 'freeze' (with num_replicas > 1: that replica keeps its state
    from before the step and stops writing outputs while the others train on; the run stops when
    every replica has; with one replica the same as 'stop')."""
    name = config.get("on_nonfinite", "stop")
    if name not in NONFINITE:
        raise ValueError(f"unknown config.on_nonfinite {name!r}; choose one of: {', '.join(NONFINITE)}")
    return name


def _check_finite(state: TrainState, mngr: ocp.CheckpointManager, freeze: bool = False) -> None:
    """Raises ``TrainError`` if a replica's step was non-finite (with ``freeze``: if every one's was)."""
    bad = np.atleast_1d(np.asarray(state.nonfinite_step))
    if (bad >= 0).all() if freeze else (bad >= 0).any():
        mngr.wait_until_finished()
        where = f"step {bad[bad >= 0].min()}"
        if len(bad) > 1:
            where += f" (replicas {np.flatnonzero(bad >= 0).tolist()})"
        raise TrainError(
            f"non-finite loss or gradient at {where}; stopped; last good checkpoint: "
            f"step {mngr.latest_step()}"
        )


def announce_frozen(state: TrainState, frozen: set[int]) -> list[int]:
    """The replicas still training (``config.on_nonfinite='freeze'``); says once, for each newly
    frozen one, at which step (``frozen`` collects them)."""
    first_bad = np.asarray(jax.device_get(state.nonfinite_step))
    for r in np.flatnonzero(first_bad >= 0):
        if int(r) not in frozen and parallel.is_main_process():
            print(
                f"[replica {r}] non-finite loss or gradient at step {first_bad[r]}: frozen at its state "
                "before that step (no more outputs); the other replicas train on",
                flush=True,
            )
        frozen.add(int(r))
    return [r for r in range(len(first_bad)) if r not in frozen]


def _save(
    mngr: ocp.CheckpointManager, state: TrainState, step: int, wait: bool = True, freeze: bool = False
) -> None:
    """Checkpoint ``step`` (after ``_check_finite``), awaited when ``wait`` (a stop follows)."""
    _check_finite(state, mngr, freeze)
    mngr.save(step, args=ocp.args.StandardSave(state), force=True)
    if wait:
        mngr.wait_until_finished()


def replica_dirs(workdir: str, replicas: int) -> list[str]:
    """Where each replica's metrics, samples and evaluations go: ``workdir`` itself for a single run,
    ``workdir/replica_<r>`` for ``num_replicas`` > 1 (the checkpoints hold all replicas together)."""
    if replicas == 1:
        return [workdir]
    return [os.path.join(workdir, f"replica_{r}") for r in range(replicas)]


def replica_views(state: TrainState, replicas: int) -> list[TrainState]:
    return [state] if replicas == 1 else [replica(state, r) for r in range(replicas)]


def next_stop(step: int, config, total: int) -> int:
    """The first step after ``step`` at which the loop must see the state: a multiple of a log,
    sample, checkpoint or eval cadence, or the last step. Fused chunks end there, so the cadences are
    exact at any ``steps_per_call``."""
    cadences = [config.log_every, config.sample_every, config.ckpt_every]
    cadences += [config.eval_every] if config.eval_every else []
    return min([total] + [(step // c + 1) * c for c in cadences])


def replica_mode(config) -> str:
    """How ``num_replicas`` > 1 seeds share one program: 'vmap' (one batched program) or 'loop' (each
    replica's step in turn). ``config.replica_mode`` 'auto' loops for a DCGAN model on the CPU backend,
    where vmap turns every convolution into a grouped one that XLA's CPU backend runs ~3x slower per
    replica than the replicas one after another (BENCHMARKS.md), and vmaps otherwise."""
    mode = config.get("replica_mode", "auto")
    if mode not in REPLICA_MODES:
        raise ValueError(f"unknown config.replica_mode {mode!r}; choose one of: {', '.join(REPLICA_MODES)}")
    if mode == "auto":
        convolutional = config.model.get("name", "paper_mlp") in models.DCGAN
        return "loop" if convolutional and jax.default_backend() == "cpu" else "vmap"
    return mode


def _vmap_replicas(step_fn):
    """``step_fn`` over the leading replica axis of a stacked state (``state.replica_axes``)."""

    def replicated(state, images):
        axes = replica_axes(state)
        return jax.vmap(step_fn, in_axes=(axes, None), out_axes=(axes, 0))(state, images)

    return replicated


def _loop_replicas(step_fn, count: int):
    """``step_fn`` on each of the ``count`` replicas of a stacked state in turn, restacked: the same
    result as ``_vmap_replicas`` (to float rounding), unbatched operations."""

    def replicated(state, images):
        states, metrics = zip(*(step_fn(replica(state, r), images) for r in range(count)), strict=True)
        return stack_replicas(list(states)), jax.tree.map(lambda *xs: jnp.stack(xs), *metrics)

    return replicated


def _freeze_nonfinite(step_fn):
    """``step_fn`` over stacked replicas, where a replica whose step was non-finite (now or before:
    ``nonfinite_step`` >= 0) keeps its state from before the step; only its step count, first
    non-finite step and data position move on (``config.on_nonfinite='freeze'``)."""

    def step(state, images):
        new, metrics = step_fn(state, images)
        dead = new.nonfinite_step >= 0

        def keep(old, fresh):
            return jnp.where(dead.reshape(dead.shape + (1,) * (fresh.ndim - 1)), old, fresh)

        kept = jax.tree.map(keep, state.replace(data_index=None), new.replace(data_index=None))
        moving = {f: getattr(new, f) for f in ("step", "nonfinite_step", "data_index", "data_perm")}
        return kept.replace(**moving), metrics

    return step


def make_train_step(config, setup, num_train: int, mesh=None, compiler_options: dict | None = None):
    """``train_step(state, images, n)``: n steps fused in one jitted, donated dispatch (compiled once per
    distinct n), vmapped over the leading replica axis when ``num_replicas`` > 1, data-parallel over
    ``mesh``'s ``data`` axis when a mesh is given (state replicated, data split by rows, batch sharded).
    ``compiler_options``: XLA options of the step's compilation (``steps.jit_step``)."""
    batch_sharding = None
    if mesh is not None:
        parallel.check_batch(config.batch_size, mesh)
        batch_sharding = parallel.shardings(mesh)[1]
    step_fn = steps.make_step(config, setup, num_train, batch_sharding)
    if num_replicas(config) > 1:
        loop = replica_mode(config) == "loop"
        step_fn = _loop_replicas(step_fn, num_replicas(config)) if loop else _vmap_replicas(step_fn)
        if on_nonfinite(config) == "freeze":
            step_fn = _freeze_nonfinite(step_fn)
    jit = steps.jit_step if mesh is None else functools.partial(parallel.jit_sharded, mesh=mesh)
    jit = functools.partial(jit, compiler_options=compiler_options)
    unroll = int(config.get("scan_unroll", 1))
    compiled = {}

    def train_step(state, dataset, n):
        if n not in compiled:
            compiled[n] = jit(steps.make_multi_step(step_fn, n, unroll))
        return compiled[n](state, dataset)

    return train_step


def reads_own_rows(config, mesh) -> bool:
    """Whether each process reads only its own devices' rows of the training set (``process_rows``):
    with several processes over a mesh, for the TFDS colour sets (read by index) and a model whose
    initial state does not use the data's mean (every model but the paper MLP, whose G output bias
    is the mean's logit). Otherwise every process reads the whole set and places its rows."""
    return (
        mesh is not None
        and jax.process_count() > 1
        and config.data.get("name", "mnist") in data.IMAGE_DATASETS
        and not models.init_reads_mean(config.model)
    )


def train(config, workdir: str) -> TrainState:
    """Trains ``config`` in ``workdir`` up to ``config.num_steps`` and returns the final state."""
    validate(config)
    if "://" in workdir:  # metrics, samples and the TensorBoard files are written with open()
        raise ValueError(
            f"workdir {workdir} is not a local or mounted path; a TPU sweep trains in the VM's "
            "runs/<trial> and copies it to gs:// when the trial ends (experiments/sweep.py)"
        )
    replicas, per_call = num_replicas(config), int(config.get("steps_per_call", 1))
    mesh = parallel.make_mesh() if config.get("data_parallel", False) else None
    if mesh is not None and replicas > 1:
        raise ValueError("config.num_replicas > 1 and config.data_parallel cannot be combined")
    if mesh is None and jax.process_count() > 1:
        raise ValueError(
            f"{jax.process_count()} processes (--distributed) train one model together only with "
            "config.data_parallel=True; alone, each would train its own copy into the same workdir"
        )
    first = 0
    if reads_own_rows(config, mesh):  # this host reads only the rows of its own devices
        num_train = data.train_size(config.data)
        first, end = parallel.process_rows(num_train, mesh)
        splits = data.load_dataset(config.data, rows=(first, end))
    else:
        splits = data.load_dataset(config.data)
        num_train = len(splits["train"][0])
    x_train, y_train = splits["train"]
    classes = models.num_classes(config.model)
    check_labels(y_train, classes)
    # the step's data: the images, with their labels for a conditional model
    dataset = (x_train, np.asarray(y_train, np.int32)) if classes else x_train
    if x_train.shape[1] != config.model.data_dim:
        raise ValueError(f"data has {x_train.shape[1]} dims, config.model.data_dim={config.model.data_dim}")
    pixel_range, output_range = data.pixel_range(config.data), models.output_range(config.model)
    if None not in (pixel_range, output_range) and pixel_range != output_range:
        raise ValueError(
            f"G's output range {output_range} does not match the data's {pixel_range}: "
            "set config.model.output (sigmoid for [0, 1], tanh for [-1, 1])"
        )
    setup = make_setup(config, num_train)
    train_step = make_train_step(config, setup, num_train, mesh, xla_options(config))
    sampler = steps.make_sampler(setup)
    mean = models.init_mean_pixel(config.model, x_train)  # (the whole set's where read: reads_own_rows)
    state = create_state(config, setup, mean, num_train, jit=True)
    if mesh is None:
        train_data = jax.device_put(dataset)
    else:  # the restore target then carries the mesh sharding too; each device holds its rows of the data
        state = parallel.put_replicated(state, mesh)
        train_data = parallel.put_rows(dataset, mesh, num_train, first)
    main = parallel.is_main_process()  # with several hosts, host 0 alone writes outputs and logs

    workdir = os.path.abspath(workdir)
    dirs = replica_dirs(workdir, replicas)
    for d in dirs:
        os.makedirs(os.path.join(d, "samples"), exist_ok=True)
    mngr = checkpoint_manager(
        os.path.join(workdir, "checkpoints"), max_to_keep=config.keep_checkpoints, create=True
    )
    freeze = on_nonfinite(config) == "freeze" and replicas > 1
    try:  # the manager's threads must be closed on every way out, or exit prints their tracebacks
        state = _restore(mngr, state, workdir, config.model.get("d_pieces"))
        _check_finite(state, mngr, freeze)
    except BaseException:
        mngr.close()
        raise
    start, total = int(np.max(state.step)), int(config.num_steps)
    if start >= total:
        mngr.close()
        print(f"workdir {workdir} is already at step {start} >= num_steps={total}; nothing to do")
        return state
    if main:
        path, text = os.path.join(workdir, "config.json"), config.to_json_best_effort(indent=2)
        if start > 0 and os.path.exists(path):  # a resume: say what changed (the file keeps the new)
            with open(path) as f:
                changes = config_changes(json.load(f), json.loads(text))
            if changes:
                print(f"resuming at step {start} with config changes: {'; '.join(changes)}")
        with open(path, "w") as f:
            f.write(text)
        for d in dirs:
            metric_writers.truncate_jsonl(os.path.join(d, "metrics.jsonl"), start)
    writers = [metric_writers.MetricWriter(d) for d in dirs] if main else []
    shape = models.image_shape(config.model)
    fixed_z = [
        grid_noise(jax.random.fold_in(view.rng, SAMPLE_STREAM), classes, config.model.z_dim)
        if shape
        else models.sample_noise(jax.random.fold_in(view.rng, SAMPLE_STREAM), 1000, config.model.z_dim)
        for view in replica_views(state, replicas)
    ]
    fixed_labels = grid_labels(classes, GRID, GRID)
    critic = jax.jit(lambda d_variables, x: setup.discriminator.apply(d_variables, x, train=False))

    def write_samples(step, r, view):
        x = np.asarray(sampler(host(steps.sampling_variables(view)), fixed_z[r], fixed_labels))
        path = os.path.join(dirs[r], "samples", f"step_{step:07d}.png")
        if shape:  # a 10x10 grid, pixels mapped from the data's range to [0, 1]
            low, high = pixel_range or (0.0, 1.0)
            grid = images.grid((x - low) / (high - low), GRID, GRID, shape[0], channels=shape[2])
            images.save_png(path, grid)
            writers[r].image(step, "samples", grid, dataformats="HW" if shape[2] == 1 else "HWC")
            return
        from gan_jax import figures  # matplotlib (~0.7 s to import): only the toy runs draw plots

        if x.shape[1] == 2:
            figures.scatter_2d(path, x, data.toy_centres(config.data), f"step {step}")
        else:
            lo, hi = np.percentile(x_train, [0.1, 99.9]) + np.array([-1.0, 1.0]) * x_train.std()
            x_grid = np.linspace(lo, hi, 400, dtype=np.float32)
            d_values = jax.nn.sigmoid(critic(host(steps.d_eval_variables(view)), x_grid[:, None]))
            p_data = data.toy_density(config.data, x_grid)
            figures.density_1d(path, x_grid, p_data, x[:, 0], d_values, title=f"step {step}")
        writers[r].image(step, "samples", images.read_png(path), dataformats="HWC")

    probability = games.get_game(config.game).probability

    def d_outputs(scalars):  # D's probabilities where it has them, else its raw mean outputs
        if probability:
            return f"D(x) {scalars['d_real']:.3f} D(G(z)) {scalars['d_fake']:.3f}"
        return f"D out: real {scalars['d_real_score']:.4g} fake {scalars['d_fake_score']:.4g}"

    caught = []
    handlers = {
        s: signal.signal(s, lambda signum, _: caught.append(signum)) for s in (signal.SIGTERM, signal.SIGINT)
    }

    def restore_handlers():
        for s, h in handlers.items():
            signal.signal(s, h)

    epoch_batches = num_train // config.batch_size

    def host(tree):  # a host copy: samples and evaluations then run on host 0 alone
        return tree if mesh is None else jax.tree.map(np.asarray, tree)

    say = print if main else lambda *args, **kwargs: None
    grid = "".join(f"; {k} {v}" for k, v in replica_hparams(config).items())
    say(
        f"training {config.game}/{config.update_scheme} from step {start} to {total} in {workdir}"
        + (
            f" ({replicas} replicas, seeds {config.seed}..{config.seed + replicas - 1}{grid})"
            if replicas > 1
            else ""
        )
    )
    try:
        if start == 0 and main:
            for r, view in enumerate(replica_views(state, replicas)):
                writers[r].text(0, "config", "```\n" + str(config) + "\n```")
                write_samples(0, r, view)
        window_start, window_steps = time.perf_counter(), 0
        step = start
        frozen: set[int] = set()  # replicas frozen by config.on_nonfinite='freeze', announced once
        while step < total:
            n = min(per_call, next_stop(step, config, total) - step)
            state, metrics = train_step(state, train_data, n)
            step += n
            window_steps += n
            last = step == total
            stopping = parallel.any_process(bool(caught))  # (on every host, if any caught it)
            saved = stopping
            if stopping:  # SIGTERM/SIGINT during the chunk: the checkpoint first, then this step's outputs
                _save(mngr, state, step, freeze=freeze)
                restore_handlers()  # a second signal now stops at once: nothing is left unsaved
            views = replica_views(state, replicas)
            live = announce_frozen(state, frozen) if freeze else range(replicas)  # (chunks end at a cadence)
            if step % config.log_every == 0 or last:
                _check_finite(state, mngr, freeze)
                rate = window_steps / (time.perf_counter() - window_start)
                all_metrics = jax.device_get(metrics)
                for r, view in enumerate(views if main else []):
                    if r not in live:
                        continue
                    scalars = jax.tree.map(lambda m, r=r: m if replicas == 1 else m[r], all_metrics)
                    scalars |= {"steps_per_sec": rate, "epoch": int(view.data_index) / epoch_batches}
                    writers[r].scalars(step, scalars)
                    eta = (total - step) / rate
                    print(
                        (f"[replica {r}] " if replicas > 1 else "")
                        + f"step {step}/{total} d_loss {scalars['d_loss']:.4f} "
                        f"g_loss {scalars['g_loss']:.4f} {d_outputs(scalars)} "
                        f"{rate:.1f} steps/s ETA {time.strftime('%H:%M:%S', time.gmtime(eta))}",
                        flush=True,
                    )
                window_start, window_steps = time.perf_counter(), 0
            if main and (step % config.sample_every == 0 or last):
                for r in live:
                    write_samples(step, r, views[r])
            if (step % config.ckpt_every == 0 or last) and not saved:
                _save(mngr, state, step, wait=False, freeze=freeze)
                saved = True
            if main and config.eval_every and (step % config.eval_every == 0 or last):
                for r in live:
                    view = views[r]
                    results = evaluate.scalars(evaluate.evaluate_generator(setup, host(view), splits, config))
                    writers[r].scalars(step, results)
                    print(
                        (f"[replica {r}] " if replicas > 1 else "")
                        + f"step {step} eval: "
                        + ", ".join(f"{k} {v:.4g}" for k, v in results.items())
                    )
                window_start, window_steps = time.perf_counter(), 0
            if not last and (stopping or parallel.any_process(bool(caught))):
                if not saved:  # a signal during this step's outputs: its checkpoint now
                    _save(mngr, state, step, wait=False, freeze=freeze)
                mngr.wait_until_finished()
                raise Interrupted(caught[0] if caught else signal.SIGTERM, step)  # (or another host's)
        mngr.wait_until_finished()
    finally:
        restore_handlers()
        for writer in writers:
            writer.close()
        mngr.close()
    return state
