"""Discriminator health numbers, computed from logits (SPEC §3)."""
from __future__ import annotations

from collections import deque

import torch
from torch import Tensor


@torch.no_grad()
def d_stats(real: Tensor, fake: Tensor) -> dict[str, Tensor]:
    """Accuracy on real (logit > 0) and fake (logit < 0), logit means/stds, and E[sign(D(x_real))],
    the per-batch term of the overfitting signal r_t. Multi-dimensional logits (PatchGAN maps)
    are judged per patch."""
    real, fake = real.detach().float(), fake.detach().float()
    return {
        "d/acc_real": (real > 0).float().mean(),
        "d/acc_fake": (fake < 0).float().mean(),
        "d/logit_real_mean": real.mean(),
        "d/logit_real_std": real.std() if real.numel() > 1 else real.new_zeros(()),
        "d/logit_fake_mean": fake.mean(),
        "d/logit_fake_std": fake.std() if fake.numel() > 1 else fake.new_zeros(()),
        "d/sign_real": real.sign().mean(),
    }


class RtWindow:
    """r_t = E[sign(D_logit(x_real))] over the last ``window`` real batches (Karras et al. 2020)."""

    def __init__(self, window: int):
        self.values: deque[float] = deque(maxlen=window)

    def add(self, v: float) -> None:
        self.values.append(float(v))

    @property
    def value(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None

    def state_dict(self) -> dict:
        return {"values": list(self.values)}

    def load_state_dict(self, s: dict) -> None:
        self.values.clear()
        self.values.extend(s["values"])
