"""Any folder of images; class subfolders become labels."""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import GankitError
from .base import ImageData, register_dataset
from .io import list_images, read_image


def load_folder(root: str | Path, channels: int | None, size: int | None) -> tuple[torch.Tensor, torch.Tensor | None, list[str] | None]:
    """Decode every image under ``root`` once. Without ``size`` all images must share one size;
    without ``channels`` the first image decides (others are converted to match)."""
    root = Path(root)
    if not root.is_dir():
        raise GankitError(f"image folder {root} does not exist")
    files = list_images(root)
    if not files:
        raise GankitError(f"image folder {root} holds no images (png, jpg, pgm, ...)")
    subdirs = sorted({f.relative_to(root).parts[0] for f in files if len(f.relative_to(root).parts) > 1})
    labelled = bool(subdirs) and all(len(f.relative_to(root).parts) > 1 for f in files)
    first = read_image(files[0], channels, size)
    channels = first.shape[0]
    out = torch.empty((len(files), *first.shape), dtype=torch.uint8)
    for i, f in enumerate(files):
        img = read_image(f, channels, size)
        if img.shape != first.shape:
            raise GankitError(
                f"{f} is {img.shape[2]}x{img.shape[1]} but {files[0].name} is {first.shape[2]}x{first.shape[1]}; "
                "set data.image_size to resize all images")
        out[i] = img
    if not labelled:
        return out, None, None
    labels = torch.tensor([subdirs.index(f.relative_to(root).parts[0]) for f in files])
    return out, labels, subdirs


@register_dataset("image-folder", "any folder of png/jpg/pgm images (--data-root); class subfolders become labels")
def image_folder(cfg, seed: int) -> ImageData:
    if cfg.root is None:
        raise GankitError("--data image-folder needs --data-root FOLDER")
    x, y, names = load_folder(cfg.root, cfg.channels, cfg.image_size)
    return ImageData(x=x, y=y, class_names=names, name=f"image-folder:{Path(cfg.root).name}",
                     extra={"split": "all"})  # no split: every image of the folder
