"""Weight averaging shared by the engine (EMA of G) and recipes that average another net (SGAN's D)."""
from __future__ import annotations

import torch


def ema_warmup(decay: float):
    """EMA update with decay min(decay, (1 + n) / (10 + n)) after n updates (TensorFlow's
    ExponentialMovingAverage num_updates): a fixed 0.999 would keep 60% of the initial weights
    after 500 steps, so a short run's samples (and the collapse alarm) would see noise."""
    def avg(averaged, current, n):
        d = torch.clamp((1 + n) / (10 + n), max=decay)
        return averaged * d + current * (1 - d)
    return avg
