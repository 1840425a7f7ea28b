"""Every game on MNIST with the paper's MLP pair and with DCGAN-28, one budget per architecture:
alternating updates (k = 1), Adam 2e-4 (b1 0.5), D loss real + fake; the MLP 30 epochs (15,000 steps
of 100), DCGAN-28 about 10 epochs (7,500 steps of 64); 3 seeds per trial trained side by side
(num_replicas), the MNIST metrics (Parzen, FCD, classifier score, precision/recall) at the end.
WGAN-GP on DCGAN-28 uses a layer-norm critic (config.model.d_norm=layer, as Gulrajani et al.: a
penalty needs a per-example D, and batch norm is refused with one). No per-game tuning (Lucic et al. 2018
tuned each loss; this is the fixed-budget, fixed-recipe comparison).

  python experiments/scripts/sweep.py --sweep=experiments/sweeps/games_mnist.py --root=/tmp/games_mnist \
      --parallel=2
  python experiments/reports/collect.py --root=/tmp/games_mnist --sort_by=fcd --order=ascending
Results: experiments/reports/RESULTS.md.
"""

from experiments.sweeps import games_toys

CONFIG = "experiments/configs/paper_mnist_adam.py"
# the toy comparison's games, less the weight-clipped critic (the gradient penalty stands for WGAN)
GAMES = [v for v in games_toys.VARIANTS if "config.reg.clip" not in v]
SHARED = {
    "update": "alternating",
    "config.num_replicas": 3,
    "config.steps_per_call": 500,
    "config.log_every": 2500,
}
ARCHITECTURES = {
    "experiments/configs/paper_mnist_adam.py": 15_000,
    "experiments/configs/dcgan_mnist.py": 7_500,
}


def get_sweep() -> list[dict]:
    trials = []
    for config, num_steps in ARCHITECTURES.items():
        budget = {f"config.{k}": num_steps for k in ("num_steps", "sample_every", "ckpt_every", "eval_every")}
        for game in GAMES:
            critic = (
                {"config.model.d_norm": "layer"}
                if "dcgan" in config and "config.reg.gp_weight" in game
                else {}
            )
            trials.append({"config": config} | SHARED | budget | game | critic)
    return trials
