"""Fully connected generator and discriminator (the reference vanilla GAN, SPEC §2)."""
from __future__ import annotations

import math

import torch
from torch import nn

from .base import register
from .blocks import ConditionalHead, LabelProjection, Maxout, activation, check_cond, maxout_pieces, norm1d, one_hot


@register
class MLPGenerator(nn.Module):
    """z (+ one-hot label) -> Linear->Norm->Act blocks -> Linear -> out_act, reshaped to ``out_shape``.

    The reference MNIST G: widths 128 (no norm on the first block), 256, 512, 1024,
    LeakyReLU(0.2), Tanh output reshaped to 1x28x28.
    """

    def __init__(self, z_dim: int = 100, out_shape: tuple = (1, 28, 28), widths: tuple = (128, 256, 512, 1024),
                 norm: str = "batch", first_norm: bool = False, act: str = "leaky_relu", out_act: str = "tanh",
                 num_classes: int = 0):
        super().__init__()
        self.z_dim, self.num_classes, self.out_shape = z_dim, num_classes, tuple(out_shape)
        layers, d = [], z_dim + num_classes
        for i, w in enumerate(widths):
            layers += [nn.Linear(d, w), norm1d(norm if (i > 0 or first_norm) else "none", w), activation(act)]
            d = w
        layers += [nn.Linear(d, math.prod(self.out_shape)), activation(out_act)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat([z, one_hot(y, self.num_classes)], 1)
        return self.net(z).view(z.shape[0], *self.out_shape)


@register
class MLPDiscriminator(ConditionalHead):
    """Flattened input (+ one-hot label) -> Linear->Act blocks -> ``out_dim`` logits.

    The reference MNIST D: Linear(784, 512) -> LeakyReLU -> Linear(512, 256) -> LeakyReLU -> Linear(256, 1).
    Labels enter as one-hot input features (``cond="concat"``) or through a projection head.
    ``act="maxout"`` (or ``maxout:K``) makes each block a maxout layer, PacGAN's toy D.
    """

    def __init__(self, in_shape: tuple = (1, 28, 28), widths: tuple = (512, 256), act: str = "leaky_relu",
                 norm: str = "none", dropout: float = 0.0, num_classes: int = 0, out_dim: int = 1,
                 cond: str = "concat"):
        super().__init__()
        self.num_classes = num_classes
        self.label_features = num_classes if check_cond(cond) == "concat" else 0
        layers, d = [], math.prod(in_shape) + self.label_features
        pieces = maxout_pieces(act)
        for w in widths:
            if pieces:
                layers += [Maxout(d, w, pieces), norm1d(norm, w)]
            else:
                layers += [nn.Linear(d, w), norm1d(norm, w), activation(act)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            d = w
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(d, out_dim)
        self.feature_dim = d
        self.project = LabelProjection(num_classes, d) if num_classes and cond == "projection" else None

    def features(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = x.flatten(1)
        if self.label_features:
            h = torch.cat([h, one_hot(y, self.num_classes)], 1)
        return self.body(h)
