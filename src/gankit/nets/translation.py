"""Image-to-image networks: pix2pix's U-Net and PatchGAN (Isola et al. 2017), CycleGAN's ResNet
generator (Johnson et al. 2016; Zhu et al. 2017), and the pair of CycleGAN generators as one export.

Translators map images in [-1, 1] to images in [-1, 1]; ``multiple`` is the factor an input's height
and width must be divisible by (``gankit translate`` pads to it).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import GankitError
from .base import register
from .blocks import ReflectionPad2d, norm2d


def _bias(norm: str) -> bool:
    """BatchNorm's shift makes a conv bias redundant; instance norm without affine does not."""
    return norm != "batch"


@register
class UNetGenerator(nn.Module):
    """Encoder of ``num_downs`` stride-2 4x4 convs (widths ngf, 2ngf, 4ngf, then 8ngf), mirrored by a
    decoder of stride-2 transposed convs. With ``skips`` every decoder layer also reads the encoder
    output of the same resolution (the U-Net); without, it is the plain encoder-decoder of the
    paper's ablation. Noise enters only as dropout on the three decoder layers after the bottleneck,
    applied in training *and* at test time (Isola et al. 2017, §3.1), hence ``F.dropout(training=True)``.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, num_downs: int = 8, ngf: int = 64,
                 norm: str = "batch", dropout: float = 0.5, skips: bool = True):
        super().__init__()
        if num_downs < 2:
            raise GankitError(f"U-Net needs num_downs >= 2, got {num_downs}")
        self.num_downs, self.dropout, self.skips = num_downs, dropout, skips
        self.multiple = 2 ** num_downs
        widths = [ngf * min(2 ** i, 8) for i in range(num_downs)]
        bias = _bias(norm)
        self.down = nn.ModuleList()
        prev = in_channels
        for i, w in enumerate(widths):
            layers = [] if i == 0 else [nn.LeakyReLU(0.2, True)]
            layers.append(nn.Conv2d(prev, w, 4, 2, 1, bias=bias or i in (0, num_downs - 1)))
            if 0 < i < num_downs - 1:  # no norm on the first layer nor on the 1x1 bottleneck
                layers.append(norm2d(norm, w))
            self.down.append(nn.Sequential(*layers))
            prev = w
        self.up = nn.ModuleList()  # up[j] undoes down[num_downs - 1 - j]
        for i in reversed(range(num_downs)):
            cin = widths[i] * (2 if skips and i < num_downs - 1 else 1)
            if i == 0:
                layers = [nn.ReLU(True), nn.ConvTranspose2d(cin, out_channels, 4, 2, 1), nn.Tanh()]
            else:
                layers = [nn.ReLU(True), nn.ConvTranspose2d(cin, widths[i - 1], 4, 2, 1, bias=bias),
                          norm2d(norm, widths[i - 1])]
            self.up.append(nn.Sequential(*layers))
        self.dropout_layers = set(range(min(3, num_downs - 1)))  # up[0..2]: right after the bottleneck

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_divisible(x, self.multiple)
        feats = []
        h = x
        for d in self.down:
            h = d(h)
            feats.append(h)
        for j, u in enumerate(self.up):
            if j > 0 and self.skips:
                h = torch.cat([h, feats[self.num_downs - 1 - j]], 1)
            h = u(h)
            if j in self.dropout_layers and self.dropout > 0:
                h = F.dropout(h, self.dropout, training=True)
        return h


@register
class PatchDiscriminator(nn.Module):
    """PatchGAN: a fully convolutional D giving one logit per overlapping patch, so it runs on any
    image size. ``n_layers`` sets the receptive field: 0 -> 1 px (PixelGAN, 1x1 convs), 1 -> 16,
    3 -> 70 (the paper's default), 5 -> 286 px. pix2pix feeds it the (input, output) pair stacked
    on channels."""

    def __init__(self, in_channels: int = 6, ndf: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        bias = _bias(norm)
        if n_layers == 0:
            layers = [nn.Conv2d(in_channels, ndf, 1), nn.LeakyReLU(0.2, True),
                      nn.Conv2d(ndf, ndf * 2, 1, bias=bias), norm2d(norm, ndf * 2), nn.LeakyReLU(0.2, True),
                      nn.Conv2d(ndf * 2, 1, 1)]
        else:
            layers = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            ch = ndf
            for n in range(1, n_layers + 1):
                stride = 2 if n < n_layers else 1
                out = ndf * min(2 ** n, 8)
                layers += [nn.Conv2d(ch, out, 4, stride, 1, bias=bias), norm2d(norm, out), nn.LeakyReLU(0.2, True)]
                ch = out
            layers.append(nn.Conv2d(ch, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[:, 0]  # [N, H', W'] patch logits

    def features(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.net[:-1](x).mean((2, 3))


class ResnetBlock(nn.Module):
    """x + conv-norm-relu-conv-norm(x), reflection padded (Johnson et al. 2016)."""

    def __init__(self, ch: int, norm: str):
        super().__init__()
        bias = _bias(norm)
        self.body = nn.Sequential(ReflectionPad2d(1), nn.Conv2d(ch, ch, 3, bias=bias), norm2d(norm, ch),
                                  nn.ReLU(True), ReflectionPad2d(1), nn.Conv2d(ch, ch, 3, bias=bias),
                                  norm2d(norm, ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@register
class ResnetGenerator(nn.Module):
    """c7s1-ngf, two stride-2 downsamplings, ``n_blocks`` residual blocks (6 for 128 px, 9 for 256 px
    in Zhu et al. 2017), two stride-2 upsamplings, c7s1-3 + tanh."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 9,
                 norm: str = "instance"):
        super().__init__()
        self.multiple = 4
        bias = _bias(norm)
        layers = [ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias), norm2d(norm, ngf), nn.ReLU(True)]
        ch = ngf
        for _ in range(2):
            layers += [nn.Conv2d(ch, ch * 2, 3, 2, 1, bias=bias), norm2d(norm, ch * 2), nn.ReLU(True)]
            ch *= 2
        layers += [ResnetBlock(ch, norm) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, output_padding=1, bias=bias),
                       norm2d(norm, ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [ReflectionPad2d(3), nn.Conv2d(ch, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_divisible(x, self.multiple)
        return self.net(x)


@register
class CycleGANPair(nn.Module):
    """Both CycleGAN generators as one exported module: ``G`` maps A to B, ``F`` maps B to A."""

    def __init__(self, channels: int = 3, ngf: int = 64, n_blocks: int = 9, norm: str = "instance"):
        super().__init__()
        self.G = ResnetGenerator(channels, channels, ngf, n_blocks, norm)
        self.F = ResnetGenerator(channels, channels, ngf, n_blocks, norm)
        self.multiple = self.G.multiple

    def forward(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        if direction not in ("AtoB", "BtoA"):
            raise GankitError(f"direction must be AtoB or BtoA, got {direction!r}")
        return self.G(x) if direction == "AtoB" else self.F(x)


def check_divisible(x: torch.Tensor, multiple: int) -> None:
    h, w = x.shape[-2:]
    if h % multiple or w % multiple:
        raise GankitError(f"input is {w}x{h} px but this translator needs sides divisible by {multiple} "
                          "(gankit translate pads automatically)")
