"""DCGAN (Radford et al. 2016) for 28, 32 and 64 px, any channel count.

G: z as a 1x1 map -> ConvTranspose to s0 x s0 (s0 = 7 for 28 px, else 4) -> k stride-2
ConvTranspose blocks with BatchNorm + ReLU, halving the width each time -> Tanh.
D mirrors it: stride-2 convs with LeakyReLU(0.2) (no norm on the first), then a valid
s0 x s0 conv to one logit per image.

``fc > 0`` adds one fully connected hidden layer of that width: in G between z and the first
ConvTranspose, in D between the last conv and the logit (the MNIST networks of InfoGAN, Chen et
al. 2016). Radford et al. drop such layers; at 28 px, where G and D have only two conv levels,
they make digits clean far sooner (docs/benchmarks.md).
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import GankitError
from .base import register
from .blocks import ConditionalHead, FlattenHWC, LabelProjection, check_cond, norm1d, norm2d, one_hot


def _levels(image_size: int) -> tuple[int, int]:
    for s0 in (4, 7):
        k, s = 0, s0
        while s < image_size:
            s, k = s * 2, k + 1
        if s == image_size and k >= 2:
            return s0, k
    raise GankitError(f"DCGAN supports image sizes 4*2^k or 7*2^k (28, 32, 64, 128...), got {image_size}")


def _fc(n_in: int, n_out: int, norm: str, act: nn.Module) -> list[nn.Module]:
    """A hidden fully connected layer; its norm follows the conv layers' (instance -> layer norm)."""
    return [nn.Linear(n_in, n_out), norm1d({"instance": "layer"}.get(norm, norm), n_out), act]


class ProjectReshape(nn.ConvTranspose2d):
    """G's first layer: a stride-1 ConvTranspose from a 1x1 map to s0 x s0, which is one matrix
    product, z @ W, reshaped (Radford et al. 2016, §3: "project and reshape"). It keeps the
    ConvTranspose's weight, initialisation and saved form, but multiplies as a matrix: oneDNN's
    transposed-convolution kernel took 2-3x longer for the same product on 2 CPU cores."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (1, 1):
            return super().forward(x)
        w = self.weight.permute(0, 2, 3, 1).reshape(self.in_channels, -1)  # free when W is channels-last
        out = (x.flatten(1) @ w).view(x.shape[0], *self.kernel_size, self.out_channels).permute(0, 3, 1, 2)
        return out if self.bias is None else out + self.bias[:, None, None]


@register
class DCGANGenerator(nn.Module):
    def __init__(self, z_dim: int = 100, channels: int = 1, image_size: int = 28, width: int = 64,
                 num_classes: int = 0, norm: str = "batch", fc: int = 0):
        super().__init__()
        self.z_dim, self.num_classes = z_dim, num_classes
        s0, k = _levels(image_size)
        ch = width * 2 ** (k - 1)
        n_in = z_dim + num_classes
        layers = [ProjectReshape(fc or n_in, ch, s0, 1, 0, bias=False), norm2d(norm, ch), nn.ReLU(True)]
        self.stem = nn.Sequential(*_fc(n_in, fc, norm, nn.ReLU(True))) if fc else nn.Identity()
        for _ in range(k - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), norm2d(norm, ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat([z, one_hot(y, self.num_classes)], 1)
        return self.net(self.stem(z)[:, :, None, None])


@register
class DCGANDiscriminator(ConditionalHead):
    """Labels (if any) enter as constant one-hot channels concatenated to the image (``cond="concat"``)
    or through a projection head (``cond="projection"``, see :class:`~gankit.nets.blocks.LabelProjection`)."""

    def __init__(self, channels: int = 1, image_size: int = 28, width: int = 64, num_classes: int = 0,
                 out_dim: int = 1, norm: str = "batch", cond: str = "concat", fc: int = 0):
        super().__init__()
        self.num_classes = num_classes
        s0, k = _levels(image_size)
        ch = width
        self.label_channels = num_classes if check_cond(cond) == "concat" else 0
        layers = [nn.Conv2d(channels + self.label_channels, ch, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for _ in range(k - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=norm == "none"), norm2d(norm, ch * 2), nn.LeakyReLU(0.2, True)]
            ch *= 2
        hidden = _fc(ch * s0 * s0, fc, norm, nn.LeakyReLU(0.2, True)) if fc else []
        self.body = nn.Sequential(*layers, FlattenHWC(), *hidden)
        self.feature_dim = fc or ch * s0 * s0
        self.head = nn.Linear(self.feature_dim, out_dim)  # without fc: a valid s0 x s0 conv
        self.project = LabelProjection(num_classes, self.feature_dim) if num_classes and cond == "projection" else None

    def features(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.label_channels:
            maps = one_hot(y, self.num_classes)[:, :, None, None].expand(-1, -1, *x.shape[-2:])
            x = torch.cat([x, maps], 1)
        return self.body(x)
