"""Reading and writing image files with one-line errors for bad input."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import GankitError
from .base import to_uint8

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".pgm", ".ppm", ".bmp", ".webp", ".tif", ".tiff"}


def read_image(path: str | Path, channels: int | None = None, size: int | tuple[int, int] | None = None) -> torch.Tensor:
    """Decode one file to uint8 [C, H, W]; convert to ``channels`` (1 or 3) and resize to ``size``
    (an int is a square side; a (H, W) tuple is exact) with bicubic filtering."""
    path = Path(path)
    if not path.is_file():
        raise GankitError(f"image {path} does not exist")
    try:
        with Image.open(path) as im:
            im.load()
            if channels is None:
                channels = 1 if im.mode in ("L", "1", "I", "I;16", "F") else 3
            if channels not in (1, 3):
                raise GankitError(f"channels must be 1 or 3, got {channels}")
            im = im.convert("L" if channels == 1 else "RGB")
            if size is not None:
                hw = (size, size) if isinstance(size, int) else tuple(size)
                if im.size != (hw[1], hw[0]):
                    im = im.resize((hw[1], hw[0]), Image.BICUBIC)
            arr = np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise GankitError(f"cannot read image {path}: not a valid or complete image ({type(e).__name__})") from None
    t = torch.from_numpy(arr.copy())
    return t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1).contiguous()


def list_images(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTS and p.is_file())


def expand_inputs(inputs: list[str | Path]) -> list[Path]:
    """Files and folders (searched recursively) -> image files, in order."""
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = list_images(p)
            if not found:
                raise GankitError(f"folder {p} holds no images ({', '.join(sorted(IMAGE_EXTS))})")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise GankitError(f"input {p} does not exist")
    return out


def save_image(x: torch.Tensor, path: str | Path) -> Path:
    """Save one image in [-1, 1] ([C, H, W]) to a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = to_uint8(x).cpu()
    arr = arr[0].numpy() if arr.shape[0] == 1 else arr.permute(1, 2, 0).numpy()
    Image.fromarray(arr).save(path)
    return path


def make_grid(x: torch.Tensor, nrow: int | None = None, pad: int = 2) -> torch.Tensor:
    """[N, C, H, W] in [-1, 1] -> one [C, H', W'] image (torchvision's grid layout)."""
    from torchvision.utils import make_grid as tv_grid

    n = x.shape[0]
    nrow = nrow or max(1, int(np.ceil(np.sqrt(n))))
    return tv_grid(x.detach().float().cpu().clamp(-1, 1), nrow=nrow, padding=pad, pad_value=-1.0)


def save_grid(x: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
    return save_image(make_grid(x, nrow), path)


def save_points(points: torch.Tensor, path: str | Path, reference: torch.Tensor | None = None) -> Path:
    """Scatter plot of 2-D samples (toy datasets), real points in grey behind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    if reference is not None:
        r = reference[:2500].cpu().numpy()
        ax.scatter(r[:, 0], r[:, 1], s=2, c="0.75", label="real")
    p = points.detach().cpu().numpy()
    ax.scatter(p[:, 0], p[:, 1], s=2, c="tab:red", label="generated")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
