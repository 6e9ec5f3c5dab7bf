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
)}
