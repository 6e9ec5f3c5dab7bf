"""Embedding a real image: find z_r minimising |x_r - G(z_r)| with Adam (Berthelot et al. 2017, §3.5)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import GankitError
from ..nets.uses import draw_z, z_prior_of


@dataclass
class InversionResult:
    z: Tensor            # [N, z_dim] best code per image
    recon: Tensor        # [N, C, H, W] G(z)
    error: Tensor        # [N] final mean absolute error per image (on the [-1, 1] scale)
    curves: Tensor       # [steps, N] per-image loss of the best restart at every step


def invert(G, images: Tensor, steps: int = 500, restarts: int = 4, lr: float = 0.05, loss: str = "l1",
           feature_weight: float = 0.0, features=None, label: int | None = None, seed: int = 0) -> InversionResult:
    """Optimise ``restarts`` random codes per image at once; keep the best per image.

    loss: "l1" (default, as BEGAN) or "l2"; ``features`` (a callable image -> features) adds
    ``feature_weight`` times the L2 distance of features (a perceptual term).
    """
    if not hasattr(G, "z_dim"):
        raise GankitError("inversion needs a noise generator (this one takes images)")
    if loss not in ("l1", "l2"):
        raise GankitError(f"inversion loss must be l1 or l2, got '{loss}'")
    k = getattr(G, "num_classes", 0)
    if k and label is None:
        raise GankitError("this generator is conditional: pass --label")
    device = next(G.parameters()).device
    G.eval()
    for p in G.parameters():
        p.requires_grad_(False)
    x = images.to(device).float()
    n = len(x)
    expect = tuple(G(torch.zeros(1, G.z_dim, device=device), torch.zeros(1, dtype=torch.long, device=device) if k else None).shape[1:])
    if tuple(x.shape[1:]) != expect:
        raise GankitError(f"images are {tuple(x.shape[1:])} but the generator makes {expect} (C x H x W)")
    g = torch.Generator().manual_seed(seed)
    uniform = z_prior_of(G) == "uniform"
    z = draw_z(restarts * n, G.z_dim, z_prior_of(G), g, device).requires_grad_(True)
    target = x.repeat(restarts, 1, 1, 1)
    y = torch.full((restarts * n,), label, device=device) if k else None
    opt = torch.optim.Adam([z], lr=lr)
    curves = []
    for _ in range(steps):
        out = G(z, y)
        diff = out - target
        per = diff.abs().flatten(1).mean(1) if loss == "l1" else diff.pow(2).flatten(1).mean(1)
        if feature_weight and features is not None:
            per = per + feature_weight * (features(out) - features(target)).pow(2).flatten(1).mean(1)
        opt.zero_grad(set_to_none=True)
        per.sum().backward()
        opt.step()
        if uniform:  # projected: a code outside [-1, 1] is one G never saw
            with torch.no_grad():
                z.clamp_(-1.0, 1.0)
        curves.append(per.detach().view(restarts, n))
    with torch.no_grad():
        out = G(z, y)
        err = (out - target).abs().flatten(1).mean(1).view(restarts, n)
        best = err.argmin(0)
        idx = best * n + torch.arange(n, device=device)
        curves_t = torch.stack(curves)[:, best, torch.arange(n)]
    for p in G.parameters():
        p.requires_grad_(True)
    return InversionResult(z=z.detach()[idx].cpu(), recon=out[idx].float().cpu(), error=err.min(0).values.cpu(),
                           curves=curves_t.cpu())
