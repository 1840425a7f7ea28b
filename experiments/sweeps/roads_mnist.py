"""The paper's Table 1 extended (experiments/reports/ROADS.md): on MNIST, the 2014 GAN beside the roads its
lab weighed and the options its code carried, each row the named config's own recipe at a short budget
that two CPU cores give a session, seeds side by side (num_replicas), the MNIST metrics (Parzen under the
paper's protocol, FCD, classifier score, precision/recall) on 10,000 samples of each seed at the end.

- The GAN: the paper's nets under the games sweep's recipe (experiments/configs/paper_mnist_adam.py:
  maxout D with dropout, Adam 2e-4 / 0.5, alternating; the 2014 SGD needs ~50,000 updates before its
  samples are digits, far past this budget), its noise as the 2014 code offered it (uniform, the
  default, normal and spherical, whose radius 1 puts each of z's 100 coordinates near 0.1; then the
  sphere of radius 10 = sqrt(100), the other two's typical norm), 5 seeds each for the collapse rate;
  the 2014 code's other G objectives (blend, thresholded, lazy), instance noise on both of D's inputs
  and G-gradient rescaling, 3 seeds each; all 2,000 updates (4 epochs of 100).
- The same GAN against a non-neural D (nonneural_mnist.py's: logistic on 4,096 fixed random Fourier
  features, sigma 10), 3 seeds, 2,000 updates.
- GMMN (gmmn_mnist.py: no D, batch 1,000), 3 seeds, 1,000 updates (20 epochs; 2.5 % of the published
  40,000); GMMN+AE (gmmn_ae_mnist.py) is two runs (its autoencoder first) and is queued by
  experiments/scripts/roads_mnist.sh, which runs this sweep.
- MMD-GAN (mmd_gan_mnist.py: 5 D updates a G update), 3 seeds, 1,500 G updates.

  bash experiments/scripts/roads_mnist.sh /tmp/roads_mnist
"""

CONFIG = "experiments/configs/paper_mnist_adam.py"
GAN_STEPS, GMMN_STEPS, MMD_GAN_STEPS = 2_000, 1_000, 1_500
NOISE_SEEDS, SEEDS = 5, 3
NONNEURAL_D = {  # experiments/configs/nonneural_mnist.py's D
    "config.model.discriminator": "random_fourier",
    "config.model.rff_features": 4096,
    "config.model.rff_bandwidth": 10.0,
}
ROWS = [  # (config, seeds, G updates, overrides); the order they run and are tabled in
    (CONFIG, NOISE_SEEDS, GAN_STEPS, {"config.model.noise": "uniform"}),
    (CONFIG, SEEDS, GAN_STEPS, NONNEURAL_D),
    ("experiments/configs/gmmn_mnist.py", SEEDS, GMMN_STEPS, {}),
    ("experiments/configs/mmd_gan_mnist.py", SEEDS, MMD_GAN_STEPS, {}),
    (CONFIG, NOISE_SEEDS, GAN_STEPS, {"config.model.noise": "normal"}),
    (CONFIG, NOISE_SEEDS, GAN_STEPS, {"config.model.noise": "spherical"}),
    (CONFIG, NOISE_SEEDS, GAN_STEPS, {"config.model.noise": "spherical", "config.model.noise_scale": 10.0}),
    (CONFIG, SEEDS, GAN_STEPS, {"game": "blend"}),
    (CONFIG, SEEDS, GAN_STEPS, {"game": "thresholded"}),
    (CONFIG, SEEDS, GAN_STEPS, {"game": "lazy"}),
    (CONFIG, SEEDS, GAN_STEPS, {"config.instance_noise": 0.1}),
    (CONFIG, SEEDS, GAN_STEPS, {"config.g_grad_target": 0.1}),
]


def get_sweep() -> list[dict]:
    trials = []
    for config, seeds, steps, overrides in ROWS:
        budget = {f"config.{k}": steps for k in ("num_steps", "sample_every", "ckpt_every", "eval_every")}
        run = {"config.num_replicas": seeds, "config.steps_per_call": 500, "config.log_every": 500}
        trials.append({"config": config} | budget | run | overrides)
    return trials
