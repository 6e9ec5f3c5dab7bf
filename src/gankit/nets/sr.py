"""Super-resolution networks of Ledig et al. 2017 (SRGAN): the SRResNet generator and the SRGAN
discriminator.

SRResNet maps a low-resolution image in [-1, 1] to one ``scale`` times larger, in [-1, 1]. Its
output goes through tanh rather than a clamp: a clamp has zero gradient outside [-1, 1], so pixels
that overshoot would stop learning, and during SRGAN training D and the content network would see
values no real image has; tanh keeps every output a valid image and every pixel trainable, at the
price of slower learning for pixels near pure black or white. It is fully convolutional with
stride 1 before upsampling, so any input size works (``multiple`` = 1).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import GankitError
from .base import register


class _ResidualBlock(nn.Module):
    """x + BN(conv3x3(PReLU(BN(conv3x3(x))))) (Ledig et al. 2017, Fig. 4, after He et al. 2016)."""

    def __init__(self, ch: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(ch, ch, 3, 1, 1, bias=False), nn.BatchNorm2d(ch), nn.PReLU(ch),
                                  nn.Conv2d(ch, ch, 3, 1, 1, bias=False), nn.BatchNorm2d(ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@register
class SRResNet(nn.Module):
    """conv9x9-PReLU, ``n_blocks`` residual blocks, conv3x3-BN plus a skip from the first conv (the
    global skip), log2(scale) sub-pixel blocks (conv3x3 to 4·ngf channels, PixelShuffle x2, PReLU;
    Shi et al. 2016), conv9x9 to ``channels``, tanh. The paper: 16 blocks, ngf 64, scale 4."""

    def __init__(self, channels: int = 3, ngf: int = 64, n_blocks: int = 16, scale: int = 4):
        super().__init__()
        if scale < 2 or scale & (scale - 1):
            raise GankitError(f"SRResNet scale must be a power of 2 (2, 4, 8), got {scale}")
        if n_blocks < 1:
            raise GankitError(f"SRResNet needs n_blocks >= 1, got {n_blocks}")
        self.channels, self.scale, self.multiple = channels, scale, 1
        self.head = nn.Sequential(nn.Conv2d(channels, ngf, 9, 1, 4), nn.PReLU(ngf))
        self.blocks = nn.Sequential(*[_ResidualBlock(ngf) for _ in range(n_blocks)],
                                    nn.Conv2d(ngf, ngf, 3, 1, 1, bias=False), nn.BatchNorm2d(ngf))
        self.upsample = nn.Sequential(*[nn.Sequential(nn.Conv2d(ngf, ngf * 4, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(ngf))
                                        for _ in range(int(math.log2(scale)))])
        self.tail = nn.Sequential(nn.Conv2d(ngf, channels, 9, 1, 4), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise GankitError(f"SRResNet takes N x {self.channels} x H x W images, got {tuple(x.shape)}")
        h = self.head(x)
        return self.tail(self.upsample(h + self.blocks(h)))


@register
class SRGANDiscriminator(nn.Module):
    """Ledig et al. 2017, Fig. 4: conv3x3-LeakyReLU(0.2), then seven conv3x3-BN-LeakyReLU with widths
    ndf, 2ndf, 2ndf, 4ndf, 4ndf, 8ndf, 8ndf and strides alternating 2, 1 (four stride-2 convs in all),
    dense 1024, LeakyReLU, dense 1 (a logit). The paper's dense layer reads the 6x6 map of a 96 px
    crop; here a global average pool precedes it, so any crop size works and the layer has
    8ndf·1024 weights instead of 36·8ndf·1024."""

    def __init__(self, channels: int = 3, ndf: int = 64):
        super().__init__()
        layers = [nn.Conv2d(channels, ndf, 3, 1, 1), nn.LeakyReLU(0.2, True)]
        ch = ndf
        for width, stride in [(1, 2), (2, 1), (2, 2), (4, 1), (4, 2), (8, 1), (8, 2)]:
            layers += [nn.Conv2d(ch, ndf * width, 3, stride, 1, bias=False), nn.BatchNorm2d(ndf * width),
                       nn.LeakyReLU(0.2, True)]
            ch = ndf * width
        self.convs = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Linear(ch, 1024), nn.LeakyReLU(0.2, True), nn.Linear(1024, 1))

    def features(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.pool(self.convs(x)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))[:, 0]
