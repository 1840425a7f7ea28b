r"""The paper's MNIST GAN with a discriminator that is not a trained network: G, the game, the optimizer and
the schedule are the 2014 code's (experiments/configs/paper_mnist.py); D is logistic regression on 4,096
fixed random Fourier features of the pixels (gan_jax/networks/random_features.py), whose only trained
parameters are its 4,096 weights and bias.

- Bandwidth sigma = 10: the median heuristic (Gretton et al. 2012, Sec. 8), the median distance between
  MNIST training images, 10.2 over 2,000 of them (10th-90th percentiles 8.4-12.0;
  experiments/scripts/median_bandwidth.py, record experiments/results/nonneural/median_bandwidth.json). A
  kernel much narrower sees every pair of digits as unrelated (k ~ 0), much wider as equal (k ~ 1).
- M = 4,096 features: phi(x) . phi(y) estimates the kernel with a standard error of order 1/sqrt(M) ~
  0.016 (Rahimi & Recht 2007, Claim 1); GMMN's random-feature MMD used 1,024 frequencies per bandwidth,
  each a cos and a sin (2,048 features; yujiali/gmmn RandomFeatureMmdLoss). The feature map costs 784 x
  4,096 = 3.2M multiply-adds an example, about 2.6x the paper's maxout D (1.2M).

Run:
  python launch.py --config=experiments/configs/nonneural_mnist.py --workdir=/tmp/nonneural_mnist
"""

import ml_collections

from experiments.configs import paper_mnist


def get_config() -> ml_collections.ConfigDict:
    c = paper_mnist.get_config()
    c.model.discriminator = "random_fourier"
    c.model.rff_features = 4096
    c.model.rff_bandwidth = 10.0
    return c
