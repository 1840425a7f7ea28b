"""DCGAN-28 and its alternating training step in PyTorch eager mode: the speed reference of
bench_dcgan.py (the same architecture, initialisation, losses and optimizer as gan_jax's 'dcgan28' with
experiments/configs/dcgan_mnist.py; written independently, in torch's NCHW layout; checked for shapes
and a finite step, not value by value).

- G: z (100) -> Linear 6272 (no bias) -> [128, 7, 7] -> BN -> ReLU -> ConvTranspose 4x4/2 (pad 1, no
  bias) -> 64 x 14 x 14 -> BN -> ReLU -> ConvTranspose 4x4/2 (pad 1) -> 1 x 28 x 28 -> sigmoid.
- D: Conv 4x4/2 (pad 1) 1 -> 64 -> LeakyReLU(0.2) -> Conv 4x4/2 (pad 1, no bias) 64 -> 128 -> BN ->
  LeakyReLU(0.2) -> Linear 6272 -> 1 (the logit). Weights N(0, 0.02), BN gamma N(1, 0.02), beta 0,
  BN momentum 0.1, eps 1e-5, train mode throughout.
- Step (Algorithm 1 with k = 1): D on a real minibatch of 64 and G(z) (detached), loss softplus(-l_real)
  + softplus(l_fake); then G on fresh z through the updated D, the non-saturating softplus(-l_fake).
  Adam(2e-4, betas (0.5, 0.999)) for each. Minibatches: a fresh randperm per epoch, read in order.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _dcgan_init_(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, z_dim: int = 100, ngf: int = 64):
        super().__init__()
        self.ngf = ngf
        self.dense = nn.Linear(z_dim, 7 * 7 * 2 * ngf, bias=False)
        self.bn0 = nn.BatchNorm2d(2 * ngf, momentum=0.1, eps=1e-5)
        self.up1 = nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(ngf, momentum=0.1, eps=1e-5)
        self.out = nn.ConvTranspose2d(ngf, 1, 4, 2, 1)

    def forward(self, z):
        h = F.relu(self.bn0(self.dense(z).view(-1, 2 * self.ngf, 7, 7)))
        h = F.relu(self.bn1(self.up1(h)))
        return torch.sigmoid(self.out(h))


class Discriminator(nn.Module):
    def __init__(self, ndf: int = 64):
        super().__init__()
        self.conv0 = nn.Conv2d(1, ndf, 4, 2, 1)
        self.conv1 = nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(2 * ndf, momentum=0.1, eps=1e-5)
        self.out = nn.Linear(7 * 7 * 2 * ndf, 1)

    def forward(self, x):
        h = F.leaky_relu(self.conv0(x), 0.2)
        h = F.leaky_relu(self.bn1(self.conv1(h)), 0.2)
        return self.out(h.flatten(1)).squeeze(1)


class TorchDCGAN:
    """Models, optimizers and the data stream of one run."""

    def __init__(self, images, batch_size: int = 64, z_dim: int = 100, seed: int = 0, device="cpu"):
        torch.manual_seed(seed)
        self.device = torch.device(device)
        self.g, self.d = Generator(z_dim).to(self.device), Discriminator().to(self.device)
        _dcgan_init_(self.g)
        _dcgan_init_(self.d)
        self.g_opt = torch.optim.Adam(self.g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.d_opt = torch.optim.Adam(self.d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.images = torch.as_tensor(np.array(images, np.float32), device=self.device).view(-1, 1, 28, 28)
        self.batch_size, self.z_dim = batch_size, z_dim
        self.perm, self.position = torch.randperm(len(self.images), device=self.device), 0

    def noise(self):
        return torch.randn(self.batch_size, self.z_dim, device=self.device)

    def next_batch(self):
        if self.position + self.batch_size > len(self.images):
            self.perm, self.position = torch.randperm(len(self.images), device=self.device), 0
        idx = self.perm[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        return self.images[idx]


def step(gan: TorchDCGAN) -> dict:
    """One D step then one G step through the updated D (DCGAN's alternating update)."""
    x_real = gan.next_batch()
    with torch.no_grad():
        x_fake = gan.g(gan.noise())
    d_loss = F.softplus(-gan.d(x_real)).mean() + F.softplus(gan.d(x_fake)).mean()
    gan.d_opt.zero_grad(set_to_none=True)
    d_loss.backward()
    gan.d_opt.step()
    g_loss = F.softplus(-gan.d(gan.g(gan.noise()))).mean()
    gan.g_opt.zero_grad(set_to_none=True)
    g_loss.backward()
    gan.g_opt.step()
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}
