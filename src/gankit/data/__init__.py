"""Datasets (in-memory tensors) and batch loading."""
from __future__ import annotations

import torch.nn.functional as F

from ..errors import GankitError
from . import folder, mnist, toy  # noqa: F401  (register datasets)
from . import translation  # noqa: F401  (paired/unpaired translation datasets)
from .base import DATASETS, Batches, ImageData, Loader, limit_examples, register_dataset, to_float, to_uint8
from .io import IMAGE_EXTS, expand_inputs, make_grid, read_image, save_grid, save_image, save_points
from .mnist import default_data_root, load_mnist

__all__ = ["DATASETS", "Batches", "ImageData", "Loader", "build_dataset", "register_dataset", "to_float",
           "to_uint8", "read_image", "save_grid", "save_image", "save_points", "make_grid", "expand_inputs",
           "default_data_root", "load_mnist", "limit_examples"]


def build_dataset(cfg_data, seed: int = 0) -> ImageData:
    """Build the dataset named by ``cfg_data.name``; resize/convert where the config asks."""
    name = cfg_data.name
    if name not in DATASETS:
        raise GankitError(f"unknown dataset '{name}'; choose one of: {', '.join(sorted(DATASETS))}")
    data = DATASETS[name][0](cfg_data, seed)
    if data.kind == "image":
        data.x = conform(data.x, cfg_data.channels, cfg_data.image_size, what=name)
    return limit_examples(data, cfg_data.limit, seed)


def conform(x, channels: int | None, size: int | None, what: str = "images"):
    """Convert a uint8 image batch to ``channels`` (1<->3) and square ``size`` (bilinear, antialiased)."""
    if channels is not None and channels != x.shape[1]:
        if channels == 3 and x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1).contiguous()
        elif channels == 1 and x.shape[1] == 3:
            w = (0.299, 0.587, 0.114)  # ITU-R 601 luma, as PIL's convert("L")
            x = sum(wi * x[:, i:i + 1].float() for i, wi in enumerate(w)).round().clamp(0, 255).byte()
        else:
            raise GankitError(f"{what}: cannot convert {x.shape[1]} channels to {channels} (expected 1 or 3)")
    if size is not None and size != x.shape[-1]:
        x = F.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True,
                          align_corners=False).round().clamp(0, 255).byte()
    return x
