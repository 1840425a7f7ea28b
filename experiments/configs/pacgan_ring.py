r"""PacGAN's 2-D ring protocol (Lin et al. 2018; fjxmlzn/PacGAN's synthetic experiments): 8 Gaussians of
radius 1 and std 0.01, 100,000 training points; G 4 x 400 ReLU layers with batch norm, z 2-D N(0, I);
D 3 maxout layers of 200 units x 5 pieces; every weight N(0, 0.02^2), biases 0; Adam lr 1e-4, b1 0.8;
batch 100; both players' gradients from one minibatch and applied together (simultaneous, as its ALI
training algorithm); 400 epochs (400,000 steps); 2,500 samples evaluated, high quality within 3 std of
the nearest mode. --config.pack=m gives the PacGAN<m> rows. Differences: G's batch norm keeps its
running averages at momentum 0.9 (PacGAN's 0.95) and starts its scale at N(1, 0.02^2) (PacGAN's 1).

Run:
  python launch.py --config=experiments/configs/pacgan_ring.py --workdir=/tmp/pacgan_ring
  python launch.py --config=experiments/configs/pacgan_ring.py --config.pack=2 --workdir=/tmp/pacgan2_ring
Rows over seeds: experiments/sweeps/pacgan_toys.py.
"""

from experiments.configs import ring


def get_config():
    c = ring.get_config()
    c.update_scheme = "simultaneous"
    c.model.noise = "normal"  # z ~ N(0, I), PacGAN's (the default: the 2014 model's U(-sqrt 3, sqrt 3))
    c.model.init_std = 0.02
    c.model.g_hidden, c.model.g_batch_norm = (400, 400, 400, 400), True
    c.model.d_hidden, c.model.d_pieces = (200, 200, 200), 5
    c.optim.learning_rate, c.optim.b1 = 1e-4, 0.8
    c.batch_size = 100
    c.num_steps = 400 * c.data.num_train // c.batch_size  # 400 epochs
    c.log_every = 1_000
    c.sample_every = 50_000
    c.ckpt_every = 10_000
    c.eval_every = 20_000
    return c
