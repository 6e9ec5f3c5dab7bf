"""Super-resolution pairs from any image dataset: low-resolution (LR) inputs are high-resolution (HR)
images downscaled by bicubic filtering with antialiasing (``F.interpolate(mode="bicubic",
antialias=True)``: Keys' cubic with a = -0.5 widened by the scale factor, as PIL's BICUBIC resize
and MATLAB's ``imresize``, with which the standard SR benchmarks were made), then rounded to uint8 as if saved to a file, so training sees the
quantisation that `gankit upscale` inputs have.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import GankitError


def trim_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Centre-crop a batch [N, C, H, W] so that H and W are divisible by ``multiple``."""
    h, w = x.shape[-2:]
    if h < multiple or w < multiple:
        raise GankitError(f"images of {w}x{h} px are smaller than the scale factor {multiple}")
    top, left = (h % multiple) // 2, (w % multiple) // 2
    return x[..., top:top + h - h % multiple, left:left + w - w % multiple]


def bicubic_down(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """uint8 HR batch with sides divisible by ``scale`` -> uint8 LR batch (bicubic, antialiased, rounded)."""
    h, w = hr.shape[-2:]
    if h % scale or w % scale:
        raise GankitError(f"HR images of {w}x{h} px are not divisible by the scale {scale}")
    lr = F.interpolate(hr.float(), size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False)
    return lr.round().clamp(0, 255).to(torch.uint8)


def bicubic_up(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """The baseline every SR model is compared with: float [-1, 1] LR -> bicubic x scale, clamped."""
    return F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False).clamp(-1, 1)


def sr_pairs(hr: torch.Tensor, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Whole held-out images -> (LR, HR) uint8, HR centre-cropped to a multiple of ``scale``."""
    hr = trim_to_multiple(hr, scale)
    return bicubic_down(hr, scale), hr


def sr_crops(crop_size: int, scale: int, flip: bool):
    """Batch transform for training: a random ``crop_size`` HR crop of each image (and a coin for a
    horizontal flip), its LR version as ``x`` and the crop as ``x_b``. Draws from the loader's
    generator, so an exact resume replays it."""
    if crop_size % scale:
        raise GankitError(f"config key 'data.crop_size' ({crop_size}) must be divisible by model.scale ({scale})")

    def fn(batch: dict, gen: torch.Generator) -> dict:
        x = batch["x"]
        h, w = x.shape[-2:]
        if h < crop_size or w < crop_size:
            raise GankitError(f"images are {w}x{h} px, smaller than data.crop_size {crop_size}")
        n = x.shape[0]
        tops = torch.randint(h - crop_size + 1, (n,), generator=gen).tolist()
        lefts = torch.randint(w - crop_size + 1, (n,), generator=gen).tolist()
        flips = (torch.rand(n, generator=gen) < 0.5).tolist() if flip else [False] * n
        crops = []
        for k in range(n):
            c = x[k, :, tops[k]:tops[k] + crop_size, lefts[k]:lefts[k] + crop_size]
            crops.append(c.flip(-1) if flips[k] else c)
        hr = torch.stack(crops)
        out = {k: v for k, v in batch.items() if k not in ("x", "x_b")}
        out["x"], out["x_b"] = bicubic_down(hr, scale), hr
        return out

    return fn
