"""BEGAN networks (Berthelot et al. 2017, Fig. 1): no batch norm, no dropout, no transposed
convolutions; 3x3 convs with ELU, nearest-neighbour upsampling, filters growing linearly with depth
(n, 2n, 3n, ...), an h-dimensional embedding; resolution set by the number of blocks."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import GankitError
from .base import register
from .blocks import FlattenHWC


def _levels(image_size: int) -> tuple[int, int]:
    """(start size, number of 2x up/down blocks): 28 -> (7, 2), 32 -> (8, 2), 64 -> (8, 3), 128 -> (8, 4)."""
    for s0 in (8, 7):
        k, s = 0, s0
        while s < image_size:
            s, k = s * 2, k + 1
        if s == image_size:
            return s0, k
    raise GankitError(f"BEGAN supports image sizes 7*2^k or 8*2^k (28, 32, 64, 128, 256), got {image_size}")


def _conv_elu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, 1, 1), nn.ELU(inplace=True)]


class _Decoder(nn.Module):
    """h -> an s0 x s0 x n tensor H0 -> blocks of two 3x3 conv+ELU, nearest 2x upsampling between.
    With ``skip`` (the skip connections of the paper's architecture section), H0 upsampled nearest
    to each block's size is concatenated with that block's input: a short path from h to every
    resolution."""

    def __init__(self, h: int, n: int, channels: int, image_size: int, skip: bool = False):
        super().__init__()
        self.s0, k = _levels(image_size)
        self.n, self.skip = n, skip
        self.fc = nn.Linear(h, n * self.s0 * self.s0)
        cin = 2 * n if skip else n
        self.blocks = nn.ModuleList(nn.Sequential(*_conv_elu(cin if i > 0 else n, n), *_conv_elu(n, n))
                                    for i in range(k + 1))
        self.out = nn.Conv2d(n, channels, 3, 1, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h0 = x = self.fc(h).view(-1, self.n, self.s0, self.s0)
        for i, block in enumerate(self.blocks):
            if i > 0:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
                if self.skip:
                    x = torch.cat([x, F.interpolate(h0, size=x.shape[-2:], mode="nearest")], 1)
            x = block(x)
        return self.out(x)


class _Encoder(nn.Module):
    def __init__(self, h: int, n: int, channels: int, image_size: int):
        super().__init__()
        s0, k = _levels(image_size)
        layers = _conv_elu(channels, n)
        for i in range(k + 1):
            layers += _conv_elu((i + 1) * n, (i + 1) * n) + _conv_elu((i + 1) * n, (i + 2) * n if i < k else (i + 1) * n)
            if i < k:  # subsample with a stride-2 conv
                layers += [nn.Conv2d((i + 2) * n, (i + 2) * n, 3, 2, 1), nn.ELU(inplace=True)]
        self.net = nn.Sequential(*layers, FlattenHWC())
        self.fc = nn.Linear((k + 1) * n * s0 * s0, h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.net(x))


@register
class BEGANGenerator(nn.Module):
    """z (dimension h) -> the decoder architecture, output linear like D's decoder (as in the paper).
    A tanh here saturates: G's L1 loss drives pixels towards D's reconstruction of a blank image,
    which lies just beyond -1, and on MNIST pre-tanh values reached -8 within 500 steps, where tanh's
    gradient (1e-6) left G stuck on that blank image. Outside training the output is clamped to the
    image range [-1, 1]."""

    def __init__(self, z_dim: int = 64, n: int = 32, channels: int = 1, image_size: int = 28, skip: bool = False):
        super().__init__()
        self.z_dim, self.num_classes = z_dim, 0
        self.decoder = _Decoder(z_dim, n, channels, image_size, skip)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = self.decoder(z)
        return x if self.training else x.clamp(-1.0, 1.0)


@register
class BEGANDiscriminator(nn.Module):
    """An auto-encoder: D(v) is v's reconstruction through an h-dimensional embedding."""

    def __init__(self, h: int = 64, n: int = 32, channels: int = 1, image_size: int = 28, skip: bool = False):
        super().__init__()
        self.encoder = _Encoder(h, n, channels, image_size)
        self.decoder = _Decoder(h, n, channels, image_size, skip)

    def features(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(self.encoder(x))
