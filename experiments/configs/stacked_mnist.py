r"""StackedMNIST (1,000 modes; gan_jax/data/stacked_mnist.py) with DCGAN's recipe: the 'dcgan28' pair at
28x28x3 with a sigmoid output (data in [0, 1]), Adam (2e-4, beta1 0.5), batch 64, the non-saturating G
loss, D's loss real + fake, alternating updates (dcgan_mnist's recipe, data and image shape changed).
Modes covered and reverse KL on 26,000 samples every 10,000 steps and at the end.

The published protocol (PacGAN's code for VEEGAN's Table 2, fjxmlzn/PacGAN
stacked_MNIST_experiments/VEEGAN_experiment): carpedm20's DCGAN-tensorflow, G from a 2x2x512 projection
through four stride-2 transposed convs (512-256-128-64) with batch norm and a tanh output, D four stride-2
convs (64-128-256-512, batch norm on the last three), z ~ U(-1, 1)^100, Adam 2e-4 / 0.5, batch 64, 50
epochs of 128,000 triples = 100,000 D steps, each followed by two G steps; metrics on 26,000 samples
after every epoch. It feeds its tanh G's [-1, 1] samples against real images in [0, 1] (x / 255).
PacGAN reports 78.9 +- 6.5 modes / KL 4.50 +- 0.13 for its DCGAN and 1,000 / 0.06 for PacDCGAN2-3
(Table 2, 10 trials); VEEGAN's Table 2: DCGAN 99 / 3.4, VEEGAN 150 / 2.95.

How this differs: 'dcgan28' is smaller (G 7x7x128 -> 14x14x64 -> 28x28x3; D 64 -> 128 -> dense), G's
output is a sigmoid on data in [0, 1], z ~ U(-sqrt 3, sqrt 3)^100 (the codebase's noise), one G step per
D step over the same 100,000 D steps, and the triples come from the 50,000 training digits under a seed
(gan_jax/data/stacked_mnist.py).

Run:
  python launch.py --config=experiments/configs/stacked_mnist.py --workdir=/tmp/stacked_mnist
  python launch.py --mode=evaluate --workdir=/tmp/stacked_mnist           # 26,000 samples -> eval.json
  python launch.py --mode=evaluate --samples=S.npy --config=experiments/configs/stacked_mnist.py
Rows to compare: experiments/sweeps/stacked_mnist.py.
"""

import ml_collections

from experiments.configs import dcgan_mnist
from gan_jax import config

IMAGE_SHAPE = (28, 28, 3)


def get_config() -> ml_collections.ConfigDict:
    c = dcgan_mnist.get_config()
    c.data = config.data_config("stacked_mnist")  # 128,000 fixed triples of training digits
    c.model = config.model_config("dcgan28")
    c.model.image_shape = IMAGE_SHAPE
    c.model.data_dim = IMAGE_SHAPE[0] * IMAGE_SHAPE[1] * IMAGE_SHAPE[2]
    # PacGAN's budget, 50 epochs of 128,000 at batch 64, set as steps (num_epochs counts MNIST's 50,000)
    c.num_steps = 100_000
    c.log_every = 1_000
    c.sample_every = 5_000
    c.ckpt_every = 10_000
    c.eval_every = 10_000
    c.eval_samples = 26_000  # VEEGAN/PacGAN's protocol
    return c
