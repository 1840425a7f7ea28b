"""Figures made by the code: toy-problem sample plots (the paper's Figure 1 style in 1-D, scatter
over the mode centres in 2-D) and training curves from ``metrics.jsonl``."""

import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save(fig, path: str, dpi: int = 100) -> None:
    """Lays out, writes (creating the folder) and closes a figure."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def figure1_panel(ax, x_grid, p_data, g_samples, d_values, z=None, gz=None, title=""):
    """One panel in the paper's Figure 1 style: p_data dotted black, p_g solid green (a histogram
    density of G(z)), D(x) dashed blue, and below, the z-line with arrows z -> x = G(z)."""
    lo, hi = float(x_grid[0]), float(x_grid[-1])
    hist, edges = np.histogram(np.clip(g_samples, lo, hi), bins=80, range=(lo, hi), density=True)
    top = max(float(np.max(p_data)), float(np.max(hist)), 1.0) * 1.05
    ax.plot(x_grid, p_data, "k:", lw=2, label="p_data")
    ax.plot(0.5 * (edges[1:] + edges[:-1]), hist, "g-", lw=1.5, label="p_g")
    if d_values is not None:  # (None: a game without D, GMMN)
        ax.plot(x_grid, np.asarray(d_values) * top, "b--", lw=1.5, label="D(x) (axis top = 1)")
        ax.axhline(0.5 * top, color="0.6", lw=0.6)  # D = 1/2
    if z is not None and gz is not None:
        base = -0.35 * top
        z_pos = lo + (np.asarray(z) - np.min(z)) / max(np.ptp(z), 1e-12) * (hi - lo)
        ax.axhline(base, color="k", lw=0.8)
        for zs, xs in zip(z_pos, np.asarray(gz), strict=True):
            ax.annotate("", xy=(xs, -0.05 * top), xytext=(zs, base), arrowprops=dict(arrowstyle="->", lw=0.5))
        ax.text(lo, base - 0.08 * top, "z", fontsize=9)
        ax.set_ylim(base - 0.12 * top, top)
    ax.set_xlim(lo, hi)
    ax.set_title(title, fontsize=9)
    ax.set_yticks([])


def density_1d(path, x_grid, p_data, g_samples, d_values, z=None, gz=None, title=""):
    fig, ax = plt.subplots(figsize=(5, 3.2))
    figure1_panel(ax, x_grid, p_data, g_samples, d_values, z, gz, title)
    ax.legend(fontsize=7, loc="upper right")
    save(fig, path)


def scatter_2d(path, samples, centres=None, title=""):
    """Generated samples (dots) over the mixture's mode centres (red crosses)."""
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.5)
    if centres is not None:
        ax.scatter(centres[:, 0], centres[:, 1], c="r", marker="x", s=30)
        pad = 0.25 * max(float(np.ptp(centres)), 1.0)
        ax.set_xlim(centres[:, 0].min() - pad, centres[:, 0].max() + pad)
        ax.set_ylim(centres[:, 1].min() - pad, centres[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    save(fig, path)


def training_curves(path, metrics_path, keys=("d_loss", "g_loss", "d_real", "d_fake")):
    """One panel per metric over steps, from a run's ``metrics.jsonl`` (rows lacking a key skipped)."""
    with open(metrics_path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    keys = [k for k in keys if any(k in r for r in rows)]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.8), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        pts = [(r["step"], r[key]) for r in rows if key in r]
        ax.plot(*zip(*pts, strict=True))
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
    save(fig, path)


def nearest_neighbour_grid(samples, train_x, rows: int, cols: int) -> np.ndarray:
    """The paper's Figure 2 layout: ``rows`` x ``cols`` fair samples, plus a rightmost column holding
    the training image nearest (Euclidean, pixel space) to each row's last sample. uint8 [H, W]."""
    from gan_jax.training import images

    samples = np.asarray(samples, np.float32)[: rows * cols].reshape(rows, cols, -1)
    last = samples[:, -1]
    train_x = np.asarray(train_x, np.float32)
    d2 = (last**2).sum(1)[:, None] - 2.0 * last @ train_x.T + (train_x**2).sum(1)[None, :]
    nearest = train_x[np.argmin(d2, axis=1)]
    tiles = np.concatenate([samples, nearest[:, None]], axis=1)
    image = images.grid(tiles.reshape(rows * (cols + 1), -1), rows, cols + 1)
    cell = 29  # side 28 + pad 1: mark the nearest-neighbour column with a grey rule
    image[:, cols * cell] = 128
    return image


def interpolation_z(key_a, key_b, steps: int) -> np.ndarray:
    """[steps, dim]: the straight line from z_a to z_b (the paper's Figure 3)."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return (1.0 - t) * np.asarray(key_a)[None] + t * np.asarray(key_b)[None]
