"""Walking between latent codes: small steps in z give small changes in G(z) (latent continuity)."""
from __future__ import annotations

import torch
from torch import Tensor


def lerp(a: Tensor, b: Tensor, t: Tensor | float) -> Tensor:
    """(1 - t) a + t b."""
    return a + (b - a) * t


def slerp(a: Tensor, b: Tensor, t: Tensor | float, eps: float = 1e-7) -> Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016 for GAN latents): follows the great circle
    between a and b, with the norm interpolated linearly, so intermediate codes keep a typical norm
    for a Gaussian prior instead of shrinking toward the origin as a straight line does."""
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    ua, ub = a / na.clamp_min(eps), b / nb.clamp_min(eps)
    omega = torch.acos((ua * ub).sum(-1, keepdim=True).clamp(-1 + eps, 1 - eps))
    so = torch.sin(omega)
    direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / so
    return direction * lerp(na, nb, t)


@torch.no_grad()
def interpolate(G, z0: Tensor, z1: Tensor, steps: int = 8, spherical: bool = False, label: int | None = None) -> tuple[Tensor, Tensor]:
    """(codes [steps, z_dim], images [steps, C, H, W]) along the path from z0 to z1."""
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    z = (slerp if spherical else lerp)(z0.view(1, -1), z1.view(1, -1), t)
    return z, generate(G, z, label)


@torch.no_grad()
def generate(G, z: Tensor, label: int | None = None) -> Tensor:
    device = next(G.parameters()).device
    y = torch.full((len(z),), label, device=device) if getattr(G, "num_classes", 0) else None
    if y is not None and label is None:
        y = torch.arange(len(z), device=device) % G.num_classes
    return G(z.to(device), y).float().cpu()
