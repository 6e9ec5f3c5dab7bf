"""Paired image metrics (translation, super-resolution): L1, PSNR, SSIM via torchmetrics."""
from __future__ import annotations

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from ..errors import GankitError


def paired_metrics(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """Images in [-1, 1], N x C x H x W, compared on the [0, 1] scale (data range 1)."""
    if pred.shape != target.shape:
        raise GankitError(f"paired metrics need equal shapes, got {tuple(pred.shape)} and {tuple(target.shape)}")
    p, t = (pred.float().clamp(-1, 1) + 1) / 2, (target.float().clamp(-1, 1) + 1) / 2
    return {"l1": float((p - t).abs().mean() * 2),  # on the [-1, 1] scale, as the pix2pix loss sees it
            "psnr": float(peak_signal_noise_ratio(p, t, data_range=1.0)),
            "ssim": float(structural_similarity_index_measure(p, t, data_range=1.0))}
