r"""A tiny version of the paper model for quick runs and the end-to-end tests (seconds on a CPU).

Run:
  python launch.py --config=experiments/configs/smoke.py --workdir=/tmp/smoke
"""

from experiments.configs import paper_mnist


def get_config():
    c = paper_mnist.get_config()
    c.num_epochs = 1
    c.num_steps = 20
    c.log_every = 5
    c.ckpt_every = 10
    c.sample_every = 10
    c.eval_every = 0
    c.model.g_hidden = (32, 32)
    c.model.z_dim = 8
    c.model.d_units = 16
    c.model.d_pieces = 3
    return c
