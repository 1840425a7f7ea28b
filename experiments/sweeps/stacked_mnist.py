"""Mode collapse on StackedMNIST (1,000 modes): the DCGAN recipe of experiments/configs/stacked_mnist.py
(100,000 alternating steps of 64, Adam 2e-4 / 0.5), 3 seeds per trial trained side by side, modes covered
and reverse KL on 26,000 samples every 10,000 steps and at the end. The rows:

- non-saturating GAN, DCGAN's batch-norm D (the VEEGAN/PacGAN baseline);
- the same with D unnormalised (d_norm=none): the control for the penalised rows, which need it;
- GAN + R1 + R2 and RpGAN + R1 + R2 (R3GAN's loss, game relativistic_pairing), R1 = R2 weight gamma / 2,
  gamma 0.1, 1 and 10 (R3GAN's StackedMNIST gamma is not public: experiments/configs/r3gan_stacked_mnist.py).

R3GAN's own ablation (its networks): RpGAN + R1 + R2 1,000 modes / KL 0.078, GAN + R1 + R2 693 / 0.927.
- PacGAN2 (config.pack=2) and the unrolled GAN (unroll_steps=5, Metz et al.'s StackedMNIST setting).

  python experiments/scripts/sweep.py --sweep=experiments/sweeps/stacked_mnist.py --root=/tmp/stacked_mnist
  python experiments/reports/collect.py --root=/tmp/stacked_mnist --sort_by=reverse_kl --order=ascending
"""

from experiments.sweeps import product

CONFIG = "experiments/configs/stacked_mnist.py"
GAMMAS = [0.1, 1.0, 10.0]
SHARED = {"config.num_replicas": 3, "config.steps_per_call": 500}
BASELINES = [
    {"game": "nonsaturating"},
    {"game": "nonsaturating", "config.model.d_norm": "none"},
    {"game": "nonsaturating", "config.pack": 2},
    {"game": "nonsaturating", "config.unroll_steps": 5},
]
PENALISED = product(
    {"config.model.d_norm": "none"},
    game=["nonsaturating", "relativistic_pairing"],
    **{"config.reg.r1_gamma": GAMMAS},
)


def get_sweep() -> list[dict]:
    rows = BASELINES + [row | {"config.reg.r2_gamma": row["config.reg.r1_gamma"]} for row in PENALISED]
    return [SHARED | row for row in rows]
