"""Reading and writing image files with one-line errors for bad input."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import GankitError
from .base import to_uint8

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".pgm", ".ppm", ".bmp", ".webp", ".tif", ".tiff"}


# Modes of one grey channel wider than 8 bits: PIL's convert("L") clips them (a 16-bit PNG turns white).
_WIDE_GREY = ("I", "I;16", "I;16B", "I;16L", "I;16N")


def _to_8bit(im: Image.Image, path: Path) -> Image.Image:
    """Any decoded mode -> L, RGB (or RGBA/LA when the image has transparency), 8 bits a channel."""
    if im.mode in _WIDE_GREY:  # 16-bit grey (PNG, TIFF, PGM): 0..65535 -> 0..255
        arr = np.asarray(im, dtype=np.float64)
        return Image.fromarray(np.clip(np.round(arr / 257.0), 0, 255).astype(np.uint8), "L")
    if im.mode == "F":
        raise GankitError(f"cannot read image {path}: 32-bit float pixels have no fixed range; save it as an "
                          "8- or 16-bit PNG")
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (im.mode == "P" and "transparency" in im.info):
        return im.convert("RGBA")
    return im


def read_image(path: str | Path, channels: int | None = None, size: int | tuple[int, int] | None = None) -> torch.Tensor:
    """Decode one file to uint8 [C, H, W]; convert to ``channels`` (1 or 3) and resize to ``size``
    (an int is a square side; a (H, W) tuple is exact) with bicubic filtering.

    16-bit grey is scaled to 8 bits (not clipped); CMYK, palette and other modes are converted;
    transparent pixels are composited over white (the alpha channel is then dropped); the EXIF
    orientation is applied; images over PIL's pixel limit (decompression bombs) are refused."""
    path = Path(path)
    if not path.is_file():
        raise GankitError(f"image {path} does not exist")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.load()
                if channels is None:
                    channels = 1 if im.mode in ("L", "LA", "La", "1", "F") + _WIDE_GREY else 3
                im = _to_8bit(ImageOps.exif_transpose(im), path)
        if channels not in (1, 3):
            raise GankitError(f"channels must be 1 or 3, got {channels}")
        if im.mode == "RGBA":
            im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)), im)
        im = im.convert("L" if channels == 1 else "RGB")
        if size is not None:
            hw = (size, size) if isinstance(size, int) else tuple(size)
            if im.size != (hw[1], hw[0]):
                im = im.resize((hw[1], hw[0]), Image.BICUBIC)
        arr = np.asarray(im, dtype=np.uint8)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise GankitError(f"cannot read image {path}: it declares more than {Image.MAX_IMAGE_PIXELS or 0:,} "
                          "pixels (PIL's limit against decompression bombs); resize it first") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
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
    arr = to_uint8(x).cpu()
    arr = arr[0].numpy() if arr.shape[0] == 1 else arr.permute(1, 2, 0).numpy()
    save_pil(Image.fromarray(arr), path)
    return path


def save_pil(im: Image.Image, path: Path, **kwargs) -> None:
    """PIL's save, with one line for an unknown extension or an unwritable path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        im.save(path, **kwargs)
    except ValueError as e:
        raise GankitError(f"cannot write {path}: {e} (use .png, .jpg, .gif, ...)") from None
    except OSError as e:
        raise GankitError(f"cannot write {path}: {e.strerror or e}") from None


def make_grid(x: torch.Tensor, nrow: int | None = None, pad: int = 2) -> torch.Tensor:
    """[N, C, H, W] in [-1, 1] -> one [C, H', W'] image in torchvision's grid layout (1-channel
    images become 3 channels, a single image is returned unpadded). Written here, not imported from
    torchvision.utils, for start-up: importing torchvision takes seconds (tested equal)."""
    x = x.detach().float().cpu().clamp(-1, 1)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    n, c, h, w = x.shape
    if n == 1:
        return x[0].clone()
    cols = min(nrow or max(1, int(np.ceil(np.sqrt(n)))), n)
    rows = -(-n // cols)
    grid = x.new_full((c, rows * (h + pad) + pad, cols * (w + pad) + pad), -1.0)
    for i in range(n):
        r, k = divmod(i, cols)
        grid[:, pad + r * (h + pad):pad + r * (h + pad) + h, pad + k * (w + pad):pad + k * (w + pad) + w] = x[i]
    return grid


def save_grid(x: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
    return save_image(make_grid(x, nrow), path)


def save_points(points: torch.Tensor, path: str | Path, reference: torch.Tensor | None = None) -> Path:
    """Scatter plot of 2-D samples (toy datasets), real points in grey behind. With real points the
    axes are square and fixed by them (plots of one run compare step to step); generated points
    beyond are drawn at the frame's edge as crosses, so strays stay counted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    p = points.detach().float().cpu().numpy()
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    frame = p
    if reference is not None:
        frame = reference[:2500].float().cpu().numpy()
        ax.scatter(frame[:, 0], frame[:, 1], s=6, c="0.65", alpha=0.6, lw=0, label="real")
    lo, hi = frame.min(0), frame.max(0)
    centre = (lo + hi) / 2
    half = max(float((hi - lo).max()) / 2 * (1.5 if reference is not None else 1.08), 1e-3)
    inside = (np.abs(p - centre) <= half).all(1)
    ax.scatter(p[inside, 0], p[inside, 1], s=14, c="tab:red", lw=0, label="generated")
    if not inside.all():
        edge = centre + np.clip(p[~inside] - centre, -0.97 * half, 0.97 * half)
        ax.scatter(edge[:, 0], edge[:, 1], s=22, c="tab:red", marker="x", lw=1, label="generated, off the plot")
    ax.set_xlim(centre[0] - half, centre[0] + half)
    ax.set_ylim(centre[1] - half, centre[1] + half)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.25)
    ax.legend(loc="upper right", fontsize=8, markerscale=1.5, framealpha=0.9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
