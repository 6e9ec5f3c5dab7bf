"""Discriminator health numbers, computed from logits (SPEC §3): what a recipe logs after D's step."""
from __future__ import annotations

import torch
from torch import Tensor


@torch.no_grad()
def d_stats(real: Tensor, fake: Tensor, boundary: float | None = 0.0) -> dict[str, Tensor]:
    """Accuracy on real (output > ``boundary``) and fake (output < ``boundary``), output means/stds,
    and E[sign(D(x_real) - boundary)], the per-batch term of the overfitting signal r_t.
    ``boundary`` is the output between D's two verdicts: 0 for logits (BCE, hinge), (a + b) / 2 for
    least squares with targets a (fake) and b (real); the loss family says which
    (``AdversarialTerms.boundary``). A Wasserstein critic has none (None): its scores shift freely by
    a constant, so it logs no accuracy but its estimate of the Wasserstein distance,
    E[D(x_real)] - E[D(G(z))] (Arjovsky et al. 2017, §4), and no r_t either; a relativistic D (RaGAN),
    whose loss sees only score differences, logs the same gap under that name.
    Multi-dimensional outputs (PatchGAN maps) are judged per patch."""
    real, fake = real.detach().float(), fake.detach().float()
    stats = {
        "d/logit_real_mean": real.mean(),
        "d/logit_real_std": real.std() if real.numel() > 1 else real.new_zeros(()),
        "d/logit_fake_mean": fake.mean(),
        "d/logit_fake_std": fake.std() if fake.numel() > 1 else fake.new_zeros(()),
    }
    if boundary is None:
        return {**stats, "d/wasserstein_estimate": real.mean() - fake.mean()}
    return {"d/acc_real": (real > boundary).float().mean(), "d/acc_fake": (fake < boundary).float().mean(), **stats,
            "d/sign_real": (real - boundary).sign().mean()}
