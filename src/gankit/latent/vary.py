"""Variations of one image: add small Gaussian noise to its code (SPEC §6)."""
from __future__ import annotations

import torch
from torch import Tensor

from .interpolate import generate


@torch.no_grad()
def vary(G, z: Tensor, sigma: float = 0.3, n: int = 16, seed: int = 0, label: int | None = None) -> tuple[Tensor, Tensor]:
    """(codes, images): the first is z itself, the rest z + sigma * noise."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, z.numel(), generator=g) * sigma
    noise[0] = 0
    codes = z.view(1, -1) + noise
    return codes, generate(G, codes, label)
