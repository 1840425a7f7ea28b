r"""GMMN in MNIST's data space (Li, Swersky & Zemel 2015; yujiali/gmmn ``train.py``
``mnist_mmd_input_space``, as /work/shared/BRAINSTORM_NOTES.md Sec. 1 reads it): no discriminator; G is
trained to minimise sqrt(MMD^2_b) between 1,000 samples and 1,000 training images.

Each setting against the published code:
- loss: sqrt of the biased MMD^2 (every pair, diagonals included), gradient grad MMD^2_b /
  (2 sqrt(MMD^2_b) + 1e-10): the same (gan_jax/game/mmd.py);
- kernel: a sum of Gaussians exp(-||x - y||^2 / (2 sigma)), unit weights, sigma (variances) in
  {2, 5, 10, 20, 40, 80}: the same (``config.mmd.sigmas``);
- G: z in [-1, 1]^10 uniform, ReLU layers 64 -> 256 -> 256 -> 1024, a 784-unit sigmoid output, no dropout:
  the same ('mlp' G, ``g_output='sigmoid'``);
- minibatch: 1,000 data points and 1,000 samples, z redrawn every step: the same;
- optimizer: SGD with classical momentum, lr 2 and momentum 0.9, lr 0.2 and momentum 0.99 from update
  10,000, no weight decay: the same ('step_sgd');
- length: 40,000 updates, a checkpoint every 2,000: the same;
- seed: 8 (theirs): the same.
Differences: G's weights start at flax's LeCun normal (pynn's initialisation is not read here); the training
set is the project's 50,000 images (GMMN trained on 55,000, keeping 5,000 for validation); the data are
shuffled and cut into epochs (``batches.next_batch_indices``) where pynn draws its own minibatches;
evaluation is the project's Parzen protocol (gan_jax/metrics/evaluate.py; GMMN's own differs: its sigma
grid 0.10..0.29 on 5,000 validation images).

Run:
  python launch.py --config=experiments/configs/gmmn_mnist.py --workdir=/tmp/gmmn_mnist
  python launch.py --config=experiments/configs/gmmn_mnist.py --workdir=/tmp/gmmn_mnist --mode=evaluate
"""

from experiments.configs import paper_mnist
from gan_jax import config


def get_config():
    c = paper_mnist.get_config()
    c.game = "gmmn"
    c.seed = 8
    c.batch_size = 1_000
    c.num_epochs = 1
    c.num_steps = 40_000
    c.log_every = 500
    c.ckpt_every = 2_000
    c.sample_every = 2_000
    c.eval_every = 10_000
    c.mmd = config.mmd_config()  # GMMN's MNIST data-space kernel

    c.model = config.model_config("mlp")
    c.model.z_dim, c.model.noise, c.model.noise_scale = 10, "uniform", 1.0
    c.model.data_dim = 784
    c.model.g_hidden = (64, 256, 256, 1024)
    c.model.g_output = "sigmoid"
    c.optim = config.optim_config("step_sgd")  # lr 2, momentum 0.9; 0.2 and 0.99 from update 10,000
    return c
