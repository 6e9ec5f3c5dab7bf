"""Variations of one image: add small Gaussian noise to its code (SPEC §6)."""
from __future__ import annotations

import torch
from torch import Tensor

from .interpolate import generate


@torch.no_grad()
def vary(G, z: Tensor, sigma: float = 0.3, n: int = 16, seed: int = 0, label: int | None = None) -> tuple[Tensor, Tensor]:
    """(codes, images): the first is z itself, the rest z + sigma * noise (kept inside [-1, 1] for a
    generator trained on a uniform prior, which has seen no code outside it)."""
    from ..nets.uses import z_prior_of

    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, z.numel(), generator=g) * sigma
    noise[0] = 0
    codes = z.view(1, -1) + noise
    if z_prior_of(G) == "uniform":
        codes = codes.clamp(-1.0, 1.0)
    return codes, generate(G, codes, label)
