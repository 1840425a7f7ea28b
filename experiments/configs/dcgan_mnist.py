r"""DCGAN (Radford et al. 2016) on MNIST 28x28 in [0, 1]: the 'dcgan28' pair, sigmoid output.

DCGAN's training recipe: Adam (lr 2e-4, beta1 0.5), minibatch 64 (the PyTorch DCGAN reference's
default), the non-saturating G loss, D's loss the sum of its real and fake cross-entropies, and
alternating updates (one D step on a real and a fake batch, then one G step through the updated D),
as DCGAN's code trains. Everything else (seed, cadences, options) comes from paper_mnist.

Run:
  python launch.py --config=experiments/configs/dcgan_mnist.py --workdir=/tmp/dcgan_mnist
"""

import ml_collections

from experiments.configs import paper_mnist


def dcgan_optim() -> ml_collections.ConfigDict:
    """Adam(2e-4, beta1 0.5, beta2 0.999), Radford et al. 2016, Sec. 4."""
    optim = ml_collections.ConfigDict()
    optim.name = "adam"
    optim.learning_rate = 2e-4
    optim.b1 = 0.5
    optim.b2 = 0.999
    return optim


def dcgan_model(name: str, image_shape: tuple, output: str) -> ml_collections.ConfigDict:
    m = ml_collections.ConfigDict()
    m.name = name  # gan_jax/models.py: 'dcgan28', 'dcgan32', 'dcgan64'
    m.image_shape = image_shape  # (H, W, C); data flows as flat [B, H*W*C] vectors
    m.data_dim = image_shape[0] * image_shape[1] * image_shape[2]
    m.z_dim = 100
    m.ngf = 64  # G's channels: 'dcgan64' goes 8*ngf -> 4*ngf -> 2*ngf -> ngf -> C
    m.ndf = 64  # D's channels: the mirror, ndf -> ... -> 8*ndf
    m.output = output  # G's output activation: 'sigmoid' for data in [0, 1], 'tanh' for [-1, 1]
    m.spectral_norm = False  # True: spectral norm on every D layer, and no batch norm in D
    m.num_classes = 0  # > 0: conditional (labels to G and D; gan_jax/models.py)
    m.conditioning = "concat"  # D's: 'concat' (label channels) or 'projection'
    m.dtype = "float32"  # 'bfloat16': bf16 matmuls and convolutions
    # the convolutions' gradients: 'canonical' (fast on XLA's CPU), 'lax' (its autodiff), 'auto' (the
    # first on the CPU backend, the second elsewhere; gan_jax/models.py)
    m.conv_impl = "auto"
    return m


def get_config() -> ml_collections.ConfigDict:
    c = paper_mnist.get_config()
    c.game = "nonsaturating"
    c.update_scheme = "alternating"  # DCGAN: a D step, then a G step through the updated D
    c.d_steps = 1
    c.g_steps = 1
    c.d_loss_scale = 1.0  # DCGAN's D loss: real + fake cross-entropy (the 2014 code averaged them)
    c.batch_size = 64
    c.num_epochs = 25  # the PyTorch DCGAN reference's default; num_steps follows (19,531 at batch 64)
    c.log_every = 500
    c.sample_every = 1_000
    c.ckpt_every = 5_000
    c.eval_every = 5_000  # the MNIST metrics (Parzen, FCD, ...) apply as for the paper model
    c.model = dcgan_model("dcgan28", (28, 28, 1), "sigmoid")
    c.optim = dcgan_optim()
    return c
