"""The sweeps behind the Lucic et al. games table and the extended Table 1: every trial is a config that
validates, with the protocol it claims, and the report names each trial's game as Lucic et al. do."""

import importlib.util

import pytest

from experiments.reports import lucic_report
from experiments.scripts import trials as trials_lib
from experiments.sweeps import lucic_games, lucic_games_cpu, roads_mnist, roads_toys
from gan_jax.training import validation

FLAG_FIELDS = {"game": "game", "update": "update_scheme", "d_steps": "d_steps", "seed": "seed"}


def trial_config(trial: dict, default: str):
    """The config a trial's launch.py command builds: its config file, then each override."""
    spec = importlib.util.spec_from_file_location("trial_config", trial.get("config", default))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.get_config()
    for key, value in trial.items():
        if key == "config":
            continue
        *path, field = (FLAG_FIELDS.get(key) or key.removeprefix("config.")).split(".")
        node = config
        for name in path:
            node = node[name]
        node[field] = value
    return config


@pytest.mark.parametrize(
    "sweep", [lucic_games, lucic_games_cpu, roads_mnist, roads_toys], ids=lambda m: m.__name__
)
def test_every_trial_validates(sweep):
    rows = sweep.get_sweep()
    trials_lib.check_overrides(sweep.CONFIG, rows)
    for name, trial in trials_lib.named_trials(rows):
        config = trial_config(trial, sweep.CONFIG)
        validation.validate(config)
        assert config.num_steps == config.ckpt_every == config.sample_every, name


def test_lucic_trials_follow_their_protocol():
    """Batch 64, z ~ U(-1, 1)^64, Adam 2e-4 / 0.5 with one D step a G step, 15,625 steps (20 epochs of
    50,000) and 3 seeds; the CPU sweep the same trials at 2,000 steps, 3 seeds for NS GAN, else 2."""
    full, cpu = lucic_games.get_sweep(), lucic_games_cpu.get_sweep()
    assert len(full) == len(cpu) == 2 * len(lucic_games.GAMES) == 12
    for trial in full:
        c = trial_config(trial, lucic_games.CONFIG)
        assert (c.batch_size, c.model.z_dim, c.model.noise, c.model.noise_scale) == (64, 64, "uniform", 1.0)
        assert (c.optim.name, c.optim.learning_rate, c.optim.b1) == ("adam", 2e-4, 0.5)
        assert (c.update_scheme, c.d_steps, c.num_steps, c.num_replicas) == ("alternating", 1, 15_625, 3)
        assert c.num_steps * c.batch_size == 20 * 50_000
    seeds = {lucic_report.game_name(trial_config(t, lucic_games.CONFIG).to_dict()): [] for t in cpu}
    for trial in cpu:
        c = trial_config(trial, lucic_games.CONFIG)
        assert c.num_steps == 2_000
        seeds[lucic_report.game_name(c.to_dict())].append(c.num_replicas)
    assert seeds == {name: [3, 3] if name == "NS GAN" else [2, 2] for name in lucic_games.GAMES}


def test_the_report_names_each_game_once():
    """game_name inverts lucic_games.GAMES on the configs the sweep builds, and refuses a trial it does
    not name."""
    configs = [trial_config(t, lucic_games.CONFIG) for t in lucic_games.get_sweep()]
    names = [lucic_report.game_name(c.to_dict()) for c in configs]
    assert names == 2 * list(lucic_games.GAMES)
    r1 = trial_config(lucic_games.get_sweep()[1] | {"config.reg.r1_gamma": 1.0}, lucic_games.CONFIG)
    hinge = trial_config(lucic_games.get_sweep()[0] | {"game": "hinge"}, lucic_games.CONFIG)
    for config, game in ((r1, "nonsaturating"), (hinge, "hinge")):
        with pytest.raises(lucic_report.tables.TableError, match=f"'{game}'"):
            lucic_report.game_name(config.to_dict())


def test_roads_rows_differ_from_the_gan_in_one_thing():
    """Every GAN row is the baseline's config but for its one named change; GMMN and MMD-GAN run their
    own configs' recipes."""
    rows = [trial_config(t, roads_mnist.CONFIG) for t in roads_mnist.get_sweep()]
    base = rows[0].to_dict()
    assert (base["model"]["noise"], base["game"], base["num_replicas"]) == ("uniform", "nonsaturating", 5)
    for c in rows[1:]:
        if c.game in ("gmmn", "mmd_gan"):
            continue
        differs = {k for k in base if k not in ("num_replicas",) and c.to_dict()[k] != base[k]}
        assert len(differs) == 1, differs


def test_toy_rows_differ_from_the_toys_gan_in_one_thing():
    """On each toy every row runs the toy's data, schedule and seeds; the GAN rows are its GAN's config
    but for one named change (GMMN its own recipe; the non-neural D changes D's fields only)."""
    named = roads_toys.named()
    assert [r for r, _ in named] == [
        f"{toy}/{n}" for toy in roads_toys.TOYS for n, _, _ in roads_toys.rows(toy)
    ]
    for toy in roads_toys.TOYS:
        rows = {r.split("/")[1]: trial_config(t, roads_toys.CONFIG) for r, t in named if r.startswith(toy)}
        base = rows.pop("gan_uniform").to_dict()
        assert (base["data"]["name"], base["model"]["noise"], base["game"]) == (
            toy,
            "uniform",
            "nonsaturating",
        )
        for name, c in rows.items():
            c = c.to_dict()
            assert c["data"] == base["data"] and c["num_replicas"] == 5 and c["num_steps"] == 20_000, name
            differs = {k for k in base if c[k] != base[k]}
            if name == "gmmn":
                assert c["game"] == "gmmn", name
            elif name == "nonneural":
                assert differs == {"model"} and c["model"]["discriminator"] == "random_fourier"
            else:
                assert len(differs) == 1, (name, differs)
    ring = dict(named)["ring/instance_noise"]["config.instance_noise"]
    grid = dict(named)["grid/instance_noise"]["config.instance_noise"]
    assert (ring, grid) == (0.01, 0.05)  # each toy's mode standard deviation
