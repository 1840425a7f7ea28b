r"""The paper's MNIST pair (ReLU MLP G, maxout D with dropout) under one recipe every game can use:
DCGAN's Adam (lr 2e-4, beta1 0.5), alternating updates (k = 1), D's loss the sum of its real and fake
terms, batch 100, 30 epochs. The 2014 SGD (lr 0.1, momentum) is tuned for the cross-entropy games;
a comparison of games needs one budget and one optimizer for all (experiments/sweeps/games_mnist.py).

Run:
  python launch.py --config=experiments/configs/paper_mnist_adam.py --game=hinge --workdir=/tmp/mlp_hinge
"""

from experiments.configs import dcgan_mnist, paper_mnist


def get_config():
    c = paper_mnist.get_config()
    c.update_scheme = "alternating"
    c.d_loss_scale = 1.0
    c.num_epochs = 30
    c.eval_every = 15_000
    c.optim = dcgan_mnist.dcgan_optim()
    return c
