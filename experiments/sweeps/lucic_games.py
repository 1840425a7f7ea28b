"""Lucic et al. 2018's ("Are GANs Created Equal?") games on MNIST and Fashion-MNIST at their budget:
DCGAN-28 (the nearest of gan_jax's pairs to their InfoGAN-style nets), batch 64, z ~ U(-1, 1)^64 as
theirs, Adam 2e-4 (beta1 0.5) for both players with one D step per G step (their phase-1 sample 0
is not recorded in the paper; this is DCGAN's recipe, one setting, no search), 20 epochs of 50,000
images = 15,625 steps, 3 seeds side by side (num_replicas). Their six games that gan_jax has:
minimax (MM GAN), non-saturating (NS GAN), least squares (LSGAN), Wasserstein with clipping (WGAN),
with a gradient penalty (WGAN GP, lambda 10) and NS + DRAGAN's penalty (lambda 10); a penalised D
uses layer norm (batch norm is refused with a per-example penalty). Inception FID/KID of 10,000
samples against the 10,000 test images: experiments/scripts/gpu_lucic.sh (training, evaluation and floors
on a lent GPU); the table and the protocol's differences from theirs: experiments/reports/RESULTS.md.

  python experiments/scripts/sweep.py --sweep=experiments/sweeps/lucic_games.py --root=/tmp/lucic --parallel=3
"""

CONFIGS = {
    "mnist": "experiments/configs/dcgan_mnist.py",
    "fashion_mnist": "experiments/configs/dcgan_fashion_mnist.py",
}
CONFIG = CONFIGS["mnist"]
GAMES = {  # Lucic et al.'s name: the overrides
    "MM GAN": {"game": "minimax"},
    "NS GAN": {"game": "nonsaturating"},
    "LSGAN": {"game": "least_squares"},
    "WGAN": {"game": "wasserstein", "config.reg.clip": 0.01},
    "WGAN GP": {"game": "wasserstein", "config.reg.gp_weight": 10.0, "config.model.d_norm": "layer"},
    "DRAGAN": {"game": "nonsaturating", "config.reg.dragan_weight": 10.0, "config.model.d_norm": "layer"},
}
NUM_STEPS = 15_625  # 20 epochs of 50,000 images at batch 64
SEEDS = 3
SHARED = {
    "update": "alternating",
    "config.model.z_dim": 64,
    "config.model.noise": "uniform",
    "config.model.noise_scale": 1.0,
    "config.eval_every": 0,  # Inception metrics after training (lucic_games.sh)
    "config.log_every": 250,
}


def trials(num_steps: int, seeds: int, steps_per_call: int) -> list[dict]:
    """One trial per (dataset, game): ``seeds`` seeds side by side for ``num_steps`` steps."""
    budget = {f"config.{k}": num_steps for k in ("num_steps", "sample_every", "ckpt_every")}
    run = {"config.num_replicas": seeds, "config.steps_per_call": steps_per_call}
    return [
        {"config": config} | SHARED | budget | run | game
        for config in CONFIGS.values()
        for game in GAMES.values()
    ]


def get_sweep() -> list[dict]:
    return trials(NUM_STEPS, SEEDS, 625)
