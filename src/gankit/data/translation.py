"""Datasets for image-to-image translation and pix2pix's jitter.

Paired sets come as side-by-side AB images (the pix2pix layout: A on the left, B on the right) or as
``A/`` and ``B/`` folders with matching file names; ``data.direction`` (AtoB | BtoA) says which side
is the input. Unpaired sets come as ``trainA/ trainB/ testA/ testB/`` (the CycleGAN layout).
Every image is read as ``data.channels`` (default 3): grayscale files in an RGB set are converted.
In memory: ``x`` holds the inputs, ``x_b`` the targets (or domain B), at ``data.load_size`` px.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import GankitError
from .base import ImageData, register_dataset
from .io import list_images, read_image
from .mnist import default_data_root


def _root(cfg, name: str) -> Path:
    if cfg.root is not None:
        return Path(cfg.root)
    base = default_data_root()
    if base is None:
        raise GankitError(f"dataset '{name}' needs --data-root FOLDER (or GANKIT_DATA holding {name}/)")
    return base / name


def _read_all(files: list[Path], channels: int, size: int | tuple[int, int] | None) -> torch.Tensor:
    imgs = [read_image(f, channels, size) for f in files]
    if len({tuple(i.shape) for i in imgs}) > 1:
        raise GankitError(f"images under {files[0].parent} differ in size; set data.load_size to resize them")
    return torch.stack(imgs)


def _direction(cfg) -> str:
    d = cfg.get("direction") or "AtoB"
    if d not in ("AtoB", "BtoA"):
        raise GankitError(f"config key 'data.direction' must be AtoB or BtoA, got {d!r}")
    return d


# datasets with label maps on one side (flat colours, one per class), scored by `gankit eval --metrics labels`
LABEL_MAP_SIDE = {"facades": "B", "facades-unpaired": "B"}
UNPAIRED_HELD_OUT = ("horse2zebra", "unpaired-folder")  # no targets to compare outputs with, only a domain


def eval_metrics_for(data: dict) -> str:
    """The `gankit eval --metrics` that fit a translator trained on ``data`` (a run's data config):
    label accuracy where it outputs label maps (FID of label maps says little), FID alone where the
    held-out split has no pairs, else the paired scores and FID."""
    target = "B" if (data.get("direction") or "AtoB") == "AtoB" else "A"
    if LABEL_MAP_SIDE.get(data.get("name")) == target:
        return "labels,paired"
    return "fid" if data.get("name") in UNPAIRED_HELD_OUT else "paired,fid"


def load_paired(root: str | Path, split: str, direction: str = "AtoB", size: int | None = None,
                channels: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) uint8 from ``root/split``: AB side-by-side images, or ``A/`` + ``B/`` folders."""
    folder = Path(root) / split
    if not folder.is_dir():
        raise GankitError(f"paired dataset split {folder} does not exist (expected {Path(root)}/{{train,val}})")
    if (folder / "A").is_dir() and (folder / "B").is_dir():
        fa, fb = list_images(folder / "A"), list_images(folder / "B")
        names_b = {f.relative_to(folder / "B") for f in fb}
        missing = [f for f in fa if f.relative_to(folder / "A") not in names_b]
        if missing or len(fa) != len(fb):
            raise GankitError(f"{folder}: A/ and B/ must hold files with the same names "
                              f"({len(fa)} vs {len(fb)} files{', e.g. no B for ' + missing[0].name if missing else ''})")
        if not fa:
            raise GankitError(f"{folder}/A holds no images")
        a, b = _read_all(fa, channels, size), _read_all(fb, channels, size)
    else:
        files = list_images(folder)
        if not files:
            raise GankitError(f"{folder} holds no images (expected AB side-by-side files or A/ and B/ folders)")
        halves = []
        for f in files:  # each file split at its own middle, then resized: AB files may differ in size
            ab = read_image(f, channels)
            w = ab.shape[-1]
            if w % 2 or w < 2:
                raise GankitError(f"{f} is {w} px wide; side-by-side AB images need an even width")
            halves.append([ab[..., :w // 2], ab[..., w // 2:]])
            if size is not None:
                from . import conform
                halves[-1] = [conform(h[None], None, size)[0] for h in halves[-1]]
        if len({tuple(h.shape) for pair in halves for h in pair}) > 1:
            raise GankitError(f"AB images under {folder} differ in size; set data.load_size=N to resize each half "
                              "to N x N")
        a, b = torch.stack([p[0] for p in halves]), torch.stack([p[1] for p in halves])
    return (a, b) if direction == "AtoB" else (b, a)


def load_unpaired(root: str | Path, split: str, size: int | None, channels: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """(domain A, domain B) uint8 from ``root/{split}A`` and ``root/{split}B``."""
    root = Path(root)
    out = []
    for dom in ("A", "B"):
        folder = root / f"{split}{dom}"
        files = list_images(folder) if folder.is_dir() else []
        if not files:
            raise GankitError(f"unpaired dataset needs images in {folder} (layout: trainA/ trainB/ testA/ testB/)")
        out.append(_read_all(files, channels, size))
    return out[0], out[1]


def _limit(x: torch.Tensor, limit: int | None, seed: int) -> torch.Tensor:
    if limit is None or limit >= x.shape[0]:
        return x
    return x[torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))[:limit].sort().values]


def _paired(cfg, seed: int, name: str) -> ImageData:
    direction = _direction(cfg)
    a, b = load_paired(_root(cfg, name), cfg.split, direction, cfg.get("load_size"), cfg.channels or 3)
    return ImageData(x=a, x_b=b, kind="paired", name=name, extra={"direction": direction})


def _unpaired(cfg, seed: int, name: str) -> ImageData:
    a, b = load_unpaired(_root(cfg, name), cfg.split, cfg.get("load_size"), cfg.channels or 3)
    if _direction(cfg) == "BtoA":  # x is always the input domain
        a, b = b, a
    return ImageData(x=_limit(a, cfg.limit, seed), x_b=_limit(b, cfg.limit, seed + 1), kind="unpaired", name=name)


@register_dataset("facades", "pix2pix CMP facades: 400 train / 100 val pairs, photo (A) | label map (B)")
def facades(cfg, seed: int) -> ImageData:
    return _paired(cfg, seed, "facades")


def unpaired_halves(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint, sorted halves of range(n), drawn from ``seed``: domain A's pairs and domain B's."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[:n // 2].sort().values, perm[n // 2:].sort().values


@register_dataset("facades-unpaired", "facades as unpaired data: photos (A) of half the train pairs, label maps (B) "
                                      "of the other half; val stays paired, to score translations")
def facades_unpaired(cfg, seed: int) -> ImageData:
    """CycleGAN's labels <-> photos task on facades. In the train split no photo's own label map is in
    domain B (disjoint halves, drawn from the run's seed), so nothing but the objective can pair them."""
    if cfg.split != "train":
        return _paired(cfg, seed, "facades")
    a, b = load_paired(_root(cfg, "facades"), "train", _direction(cfg), cfg.get("load_size"), cfg.channels or 3)
    ia, ib = unpaired_halves(a.shape[0], seed)
    a, b = a[ia], b[ib]
    return ImageData(x=_limit(a, cfg.limit, seed), x_b=_limit(b, cfg.limit, seed + 1), kind="unpaired",
                     name="facades-unpaired", extra={"pairs_a": ia.tolist(), "pairs_b": ib.tolist()})


@register_dataset("paired-folder", "paired images (--data-root): split/ of AB side-by-side files, or split/A + split/B")
def paired_folder(cfg, seed: int) -> ImageData:
    if cfg.root is None:
        raise GankitError("--data paired-folder needs --data-root FOLDER")
    return _paired(cfg, seed, "paired-folder")


@register_dataset("horse2zebra", "CycleGAN horse2zebra, unpaired: 1,067 horses (A) / 1,334 zebras (B)")
def horse2zebra(cfg, seed: int) -> ImageData:
    return _unpaired(cfg, seed, "horse2zebra")


@register_dataset("unpaired-folder", "unpaired images (--data-root) in trainA/ trainB/ testA/ testB/")
def unpaired_folder(cfg, seed: int) -> ImageData:
    if cfg.root is None:
        raise GankitError("--data unpaired-folder needs --data-root FOLDER")
    return _unpaired(cfg, seed, "unpaired-folder")


def eval_split(cfg, seed: int) -> ImageData:
    """The held-out split of a translation dataset (``data.eval_split``) at crop size, unjittered."""
    from . import build_dataset
    from ..config import Config

    d = cfg.to_dict()
    d.update(split=cfg.eval_split, load_size=cfg.crop_size, limit=None)
    return build_dataset(Config.wrap(d), seed)


def jitter(load_size: int, crop_size: int, flip: bool):
    """pix2pix's jitter (Isola et al. 2017, §6.2): per pair, one random ``crop_size`` crop of the
    ``load_size`` images and one coin for a horizontal flip, applied to both images alike. Draws from
    the loader's generator, so an exact resume replays it. (For unpaired sets the two images are
    unrelated and sharing the draw does no harm.)"""

    def fn(batch: dict, gen: torch.Generator) -> dict:
        a, b = batch["x"], batch["x_b"]
        if a.shape[-1] != load_size or a.shape[-2] != load_size:
            raise GankitError(f"jitter expects {load_size} px images, got {a.shape[-1]}x{a.shape[-2]}")
        n = a.shape[0]
        ij = torch.randint(load_size - crop_size + 1, (n, 2), generator=gen).tolist()
        flips = (torch.rand(n, generator=gen) < 0.5).tolist() if flip else [False] * n
        out_a, out_b = [], []
        for k, ((i, j), f) in enumerate(zip(ij, flips)):
            ca, cb = a[k, :, i:i + crop_size, j:j + crop_size], b[k, :, i:i + crop_size, j:j + crop_size]
            out_a.append(ca.flip(-1) if f else ca)
            out_b.append(cb.flip(-1) if f else cb)
        out = dict(batch)
        out["x"], out["x_b"] = torch.stack(out_a), torch.stack(out_b)
        return out

    return fn
