"""2-D Gaussian mixtures of the PacGAN protocol (Lin et al., 2018)."""
from __future__ import annotations

import math

import torch

from .base import ImageData, register_dataset

RING_STD, GRID_STD = 0.01, 0.05


def ring_centers() -> torch.Tensor:
    """8 modes at (cos 2πi/8, sin 2πi/8)."""
    a = torch.arange(8, dtype=torch.float64) * 2 * math.pi / 8
    return torch.stack([a.cos(), a.sin()], 1).float()


def grid_centers() -> torch.Tensor:
    """25 modes at {-4, -2, 0, 2, 4}^2."""
    v = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    return torch.cartesian_prod(v, v)


def toy_spec(name: str) -> tuple[torch.Tensor, float]:
    return (ring_centers(), RING_STD) if name == "toy2d-ring" else (grid_centers(), GRID_STD)


def sample_mixture(centers: torch.Tensor, std: float, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(len(centers), (n,), generator=g)
    return centers[k] + std * torch.randn(n, 2, generator=g), k


def _toy(name: str):
    def build(cfg, seed: int) -> ImageData:
        centers, std = toy_spec(name)
        x, k = sample_mixture(centers, std, cfg.toy_n, seed)
        return ImageData(x=x, y=k, kind="points", name=name, class_names=[str(i) for i in range(len(centers))],
                         extra={"split": f"sampled (seed {seed})"})  # no split: fresh draws of the mixture
    return build


register_dataset("toy2d-ring", "8 Gaussians on the unit circle, std 0.01 (PacGAN)")(_toy("toy2d-ring"))
register_dataset("toy2d-grid", "25 Gaussians on a 5x5 grid, std 0.05 (PacGAN)")(_toy("toy2d-grid"))
