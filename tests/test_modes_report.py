"""experiments/reports/modes_report.py: rows named from their configs, mean +- s.e. over seeds of the
last eval rows against hand-computed values, curves over the steps every seed has, the script end to end."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import experiments.reports.modes_report as modes_report
from experiments.configs import pacgan_ring, stacked_mnist
from gan_jax.game import replicas
from gan_jax.training import images

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_trial(path, config, histories, histogram=None, sample_steps=None):
    """A trial directory as training writes it (``replicas.dirs``: the workdir for one seed,
    replica_<r>/ for several): config.json, each seed's metrics.jsonl (loss rows between the eval
    rows), a samples/ PNG and, optionally, seed 0's eval.json with a mode histogram."""
    os.makedirs(path)
    config.num_replicas = len(histories)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config.to_dict(), f)
    for r, (seed_dir, rows) in enumerate(zip(replicas.dirs(path, len(histories)), histories, strict=True)):
        os.makedirs(os.path.join(seed_dir, "samples"))
        with open(os.path.join(seed_dir, "metrics.jsonl"), "w") as f:
            for row in rows:
                f.write(json.dumps({"step": row["step"], "d_loss": 1.3}) + "\n")
                f.write(json.dumps(row) + "\n")
        for step in (0, rows[-1]["step"]) if sample_steps is None else sample_steps:
            with open(os.path.join(seed_dir, "samples", f"step_{step:07d}.png"), "wb") as f:
                f.write(f"png {r} {step}".encode())
    if histogram is not None:
        with open(os.path.join(replicas.dirs(path, len(histories))[0], "eval.json"), "w") as f:
            json.dump({"mode_histogram": histogram}, f)


def toy_rows(steps, modes, hq, kl):
    return [
        {"step": s, "modes_covered": m, "num_modes": 8.0, "high_quality": h, "reverse_kl": k}
        for s, m, h, k in zip(steps, modes, hq, kl, strict=True)
    ]


def ring_config(**changes):
    """PacGAN's ring config with ``changes`` ('data.radius' style keys)."""
    c = pacgan_ring.get_config()
    c.update_from_flattened_dict(changes)
    return c


@pytest.fixture(scope="module")
def toys_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("toys"))
    # seed r's last eval row at step 400 (seed 2's stopped at 300); earlier rows must not count
    write_trial(
        os.path.join(root, "pack=1"),
        ring_config(),
        [
            toy_rows([200, 400], [8, 7], [50.0, 90.0], [0.5, 0.30]),
            toy_rows([200, 400], [5, 6], [60.0, 80.0], [0.4, 0.20]),
            toy_rows([200, 300], [8, 8], [70.0, 97.0], [0.3, 0.10]),
        ],
    )
    write_trial(
        os.path.join(root, "pack=2"),
        ring_config(pack=2),
        [
            toy_rows([200, 400], [8, 8], [40.0, 60.0], [0.2, 0.1]),
            toy_rows([200, 400], [8, 8], [20.0, 80.0], [0.4, 0.3]),
        ],
    )
    write_trial(
        os.path.join(root, "unrolled"),
        ring_config(unroll_steps=5, update_scheme="alternating", **{"data.radius": 2.0, "data.std": 0.02}),
        [toy_rows([400], [3], [10.0], [1.0])],
        sample_steps=(0, 200),  # none drawn at its last eval step
    )
    return root


def hand_mean_se(values):
    n = len(values)
    mean = sum(values) / n
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


def test_labels_name_the_remedies():
    assert modes_report.row_label(ring_config().to_dict()) == "GAN"
    assert modes_report.row_label(ring_config(pack=3).to_dict()) == "PacGAN3"
    unrolled = ring_config(unroll_steps=5, update_scheme="alternating").to_dict()
    assert modes_report.row_label(unrolled) == "GAN + unrolled 5 (alternating)"
    earlier = ring_config(update_scheme="alternating").to_dict()
    del earlier["model"]["init_std"]  # a run from before the field started from flax's LeCun normal
    assert modes_report.row_label(earlier) == "GAN (alternating, LeCun init)"
    del earlier["model"]["noise"]  # a run from before the field drew U(-sqrt 3, sqrt 3), not PacGAN's N(0, I)
    assert modes_report.row_label(earlier) == "GAN (alternating, LeCun init, uniform z)"
    assert modes_report.row_label(ring_config(**{"model.init_std": 0.1}).to_dict()) == "GAN (init N(0, 0.1²))"
    minibatch_std = ring_config(**{"model.d_minibatch_std": True}).to_dict()
    assert modes_report.row_label(minibatch_std) == "GAN + minibatch std"
    c = stacked_mnist.get_config()
    c.game, c.reg.r1_gamma, c.reg.r2_gamma, c.model.d_norm = "relativistic_pairing", 1.0, 1.0, "none"
    assert modes_report.row_label(c.to_dict()) == "RpGAN + R1 γ=1 + R2 γ=1"
    c.game, c.reg.r1_gamma, c.reg.r2_gamma = "nonsaturating", 0.0, 0.0
    assert modes_report.row_label(c.to_dict()) == "GAN + D unnormalised"


def test_summary_is_the_mean_and_standard_error_of_the_last_rows(toys_root):
    trials = modes_report.load_root(toys_root, modes_report.TOY_METRICS)
    assert [t["label"] for t in trials] == ["GAN", "PacGAN2", "GAN + unrolled 5 (alternating)"]
    s = modes_report.final_summary(trials[0], modes_report.TOY_METRICS)
    for metric, last in [("modes_covered", [7, 6, 8]), ("high_quality", [90.0, 80.0, 97.0])]:
        assert s[metric] == pytest.approx(hand_mean_se(last), rel=1e-12)
    assert (s["seeds"], s["step"], s["uneven"]) == (3, 300, True)
    one = modes_report.final_summary(trials[2], modes_report.TOY_METRICS)
    assert one["modes_covered"] == (3.0, 0.0) and not one["uneven"]


def test_max_step_compares_rows_at_one_step(toys_root):
    trials = modes_report.load_root(toys_root, modes_report.TOY_METRICS, max_step=200)
    assert [t["label"] for t in trials] == ["GAN", "PacGAN2"]  # the unrolled row has no eval by 200
    s = modes_report.final_summary(trials[0], modes_report.TOY_METRICS)
    assert s["modes_covered"] == pytest.approx(hand_mean_se([8, 5, 8]), rel=1e-12)
    assert (s["seeds"], s["step"], s["uneven"]) == (3, 200, False)


def test_toy_table_puts_rows_by_dataset_beside_pacgan(toys_root):
    table = modes_report.toy_table(modes_report.load_root(toys_root, modes_report.TOY_METRICS))
    hq = hand_mean_se([90.0, 80.0, 97.0])
    assert (
        f"| gan_jax GAN | 3 | 300 (uneven) | 7.00 ± 0.58 | {hq[0]:.1f} ± {hq[1]:.1f} | 0.20 ± 0.06 |" in table
    )
    assert "| gan_jax PacGAN2 | 2 | 400 | 8.00 | 70.0 ± 10.0 | 0.20 ± 0.10 |" in table
    assert "| PacGAN Table 1: PacGAN4 | 10 | 400,000 | 7.8 ± 0.1 | 95.9 ± 1.4 | 0.07 ± 0.02 |" in table
    ring, other = table.split("### ring (radius 2, std 0.02)")
    assert "PacGAN Table 1" in ring and "PacGAN Table 1" not in other and "unrolled 5" in other


def test_curve_averages_the_steps_every_seed_reached(toys_root):
    trial = modes_report.load_root(toys_root, modes_report.TOY_METRICS)[0]
    steps, hq = modes_report.curve(trial, "high_quality")
    np.testing.assert_array_equal(steps, [200])  # seed 2 has no row at 400
    np.testing.assert_allclose(hq, [60.0])


def test_an_undefined_reverse_kl_is_left_out_of_curves_and_dashed_in_tables():
    """A seed with no high-quality sample has no mode histogram, so no reverse KL (null in
    metrics.jsonl): the curve skips that step, and a row whose last eval has one shows '-'."""
    config = ring_config().to_dict()
    trial = {"config": config, "label": "GAN", "histories": [
        toy_rows([100, 200], [0, 8], [0.0, 50.0], [None, 0.3]),
        toy_rows([100, 200], [8, 0], [30.0, 0.0], [0.2, None]),
    ]}  # fmt: skip
    steps, hq = modes_report.curve(trial, "high_quality")
    np.testing.assert_array_equal(steps, [100, 200])
    np.testing.assert_allclose(hq, [15.0, 25.0])
    assert modes_report.curve(trial, "reverse_kl")[0].size == 0  # no step where both seeds have one
    assert modes_report.final_summary(trial, modes_report.TOY_METRICS)["reverse_kl"] == (None, None)
    table = modes_report.toy_table([trial])
    assert "| gan_jax GAN | 2 | 200 | 4.00 ± 4.00 | 25.0 ± 25.0 | - |" in table
    assert "a seed drew no high-quality sample" in table


def test_script_writes_tables_and_figures(toys_root, tmp_path):
    stacked = str(tmp_path / "stacked")
    histogram = [26] * 1000
    rows = [{"step": 100, "modes_covered": 900.0, "num_modes": 1000.0, "reverse_kl": 0.25}]
    write_trial(os.path.join(stacked, "gan"), stacked_mnist.get_config(), [rows], histogram)
    pixels = np.random.default_rng(0).uniform(size=(120, 2352)).astype(np.float32)
    np.save(os.path.join(stacked, "gan", "samples.npy"), pixels)  # one seed: the workdir itself
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "experiments/reports/modes_report.py",
        f"--toys={toys_root}",
        f"--stacked={stacked}",
        f"--toys_long={toys_root}",
        f"--stacked_long={stacked}",
        f"--out={out}",
    ]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True, timeout=120)
    assert "| gan_jax GAN | 1 | 100 | 900.0 | 0.250 |" in (out / "stacked_mnist.md").read_text()
    assert "VEEGAN Table 2: DCGAN | | | 99.0 | 3.400 |" in (out / "stacked_mnist.md").read_text()
    assert (out / "toys_long.md").read_text() == (out / "toys.md").read_text()
    assert (out / "stacked_mnist_long.md").read_text() == (out / "stacked_mnist.md").read_text()
    assert (out / "stacked_mnist_long_grid_gan.png").read_bytes() == (
        out / "stacked_mnist_grid_gan.png"
    ).read_bytes()
    for png in (
        "toys_curves.png",
        "toys_long_curves.png",
        "stacked_mnist_curves.png",
        "stacked_mnist_modes.png",
        "stacked_mnist_long_modes.png",
    ):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    assert (out / "toys_samples_pack-2.png").read_bytes() == b"png 0 400"  # seed 0's, at the last eval
    assert not (out / "toys_samples_unrolled.png").exists()  # its seed 0 drew none at step 400
    grid = images.read_png(str(out / "stacked_mnist_grid_gan.png"))
    assert grid.shape == (2 * (10 * 29 + 1), 2 * (10 * 29 + 1), 3)  # 10 x 10 cells of 28 + 1 px, scaled 2x
    first = np.asarray(grid[2:58:2, 2:58:2], np.float32) / 255  # the first image, every other pixel
    np.testing.assert_allclose(first, pixels[0].reshape(28, 28, 3), atol=1 / 255 + 1e-6)


def test_a_root_without_eval_rows_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    cmd = [
        sys.executable,
        "experiments/reports/modes_report.py",
        f"--toys={tmp_path / 'empty'}",
        f"--out={tmp_path}",
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert (
        done.returncode != 0
        and done.stderr.strip() == f"error: no trial under {tmp_path / 'empty'} has an eval row yet"
    )


def test_the_noise_pairs_differ_in_z_alone():
    """A run and its uniform-z twin pair up when only model.noise differs (a field the older config
    lacks counts as equal); any other change, in the model or in training, breaks the pair."""

    def record(**changes):  # the config as config.json holds it
        return json.loads(json.dumps(ring_config(**changes).to_dict()))

    normal, uniform = record(**{"model.noise": "normal"}), record(**{"model.noise": "uniform"})
    assert not modes_report.differs_beyond_noise(normal, uniform)
    older = record(**{"model.noise": "uniform"})
    del older["model"]["noise"], older["model"]["init_std"]
    assert not modes_report.differs_beyond_noise(normal, older)
    for change in (
        {"pack": 2},
        {"model.g_hidden": (400, 400)},
        {"optim.b1": 0.5},
        {"update_scheme": "alternating"},
    ):
        other = record(**{"model.noise": "uniform", **change})
        assert modes_report.differs_beyond_noise(normal, other), change
