"""The roads not taken on the 8-mode ring and the 25-mode grid (experiments/reports/ROADS.md): the rows of
the extended Table 1 that apply to 2-D data, each on both toys in the project's toy protocol (ring.py /
grid.py: MLP G and D of 3 ReLU layers of 128, z 2-D, batch 100, Adam 1e-4 / 0.5, simultaneous updates,
20,000 steps, 2,500 samples evaluated every 5,000 steps: modes, high quality, reverse KL), 5 seeds side
by side (num_replicas) for every row.

- The GAN with its noise as the 2014 code offered it (uniform, the default; normal; spherical, which in
  2-D puts z on the unit circle).
- The roads: GMMN (gmmn_<toy>.py: no D) and the GAN against a non-neural D (nonneural_<toy>.py: logistic
  on 1,024 fixed random Fourier features).
- The 2014 code's other G objectives (blend, thresholded, lazy), instance noise on both of D's inputs
  with s = the modes' standard deviation (ring 0.01, grid 0.05; the 2014 code's MNIST setting left it at
  0, so the value is this sweep's), and G-gradient rescaling with target 0.1.

Each trial's record directory is <toy>/<row> (ROWS' names, experiments/reports/roads_report.py's
TOY_ORDER); experiments/scripts/roads_toys.sh runs them:
  bash experiments/scripts/roads_toys.sh /tmp/roads_toys
"""

import importlib

CONFIG = "experiments/configs/ring.py"
TOYS = ("ring", "grid")
SEEDS, STEPS = 5, 20_000
SCHEDULE = {  # the steps' budget and the evaluation every quarter of it
    "config.num_replicas": SEEDS,
    "config.num_steps": STEPS,
    "config.steps_per_call": 1_000,
    "config.eval_every": 5_000,
    "config.log_every": 500,
    "config.sample_every": STEPS,
    "config.ckpt_every": STEPS,
}


def rows(toy: str) -> list[tuple[str, str, dict]]:
    """(record name, config file, overrides) of each row on one toy, in the order they run."""
    gan = f"experiments/configs/{toy}.py"
    mode_std = importlib.import_module(f"experiments.configs.{toy}").get_config().data.std
    return [
        ("gan_uniform", gan, {"config.model.noise": "uniform"}),
        ("gmmn", f"experiments/configs/gmmn_{toy}.py", {}),
        ("nonneural", f"experiments/configs/nonneural_{toy}.py", {}),
        ("gan_normal", gan, {"config.model.noise": "normal"}),
        ("gan_spherical", gan, {"config.model.noise": "spherical"}),
        ("blend", gan, {"game": "blend"}),
        ("thresholded", gan, {"game": "thresholded"}),
        ("lazy", gan, {"game": "lazy"}),
        ("instance_noise", gan, {"config.instance_noise": mode_std}),
        ("g_grad_target", gan, {"config.g_grad_target": 0.1}),
    ]


def named() -> list[tuple[str, dict]]:
    """(record directory '<toy>/<row>', the trial's overrides) for every trial."""
    return [
        (f"{toy}/{name}", {"config": config} | SCHEDULE | overrides)
        for toy in TOYS
        for name, config, overrides in rows(toy)
    ]


def get_sweep() -> list[dict]:
    return [trial for _, trial in named()]
