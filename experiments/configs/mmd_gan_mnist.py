r"""MMD-GAN on MNIST (C.-L. Li, Chang, Cheng, Yang & Poczos 2017; OctoberChang/MMD-GAN, as
/work/shared/BRAINSTORM_NOTES.md Sec. 3 reads it), with MLP networks for the CPU: D maps x to 10 features
f(x); the kernel is a sum of Gaussians on them; D maximises and G minimises

    sqrt(relu(MMD^2_b(f(x), f(G(z))))) + 16 mean_j relu(mean f(G(z))_j - mean f(x)_j).

Each setting against the published code:
- objective: sqrt(relu(biased MMD^2)) plus lambda_rg = 16 times the one-sided hinge on the feature means,
  for both players: the same (gan_jax/game/mmd.py ``mmd_gan_loss``);
- kernel: Gaussians of standard deviations {1, 2, 4, 8, 16} (variances {1, 4, 16, 64, 256}): the same;
- z ~ N(0, 1)^10, code (feature) dimension = nz = 10: the same;
- weight clipping of the feature map to [-0.01, 0.01]: the same (here D is the feature map alone);
- RMSprop lr 5e-5 for both, batch 64: the same ('rmsprop', PyTorch's decay 0.99 and eps 1e-8);
- 5 D steps per G step: the same, but always (theirs: 100 during the first 25 G iterations and every 500th);
- seed 1126: the same.
Differences (simplifications): no autoencoder: D is the encoder alone, without the decoder and its
reconstruction terms (lambda_AE = 8 each, whose role is to keep f injective); MLP networks, not DCGAN
convolutions (G as GMMN's: 10 -> 64 -> 256 -> 256 -> 1024 -> 784 sigmoid; D 784 -> 1024 -> 256 -> 10, ReLU);
28x28 images in [0, 1], not 32x32 in [-1, 1]; the length is 100 epochs of D minibatches (their default
``max_iter``; run_exp.sh sets 1,000).

Run:
  python launch.py --config=experiments/configs/mmd_gan_mnist.py --workdir=/tmp/mmd_gan_mnist
  python launch.py --config=experiments/configs/mmd_gan_mnist.py --workdir=/tmp/mmd_gan_mnist --mode=evaluate
"""

from experiments.configs import paper_mnist
from gan_jax import config
from gan_jax.game import mmd


def get_config():
    c = paper_mnist.get_config()
    c.game = "mmd_gan"
    c.update_scheme, c.d_steps, c.g_steps = "alternating", 5, 1
    c.d_loss_scale = 1.0  # D's loss is minus G's objective, unscaled
    c.seed = 1126
    c.batch_size = 64
    c.num_epochs = 1
    c.num_steps = 100 * config.MNIST_TRAIN // (64 * 5)  # 100 epochs of D minibatches: 15,625 G steps
    c.log_every = 500
    c.ckpt_every = 2_500
    c.sample_every = 2_500
    c.eval_every = 5_000
    c.reg.clip = 0.01
    c.mmd.sigmas = mmd.MMD_GAN_SIGMAS
    c.mmd.hinge_weight = mmd.MMD_GAN_HINGE

    c.model = config.model_config("mlp")
    c.model.z_dim, c.model.noise = 10, "normal"
    c.model.data_dim = 784
    c.model.g_hidden, c.model.g_output = (64, 256, 256, 1024), "sigmoid"
    c.model.d_hidden, c.model.d_features = (1024, 256), 10
    c.optim = config.optim_config("rmsprop")  # lr 5e-5, both players
    return c
