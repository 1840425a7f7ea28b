"""What a run writes beside its checkpoints: ``config.json``, ``metrics.jsonl`` and TensorBoard events,
sample grids ``samples/step_XXXXXXX.png`` (a fixed z), and the console lines. With R > 1 replicas each
writes into ``workdir/replica_<r>``; with several hosts only host 0 writes.
"""

import json
import os
import time

import jax
import numpy as np

from gan_jax.data import datasets
from gan_jax.game import games, replicas, steps
from gan_jax.game.state import SAMPLE_STREAM
from gan_jax.networks import latent, models
from gan_jax.training import collapse, images, metric_writers, workdir

GRID = 10


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


def grid_labels(num_classes: int, rows: int = GRID, cols: int = GRID) -> np.ndarray | None:
    """Labels of a class-by-row sample grid: row r shows class r % K (None when unconditional)."""
    if not num_classes:
        return None
    return np.repeat(np.arange(rows) % num_classes, cols).astype(np.int32)


def grid_noise(key, model_config, rows: int = GRID, cols: int = GRID):
    """The grid's fixed z: rows*cols draws; conditional, one z per column shared by every row (each
    column then shows one "style" across the classes)."""
    m = model_config
    if not models.num_classes(m):
        return latent.sample_noise(key, rows * cols, m.z_dim, **latent.noise_kwargs(m))
    return jax.numpy.tile(latent.sample_noise(key, cols, m.z_dim, **latent.noise_kwargs(m)), (rows, 1))


class Outputs:
    """The run's files and console lines (``main``: this host writes; the others only keep step)."""

    def __init__(self, config, path: str, setup, state, x_train, num_train: int, mesh=None):
        self.config, self.x_train, self.num_train = config, x_train, num_train
        self.main = jax.process_index() == 0
        # with a mesh, samples are drawn from host copies, on host 0 alone
        self.host = (lambda tree: tree) if mesh is None else (lambda tree: jax.tree.map(np.asarray, tree))
        self.count = replicas.num_replicas(config)
        self.dirs = replicas.dirs(path, self.count)
        self.writers = []
        self.sampler = steps.make_sampler(setup)
        self.critic = jax.jit(lambda variables, x: setup.discriminator.apply(variables, x, train=False))
        m, classes = config.model, models.num_classes(config.model)
        image = models.image_shape(m) is not None
        self.fixed_z = [
            grid_noise(key, m) if image else latent.sample_noise(key, 1000, m.z_dim, **latent.noise_kwargs(m))
            for key in (jax.random.fold_in(v.rng, SAMPLE_STREAM) for v in replicas.views(state, self.count))
        ]
        self.fixed_labels = grid_labels(classes)
        self.window = (time.perf_counter(), 0)
        self.monitor, self.data_spread = collapse.Monitor(config), collapse.data_spread(x_train)

    def open(self, path: str, start: int) -> None:
        """config.json (on a resume, says which fields changed), metrics rows past ``start`` dropped
        (a resumed run rewrites them), the writers opened."""
        if not self.main:
            return
        for d in self.dirs:
            with workdir.writing(d):
                os.makedirs(os.path.join(d, "samples"), exist_ok=True)
        config_path, text = os.path.join(path, "config.json"), self.config.to_json_best_effort(indent=2)
        if start > 0 and os.path.exists(config_path):
            with open(config_path) as f:
                changes = config_changes(json.load(f), json.loads(text))
            if changes:
                print(f"resuming at step {start} with config changes: {'; '.join(changes)}")
        with workdir.writing(config_path), open(config_path, "w") as f:
            f.write(text)
        for d in self.dirs:
            with workdir.writing(d):
                metric_writers.truncate_jsonl(os.path.join(d, "metrics.jsonl"), start)
                self.writers.append(metric_writers.MetricWriter(d))

    def close(self) -> None:
        for writer in self.writers:
            writer.close()

    def say(self, text: str) -> None:
        if self.main:
            print(text, flush=True)

    def started(self, state) -> None:
        """Step 0: the config as TensorBoard text and the initial samples."""
        for r, view in enumerate(replicas.views(state, self.count) if self.main else []):
            self.writers[r].text(0, "config", "```\n" + str(self.config) + "\n```")
            self.samples(0, r, view)

    def samples(self, step: int, r: int, view) -> None:
        """Replica ``r``'s samples of its fixed z: a 10x10 image grid, or a scatter / density plot."""
        if not self.main:
            return
        x = self.fixed_samples(r, view)
        path = os.path.join(self.dirs[r], "samples", f"step_{step:07d}.png")
        shape = models.image_shape(self.config.model)
        with workdir.writing(path):
            if shape:
                pixels = datasets.pixel_range(self.config.data) or (0.0, 1.0)
                grid = images.sample_grid(x, shape, pixels, GRID, GRID)
                images.save_png(path, grid)
                self.writers[r].image(step, "samples", grid, dataformats="HW" if shape[2] == 1 else "HWC")
                return
            self._plot(path, step, x, view)
        self.writers[r].image(step, "samples", images.read_png(path), dataformats="HWC")

    def _plot(self, path: str, step: int, x: np.ndarray, view) -> None:
        from gan_jax.training import figures  # matplotlib: only the toy runs draw plots

        if x.shape[1] == 2:
            figures.scatter_2d(path, x, datasets.toy_centres(self.config.data), f"step {step}")
            return
        lo, hi = np.percentile(self.x_train, [0.1, 99.9]) + np.array([-1.0, 1.0]) * self.x_train.std()
        x_grid = np.linspace(lo, hi, 400, dtype=np.float32)
        packed = np.repeat(x_grid[:, None], self.config.pack, axis=1)  # (pack > 1: m copies of x)
        d_values = None  # (a game without D draws no D curve)
        if view.d_params is not None:
            d_values = jax.nn.sigmoid(self.critic(self.host(steps.d_eval_variables(view)), packed))
        p_data = datasets.toy_density(self.config.data, x_grid)
        figures.density_1d(path, x_grid, p_data, x[:, 0], d_values, title=f"step {step}")

    def metrics(self, step: int, total: int, metrics, state, live, views) -> None:
        """The step's metrics of each live replica (``views``: each replica's state, as
        ``replicas.views`` gives them): a metrics.jsonl row, TensorBoard, a console line."""
        start, count = self.window
        rate = count / (time.perf_counter() - start)
        values = jax.device_get(metrics)
        epoch_batches = self.num_train // (self.config.batch_size * self.config.pack)
        for r in live if self.main else []:
            scalars = jax.tree.map(lambda m, r=r: m if self.count == 1 else m[r], values)
            data_index = np.asarray(state.data_index)
            scalars |= {"steps_per_sec": rate, "epoch": int(data_index) / epoch_batches}
            scalars["sample_diversity"] = self.diversity(r, views[r])
            with workdir.writing(self.dirs[r]):
                self.writers[r].scalars(step, scalars)
            eta = time.strftime("%H:%M:%S", time.gmtime((total - step) / rate))
            losses = " ".join(f"{k} {scalars[k]:.4f}" for k in ("d_loss", "g_loss") if k in scalars)
            d_outputs = f"{self._d_outputs(scalars)} " if "d_real" in scalars else ""  # (none without D)
            print(
                self._prefix(r) + f"step {step}/{total} {losses} {d_outputs}{rate:.1f} steps/s ETA {eta}",
                flush=True,
            )
            warning = self.monitor.check(step, r, scalars, self._prefix(r))
            if warning:
                print(warning, flush=True)
        self.reset_window()

    def fixed_samples(self, r: int, view) -> np.ndarray:
        """Replica ``r``'s G (eval mode, its EMA if kept) on its fixed z: the grids' and the spread's."""
        variables = self.host(steps.sampling_variables(view))
        return np.asarray(self.sampler(variables, self.fixed_z[r], self.fixed_labels))

    def diversity(self, r: int, view) -> float:
        """``collapse.diversity`` of replica ``r``'s samples of its fixed z."""
        return collapse.diversity(self.fixed_samples(r, view), self.data_spread)

    def evaluation(self, step: int, r: int, results: dict) -> None:
        with workdir.writing(self.dirs[r]):
            self.writers[r].scalars(step, results)
        print(self._prefix(r) + f"step {step} eval: " + ", ".join(f"{k} {v:.4g}" for k, v in results.items()))

    def stepped(self, n: int) -> None:
        self.window = (self.window[0], self.window[1] + n)

    def reset_window(self) -> None:
        self.window = (time.perf_counter(), 0)

    def _prefix(self, r: int) -> str:
        return f"[replica {r}] " if self.count > 1 else ""

    def _d_outputs(self, scalars) -> str:
        """D's probabilities where the game has them, else its raw mean outputs."""
        if games.get_game(self.config.game).probability:
            return f"D(x) {scalars['d_real']:.3f} D(G(z)) {scalars['d_fake']:.3f}"
        return f"D out: real {scalars['d_real_score']:.4g} fake {scalars['d_fake_score']:.4g}"
