"""Regularisers of D: penalties on its input gradients, added to D's loss whatever the loss family.

Each is ``fn(critic, real, fake, pack)`` on D's inputs (``critic`` maps inputs to logits), returned
without its weight; the registry names the ``cfg.loss`` key that holds the weight.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                     generator: torch.Generator | None = None, pack: int = 1) -> Tensor:
    """Gulrajani et al. 2017, eq. 3: E[(||grad_x̂ f(x̂)||_2 - 1)^2] with x̂ = εx + (1-ε)x̃, ε ~ U[0, 1]
    per sample. Returned without the λ factor. With ``pack`` = m > 1 the critic judges each run of m
    consecutive samples jointly (PacGAN): ε is drawn per pack and the norm is over the pack's gradient."""
    eps = torch.rand((real.shape[0] // pack,) + (1,) * (real.ndim - 1), device=real.device, dtype=real.dtype,
                     generator=generator).repeat_interleave(pack, 0)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.float().reshape(real.shape[0] // pack, -1).norm(2, dim=1) - 1.0) ** 2).mean()


def half_grad_norm2(critic: Callable[[Tensor], Tensor], x: Tensor, pack: int = 1) -> Tensor:
    """Mescheder et al. 2018, eq. 9-10: R1 = γ/2 E[||grad_x D(x)||^2] on real samples (R2: on fakes),
    returned as 1/2 E[||grad_x D(x)||^2], without γ. With ``pack`` = m the norm is over each pack's gradient."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return 0.5 * grad.float().reshape(x.shape[0] // pack, -1).pow(2).sum(1).mean()


@dataclass(frozen=True)
class Regulariser:
    name: str
    paper: str
    fn: Callable[..., Tensor]   # fn(critic, real, fake, pack)
    weight_key: str             # the cfg.loss key of its weight
    log: str                    # logged unweighted as d/<log>


REGULARISERS: dict[str, Regulariser] = {r.name: r for r in (
    Regulariser("gp", "Gulrajani et al. 2017", lambda critic, real, fake, pack: gradient_penalty(critic, real, fake, pack=pack),
                "gp_weight", "gradient_penalty"),
    Regulariser("r1", "Mescheder et al. 2018", lambda critic, real, fake, pack: half_grad_norm2(critic, real, pack),
                "r1_gamma", "r1"),
    Regulariser("r2", "Mescheder et al. 2018", lambda critic, real, fake, pack: half_grad_norm2(critic, fake, pack),
                "r2_gamma", "r2"),
)}
