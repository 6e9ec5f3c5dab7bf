"""Adversarial losses as pure functions of discriminator logits (or critic values).

Each family gives a D loss ``d(real, fake)`` and a G loss ``g(fake)``; both return scalar means.
Conventions follow each paper; logits are never passed through a sigmoid first, so BCE uses
the numerically stable ``softplus`` form: -log sigmoid(t) = softplus(-t).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import GankitError
from .dtype import in_float32


@in_float32
def d_bce(real: Tensor, fake: Tensor) -> Tensor:
    """Goodfellow et al. 2014, D maximises E[log D(x)] + E[log(1 - D(G(z)))]:
    L_D = E[softplus(-D_logit(x))] + E[softplus(D_logit(G(z)))]."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


@in_float32
def g_bce_saturating(fake: Tensor) -> Tensor:
    """The minimax G loss, L_G = E[log(1 - D(G(z)))] = -E[softplus(D_logit(G(z)))].
    Its gradient vanishes when D(G(z)) ~ 0, i.e. early in training (Goodfellow et al. 2014, §3)."""
    return -F.softplus(fake).mean()


@in_float32
def g_bce_nonsaturating(fake: Tensor) -> Tensor:
    """The non-saturating G loss, L_G = -E[log D(G(z))] = E[softplus(-D_logit(G(z)))]:
    same fixed point, strong gradients when D rejects the samples (Goodfellow et al. 2014, §3)."""
    return F.softplus(-fake).mean()


@in_float32
def d_lsgan(real: Tensor, fake: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Mao et al. 2017, eq. 2: L_D = 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2], on raw outputs."""
    return 0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean()


@in_float32
def g_lsgan(fake: Tensor, c: float = 1.0) -> Tensor:
    """Mao et al. 2017, eq. 2: L_G = 1/2 E[(D(G(z)) - c)^2]."""
    return 0.5 * ((fake - c) ** 2).mean()


@in_float32
def d_wasserstein(real: Tensor, fake: Tensor) -> Tensor:
    """Arjovsky et al. 2017: the critic maximises E[f(x)] - E[f(G(z))]; L_D = E[f(G(z))] - E[f(x)].
    Lipschitz continuity comes from weight clipping (WGAN) or a gradient penalty (WGAN-GP)."""
    return fake.mean() - real.mean()


@in_float32
def g_wasserstein(fake: Tensor) -> Tensor:
    """Arjovsky et al. 2017: L_G = -E[f(G(z))]."""
    return -fake.mean()


@in_float32
def d_hinge(real: Tensor, fake: Tensor) -> Tensor:
    """Lim & Ye 2017; Miyato et al. 2018: L_D = E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


@in_float32
def g_hinge(fake: Tensor) -> Tensor:
    """Lim & Ye 2017: L_G = -E[D(G(z))]."""
    return -fake.mean()


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
    return ((grad.reshape(real.shape[0] // pack, -1).norm(2, dim=1) - 1.0) ** 2).mean()


@dataclass(frozen=True)
class LossFamily:
    """A named pair of D and G losses and the paper they come from."""
    name: str
    d: Callable[..., Tensor]
    g: Callable[..., Tensor]
    paper: str

    def boundary(self, a: float = 0.0, b: float = 1.0) -> float | None:
        """D's output between its verdicts "fake" and "real": 0 for logits (BCE, hinge), (a + b) / 2
        for least squares with targets a and b, None for a Wasserstein critic, whose scores shift
        freely by a constant."""
        if self.d is d_wasserstein:
            return None
        return (a + b) / 2 if self.d is d_lsgan else 0.0


LOSSES: dict[str, LossFamily] = {
    "bce": LossFamily("bce", d_bce, g_bce_nonsaturating, "Goodfellow et al. 2014 (non-saturating G)"),
    "bce-saturating": LossFamily("bce-saturating", d_bce, g_bce_saturating, "Goodfellow et al. 2014 (minimax G)"),
    "lsgan": LossFamily("lsgan", d_lsgan, g_lsgan, "Mao et al. 2017"),
    "wgan": LossFamily("wgan", d_wasserstein, g_wasserstein, "Arjovsky et al. 2017"),
    "wgan-gp": LossFamily("wgan-gp", d_wasserstein, g_wasserstein, "Gulrajani et al. 2017"),
    "hinge": LossFamily("hinge", d_hinge, g_hinge, "Lim & Ye 2017; Miyato et al. 2018"),
}


def get_loss(name: str) -> LossFamily:
    if name not in LOSSES:
        raise GankitError(f"unknown loss '{name}'; choose one of: {', '.join(LOSSES)}")
    return LOSSES[name]
