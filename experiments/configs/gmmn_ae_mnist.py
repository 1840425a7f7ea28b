r"""GMMN+AE on MNIST (Li, Swersky & Zemel 2015; yujiali/gmmn, as /work/shared/BRAINSTORM_NOTES.md Sec. 1
reads it), in two runs: the autoencoder first (``:autoencoder``), a run and checkpoint of its own, then
GMMN in its 32-d code space, its samples decoded to images by the autoencoder's decoder.

The autoencoder against the published code: encoder 784 -> 1024 -> 32, decoder 32 -> 1024 -> 784, every
unit a sigmoid, binary cross-entropy (here summed over pixels, averaged over the batch), dropout of 0.2 of
the pixels and 0.5 of the encoder's hidden units, batch 100, SGD lr 0.1, 3,000 iterations: the same.
Differences: no greedy layer-wise pre-training (theirs: 3,000 iterations of it before the fine-tuning
this run is); momentum 0.5 until update 200, then 0.9 (theirs: 0, 0.5 from update 50, 0.9 from 200); no
gradient-norm clipping (theirs: 10); flax's initialisation.

The GMMN against the published code: U(-1, 1)^10 -> 64 -> 256 -> 256 -> 1024 -> 32 sigmoid codes; the MMD
between generated codes and the encoded training images (encoder in eval mode, codes computed once), one
Gaussian of variance 1; batch 1,000 + 1,000; SGD lr 2 / momentum 0.9, then 0.2 / 0.99 from update 10,000;
40,000 updates; samples are the decoder's means: the same. Differences: as gmmn_mnist.py's (initialisation,
the 50,000-image training set, shuffled epochs, the project's Parzen protocol).

Run (the second needs the first finished; validation says so in one line otherwise):
  python launch.py --config=experiments/configs/gmmn_ae_mnist.py:autoencoder --workdir=/tmp/mnist_ae
  python launch.py --config=experiments/configs/gmmn_ae_mnist.py \
      --config.mmd.autoencoder=/tmp/mnist_ae --workdir=/tmp/gmmn_ae_mnist
  python launch.py --workdir=/tmp/gmmn_ae_mnist --mode=evaluate
"""

from experiments.configs import gmmn_mnist, paper_mnist
from gan_jax import config


def get_config(stage: str | None = None):
    """The GMMN in code space, or with ``stage='autoencoder'`` the autoencoder run it needs first."""
    if stage == "autoencoder":
        return autoencoder_config()
    c = gmmn_mnist.get_config()
    c.mmd.sigmas = (1.0,)  # GMMN's MNIST code-space kernel
    c.mmd.autoencoder = "/tmp/mnist_ae"  # the workdir of the autoencoder run (--config.mmd.autoencoder)
    c.model = config.model_config("gmmn_ae")  # z 10, G 64-256-256-1024, code 32, decoder 1024
    c.model.noise, c.model.noise_scale = "uniform", 1.0
    return c


def autoencoder_config():
    c = paper_mnist.get_config()
    c.game = "autoencoder"
    c.batch_size = 100
    c.num_epochs = 1
    c.num_steps = 3_000
    c.log_every = 100
    c.ckpt_every = 1_000
    c.sample_every = 1_000
    c.eval_every = 0  # (its samples decode random codes: no model to measure)
    c.model = config.model_config("autoencoder")
    c.optim = config.optim_config("step_sgd")
    c.optim.learning_rate = c.optim.learning_rate_after = 0.1
    c.optim.momentum, c.optim.momentum_after, c.optim.change_at = 0.5, 0.9, 200
    return c
