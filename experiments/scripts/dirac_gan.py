r"""The Dirac-GAN of Mescheder, Geiger & Nowozin 2018 (ICML, Sec. 2.2) for every game of gan_jax.game.games
and every regulariser of gan_jax.analysis.dirac, under four update schemes, from (theta, psi) = (1, 1).

Writes to --out:
  eigenvalues.json  {"<game>/<regulariser>": {"weight": w, "eigenvalues": [[real, imag], ...]}}: the
                    Jacobian of the gradient field at the equilibrium (0, 0) (weights: dirac.DEFAULT_WEIGHTS;
                    gamma for r1, r2, gp, consensus, c for clip, sigma for instance_noise, 0 for none).
  convergence.json  {"settings": {...}, "runs": {"<game>/<regulariser>/<scheme>": {"converged": bool,
                    "final_distance": float or null (non-finite)}}}: converged = the distance of the last
                    iterate to (0, 0) is below --tolerance.
  <game>.png        per game, one panel per regulariser: the field (streamlines) and each scheme's path.

Run (about 2 minutes on the shared 2 CPU cores):
  python experiments/scripts/dirac_gan.py --out=experiments/results/dirac_gan
"""

import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from gan_jax.analysis import dirac
from gan_jax.game import games  # noqa: E402
from gan_jax.training import figures

_OUT = flags.DEFINE_string("out", "experiments/results/dirac_gan", "Folder for the JSON files and figures.")
_GAMES = flags.DEFINE_list("games", list(games.GAMES), "Games (gan_jax.game.games names).")
_REGULARISERS = flags.DEFINE_list(
    "regularisers", list(dirac.REGULARISERS), "Regularisers (dirac.REGULARISERS)."
)
_STEPS = flags.DEFINE_integer("num_steps", 2000, "Update steps per trajectory.")
_LR = flags.DEFINE_float("learning_rate", 0.2, "Step size h (the authors' Dirac-GAN notebook uses 0.2).")
_TOLERANCE = flags.DEFINE_float("tolerance", 1e-3, "Converged: final distance to (0, 0) below this.")
_START = flags.DEFINE_list("start", ["1.0", "1.0"], "Initial (theta, psi).")

STYLES = {  # colour, line style
    "simultaneous": ("tab:red", "-"),
    "alternating": ("tab:blue", "-"),
    "extragradient": ("tab:green", "--"),
    "optimistic": ("tab:purple", ":"),
}
WEIGHT_NAMES = {"clip": "c", "instance_noise": "sigma"}
LIMIT = 2.0  # the plotted square [-LIMIT, LIMIT]^2


def eigenvalue_table(game_names, regs) -> dict:
    """{"<game>/<reg>": {"weight": w, "eigenvalues": [[re, im], ...]}} at the equilibrium."""
    table = {}
    for game in game_names:
        for reg in regs:
            weight = dirac.DEFAULT_WEIGHTS[reg]
            values = dirac.eigenvalues(dirac.jacobian(game, reg, weight))
            table[f"{game}/{reg}"] = {"weight": weight, "eigenvalues": [[v.real, v.imag] for v in values]}
    return table


def run_trajectories(game, reg, z0) -> dict:
    """scheme -> iterates [num_steps + 1, 2] (numpy)."""
    weight = dirac.DEFAULT_WEIGHTS[reg]
    return {
        scheme: np.asarray(dirac.simulate(game, reg, weight, scheme, z0, _LR.value, _STEPS.value))
        for scheme in dirac.SCHEMES
    }


def convergence_row(path: np.ndarray) -> dict:
    distance = float(np.linalg.norm(path[-1]))
    finite = bool(np.isfinite(distance))
    return {
        "converged": finite and distance < _TOLERANCE.value,
        "final_distance": distance if finite else None,
    }


def plot_panel(ax, game, reg, paths) -> None:
    """Streamlines of v on [-LIMIT, LIMIT]^2, each scheme's path, the start (o) and the equilibrium (*)."""
    weight = dirac.DEFAULT_WEIGHTS[reg]
    grid = np.linspace(-LIMIT, LIMIT, 25, dtype=np.float32)
    theta, psi = np.meshgrid(grid, grid)
    points = jnp.stack([theta.ravel(), psi.ravel()], axis=1)
    v = np.asarray(jax.jit(jax.vmap(lambda z: dirac.field(game, reg, weight, z)))(points))
    ax.streamplot(
        grid,
        grid,
        v[:, 0].reshape(theta.shape),
        v[:, 1].reshape(theta.shape),
        color="0.75",
        density=0.8,
        linewidth=0.6,
        arrowsize=0.7,
    )
    for scheme, path in paths.items():
        colour, style = STYLES[scheme]
        ax.plot(path[:, 0], path[:, 1], color=colour, ls=style, lw=1.0, label=scheme)
    start = next(iter(paths.values()))[0]
    ax.plot(*start, "ko", ms=4)
    ax.plot(0.0, 0.0, "k*", ms=9)
    ax.set_xlim(-LIMIT, LIMIT)
    ax.set_ylim(-LIMIT, LIMIT)
    ax.set_aspect("equal")
    ax.set_title(
        f"{reg} ({WEIGHT_NAMES.get(reg, 'gamma')} = {weight:g})" if reg != "none" else "none", fontsize=9
    )
    ax.set_xlabel("theta (G)", fontsize=8)
    ax.set_ylabel("psi (D)", fontsize=8)


def plot_game(path: str, game: str, all_paths: dict) -> None:
    """One figure per game: a panel per regulariser, and the legend in a panel of its own."""
    cols = 4
    rows = -(-(len(all_paths) + 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 3.3 * rows), squeeze=False)
    for ax, (reg, paths) in zip(axes.flat, all_paths.items(), strict=False):
        plot_panel(ax, game, reg, paths)
    legend_ax = axes.flat[len(all_paths)]
    legend_ax.legend(
        *axes.flat[0].get_legend_handles_labels(),
        loc="center",
        fontsize=9,
        title=f"h = {_LR.value:g}, {_STEPS.value} steps",
    )
    for ax in axes.flat[len(all_paths) :]:
        ax.axis("off")
    fig.suptitle(f"Dirac-GAN, game '{game}' (gan_jax.game.games)", fontsize=11)
    figures.save(fig, path)


def write_json(path: str, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def main(argv):
    del argv
    unknown = set(_GAMES.value) - set(games.GAMES) | set(_REGULARISERS.value) - set(dirac.REGULARISERS)
    if unknown:
        raise app.UsageError(f"unknown game or regulariser: {', '.join(sorted(unknown))}")
    os.makedirs(_OUT.value, exist_ok=True)
    write_json(
        os.path.join(_OUT.value, "eigenvalues.json"), eigenvalue_table(_GAMES.value, _REGULARISERS.value)
    )
    z0 = jnp.asarray([float(s) for s in _START.value], jnp.float32)
    runs = {}
    for game in _GAMES.value:
        all_paths = {reg: run_trajectories(game, reg, z0) for reg in _REGULARISERS.value}
        for reg, paths in all_paths.items():
            for scheme, path in paths.items():
                runs[f"{game}/{reg}/{scheme}"] = convergence_row(path)
        plot_game(os.path.join(_OUT.value, f"{game}.png"), game, all_paths)
        converged = [key for key, row in runs.items() if key.startswith(f"{game}/") and row["converged"]]
        print(f"{game}: converged {', '.join(k.split('/', 1)[1] for k in converged) or 'nowhere'}")
    settings = {
        "learning_rate": _LR.value,
        "num_steps": _STEPS.value,
        "tolerance": _TOLERANCE.value,
        "start": [float(s) for s in _START.value],
        "dtype": "float32",
        "weights": {reg: dirac.DEFAULT_WEIGHTS[reg] for reg in _REGULARISERS.value},
    }
    write_json(os.path.join(_OUT.value, "convergence.json"), {"settings": settings, "runs": runs})


if __name__ == "__main__":
    app.run(main)
