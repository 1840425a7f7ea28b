"""The paper's MNIST GAN and its training step in PyTorch eager mode: the reference for bench_steps.py.

Same model, losses, data order semantics and optimizer math as gan_jax (models.py, games.py, steps.py,
state.py), written independently with torch ops; tests/test_torch_reference.py checks it against the
JAX step from shared parameters, minibatches and noise.

- G: z -> ReLU 1200 -> ReLU 1200 -> sigmoid 784; W ~ U(+-0.05), b = 0 (output bias: marginal logit).
- D: dropout(keep 0.8) -> [maxout 240 x 5 -> dropout(keep 0.5)] x 2 -> Dense 1 (the logit of D(x));
  W ~ U(+-0.005), b = 0; inverted dropout (kept units scaled by 1 / keep), active in ``train()`` mode.
- Losses (log space): L_D = s (E softplus(-l_real) + E softplus(l_fake)), s = config.d_loss_scale;
  L_G = E softplus(-l_fake) (nonsaturating) or -E softplus(l_fake) (minimax).
- Optimizer, by hand: classical momentum inc <- mu_t inc - lr_t g, theta <- theta + inc (pylearn2's
  Momentum), lr_t = max(lr_0 / decay^t, lr_min), mu_t linear in the epoch from mu_0 to mu_1 over
  [start, saturate]. torch.optim.SGD is not used: it keeps buf <- mu buf + g and steps theta -= lr_t buf,
  scaling past gradients by today's lr_t instead of the lr of their own step (a ~1e-5 relative
  difference under this slow decay, but not the same math), and has no per-step momentum schedule.
- Data: one device tensor of all training images; epoch e reads a fresh randperm in order, dropping the
  tail that does not fill a batch. z ~ U(-sqrt 3, sqrt 3).

The step computes only the two losses as metrics (no gradient norms or finiteness flags, which the
JAX step also reduces); it never synchronises with the device.
"""

import dataclasses
import functools
import itertools
import math
import operator
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SQRT3 = math.sqrt(3.0)


def _symmetric_uniform_(layer: nn.Linear, scale: float) -> nn.Linear:
    """W ~ U(-scale, scale), b = 0 (pylearn2's irange; flax's zero bias)."""
    with torch.no_grad():
        layer.weight.uniform_(-scale, scale)
        layer.bias.zero_()
    return layer


class Generator(nn.Module):
    """x = sigmoid(W_3 relu(W_2 relu(W_1 z + b_1) + b_2) + b_3)."""

    def __init__(self, z_dim=100, hidden: Sequence[int] = (1200, 1200), out_dim=784, init_scale=0.05):
        super().__init__()
        widths = (z_dim, *hidden)
        self.hidden = nn.ModuleList(
            _symmetric_uniform_(nn.Linear(a, b), init_scale) for a, b in itertools.pairwise(widths)
        )
        self.out = _symmetric_uniform_(nn.Linear(widths[-1], out_dim), init_scale)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        for layer in self.hidden:
            h = torch.relu(layer(h))
        return torch.sigmoid(self.out(h))

    def flax_layers(self) -> dict:
        return {**{(f"Dense_{i}",): layer for i, layer in enumerate(self.hidden)}, ("out",): self.out}


class Discriminator(nn.Module):
    """l(x): dropout -> (maxout -> dropout) x num_layers -> linear; h_j = max_i (W x + b)_{i, j}."""

    def __init__(
        self,
        in_dim=784,
        units=240,
        pieces=5,
        num_layers=2,
        init_scale=0.005,
        input_keep=0.8,
        hidden_keep=0.5,
    ):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.input_drop, self.hidden_drop = 1.0 - input_keep, 1.0 - hidden_keep
        widths = (in_dim, *[units] * (num_layers - 1))
        self.maxout = nn.ModuleList(
            _symmetric_uniform_(nn.Linear(w, units * pieces), init_scale) for w in widths
        )
        self.out = _symmetric_uniform_(nn.Linear(units, 1), init_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.dropout(x, self.input_drop, self.training)
        for layer in self.maxout:
            # amax splits the gradient evenly between tied pieces, as jnp.max does.
            h = layer(h).unflatten(-1, (self.pieces, self.units)).amax(-2)  # piece-major, as gan_jax
            h = F.dropout(h, self.hidden_drop, self.training)
        return self.out(h)[..., 0]

    def flax_layers(self) -> dict:
        layers = {(f"Maxout_{i}", "pieces"): layer for i, layer in enumerate(self.maxout)}
        return {**layers, ("out",): self.out}


def load_flax_params(module: nn.Module, params) -> nn.Module:
    """Copies a flax params tree (kernel [in, out], bias [out]) into ``module``'s nn.Linear layers."""
    with torch.no_grad():
        for path, layer in module.flax_layers().items():
            leaf = functools.reduce(operator.getitem, path, params)
            layer.weight.copy_(torch.tensor(np.asarray(leaf["kernel"], np.float32).T))
            layer.bias.copy_(torch.tensor(np.asarray(leaf["bias"], np.float32)))
    return module


def flax_params(module: nn.Module) -> dict:
    """``module``'s parameters as a nested dict of numpy arrays in flax's layout (the inverse of load)."""
    tree: dict = {}
    for path, layer in module.flax_layers().items():
        node = functools.reduce(lambda d, k: d.setdefault(k, {}), path, tree)
        node["kernel"] = layer.weight.detach().cpu().numpy().T
        node["bias"] = layer.bias.detach().cpu().numpy()
    return tree


def marginal_logit(mean_pixel, eps: float = 1e-7) -> np.ndarray:
    """logit(clip(E[x], eps, 1 - eps)) per pixel: G's initial output bias."""
    p = np.clip(np.asarray(mean_pixel, np.float64), eps, 1.0 - eps)
    return np.log(p / (1.0 - p)).astype(np.float32)


# ----------------------------------------------------------------------------------------------------
# Losses and optimizer schedule


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-V(D, G) = E softplus(-l_real) + E softplus(l_fake)."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


G_LOSSES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "nonsaturating": lambda fake_logits: F.softplus(-fake_logits).mean(),  # -E log D(G(z))
    "minimax": lambda fake_logits: -F.softplus(fake_logits).mean(),  # E log(1 - D(G(z)))
}


def paper_learning_rate(t: int, optim) -> float:
    """lr_t = max(lr_0 / decay^t, lr_min) after t updates."""
    return max(optim.learning_rate * (1.0 / optim.lr_decay) ** t, optim.min_lr)


def paper_momentum(t: int, optim, updates_per_epoch: int) -> float:
    """mu_t = mu_0 + alpha (mu_1 - mu_0), alpha = clip((e + 1 - start) / (saturate - start), 0, 1),
    e = t // updates_per_epoch."""
    span = optim.momentum_saturate_epoch - optim.momentum_start_epoch
    alpha = min(max((t // updates_per_epoch + 1 - optim.momentum_start_epoch) / span, 0.0), 1.0)
    return optim.momentum_init + alpha * (optim.momentum_final - optim.momentum_init)


@torch.no_grad()
def momentum_update_(params, grads, incs, lr: float, momentum: float) -> None:
    """In place: inc <- momentum * inc - lr * g; theta <- theta + inc."""
    torch._foreach_mul_(incs, momentum)
    torch._foreach_add_(incs, grads, alpha=-lr)
    torch._foreach_add_(params, incs)


# ----------------------------------------------------------------------------------------------------
# Train state and steps


@dataclasses.dataclass
class TorchGAN:
    """Everything a run mutates: modules, momentum buffers, the data position and update counts."""

    config: object
    generator: Generator
    discriminator: Discriminator
    images: torch.Tensor  # [N, 784] on the device
    g_incs: list
    d_incs: list
    d_per_epoch: int  # D updates per epoch (one real minibatch each)
    g_per_epoch: int
    perm: torch.Tensor | None = None
    data_index: int = 0  # real minibatches consumed
    g_count: int = 0  # G updates done
    d_count: int = 0


def build(config, images, device="cpu", seed: int = 0, g_params=None, d_params=None) -> TorchGAN:
    """The reference for a gan_jax config (paper_mlp model, paper_sgd optimizer) on ``device``.

    Fresh U(+-scale) init with G's output bias at the marginal logit of ``images``, unless flax
    ``g_params`` / ``d_params`` are given (then they are copied). Dropout is on (train mode).
    """
    m = config.model
    if m.get("name", "paper_mlp") != "paper_mlp" or config.optim.get("name", "paper_sgd") != "paper_sgd":
        raise ValueError("the torch reference covers the paper model with the paper's SGD only")
    torch.manual_seed(seed)
    images = np.asarray(images, np.float32)
    gen = Generator(m.z_dim, tuple(m.g_hidden), m.data_dim, m.g_init_scale)
    with torch.no_grad():
        gen.out.bias.copy_(torch.tensor(marginal_logit(images.mean(axis=0))))
    disc = Discriminator(
        m.data_dim, m.d_units, m.d_pieces, m.d_layers, m.d_init_scale, m.d_input_keep, m.d_hidden_keep
    )
    if g_params is not None:
        load_flax_params(gen, g_params)
    if d_params is not None:
        load_flax_params(disc, d_params)
    gen, disc = gen.to(device).train(), disc.to(device).train()
    images = torch.tensor(images, device=device)
    d_per_epoch = len(images) // config.batch_size
    g_per_epoch = d_per_epoch
    if config.update_scheme == "alternating":
        g_per_epoch = max(1, d_per_epoch * config.g_steps // config.d_steps)
    return TorchGAN(
        config=config,
        generator=gen,
        discriminator=disc,
        images=images,
        g_incs=[torch.zeros_like(p) for p in gen.parameters()],
        d_incs=[torch.zeros_like(p) for p in disc.parameters()],
        d_per_epoch=d_per_epoch,
        g_per_epoch=g_per_epoch,
    )


def next_batch(gan: TorchGAN) -> torch.Tensor:
    """Minibatch number ``data_index``: epoch e = index // (N // B) reads its randperm in order."""
    batch = gan.config.batch_size
    epoch_pos = gan.data_index % gan.d_per_epoch
    if epoch_pos == 0 or gan.perm is None:
        gan.perm = torch.randperm(len(gan.images), device=gan.images.device)
    gan.data_index += 1
    return gan.images.index_select(0, gan.perm[epoch_pos * batch : (epoch_pos + 1) * batch])


def sample_noise(gan: TorchGAN) -> torch.Tensor:
    """z ~ U(-sqrt 3, sqrt 3)^{B x z_dim}."""
    shape = (gan.config.batch_size, gan.config.model.z_dim)
    return torch.empty(shape, device=gan.images.device).uniform_(-SQRT3, SQRT3)


def _descend_d(gan: TorchGAN, grads) -> None:
    lr = paper_learning_rate(gan.d_count, gan.config.optim)
    mu = paper_momentum(gan.d_count, gan.config.optim, gan.d_per_epoch)
    momentum_update_(list(gan.discriminator.parameters()), list(grads), gan.d_incs, lr, mu)
    gan.d_count += 1


def _descend_g(gan: TorchGAN, grads) -> None:
    lr = paper_learning_rate(gan.g_count, gan.config.optim)
    mu = paper_momentum(gan.g_count, gan.config.optim, gan.g_per_epoch)
    momentum_update_(list(gan.generator.parameters()), list(grads), gan.g_incs, lr, mu)
    gan.g_count += 1


def simultaneous_update(gan: TorchGAN, x_real: torch.Tensor, z: torch.Tensor) -> dict:
    """grad_D L_D and grad_G L_G at the same (theta_G, theta_D) from one batch, one z and one dropout
    pass serving both, then both momentum updates. Returns the (pre-update) losses as tensors."""
    gen, disc = gan.generator, gan.discriminator
    real_logits, fake_logits = disc(x_real), disc(gen(z))
    loss_d = gan.config.d_loss_scale * d_loss(real_logits, fake_logits)
    loss_g = G_LOSSES[gan.config.game](fake_logits)
    d_grads = torch.autograd.grad(loss_d, list(disc.parameters()), retain_graph=True)
    g_grads = torch.autograd.grad(loss_g, list(gen.parameters()))
    _descend_d(gan, d_grads)
    _descend_g(gan, g_grads)
    return {"d_loss": loss_d.detach(), "g_loss": loss_g.detach()}


def alternating_update(gan: TorchGAN, x_reals, d_zs, g_zs) -> dict:
    """Algorithm 1: one D update per (x_real, z) pair, then one G update per z through the updated D.
    Returns the last D and G losses."""
    gen, disc = gan.generator, gan.discriminator
    for x_real, z in zip(x_reals, d_zs, strict=True):
        with torch.no_grad():
            x_fake = gen(z)
        loss_d = gan.config.d_loss_scale * d_loss(disc(x_real), disc(x_fake))
        _descend_d(gan, torch.autograd.grad(loss_d, list(disc.parameters())))
    for z in g_zs:
        loss_g = G_LOSSES[gan.config.game](disc(gen(z)))
        _descend_g(gan, torch.autograd.grad(loss_g, list(gen.parameters())))
    return {"d_loss": loss_d.detach(), "g_loss": loss_g.detach()}


def simultaneous_step(gan: TorchGAN) -> dict:
    x_real = next_batch(gan)
    return simultaneous_update(gan, x_real, sample_noise(gan))


def alternating_step(gan: TorchGAN) -> dict:
    x_reals = [next_batch(gan) for _ in range(gan.config.d_steps)]
    d_zs = [sample_noise(gan) for _ in range(gan.config.d_steps)]
    g_zs = [sample_noise(gan) for _ in range(gan.config.g_steps)]
    return alternating_update(gan, x_reals, d_zs, g_zs)


def make_step(config) -> Callable[[TorchGAN], dict]:
    """The eager step for ``config.update_scheme``: step(gan) -> losses, mutating gan in place."""
    steps = {"simultaneous": simultaneous_step, "alternating": alternating_step}
    if config.update_scheme not in steps:
        raise ValueError(f"unknown update {config.update_scheme!r}; choose one of: {', '.join(steps)}")
    return steps[config.update_scheme]


def synchronize(device) -> None:
    """Waits for queued device work (CUDA); CPU eager ops are already synchronous."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)
