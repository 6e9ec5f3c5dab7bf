"""Cached feature statistics of real data, one file per (dataset, split, extractor, size, n)."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import torch

from ..config import cache_dir


def stats_key(**settings) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def is_cached(settings: dict) -> bool:
    return (cache_dir() / "features" / f"{stats_key(**settings)}.npz").is_file()


def cached_features(settings: dict, compute) -> np.ndarray:
    """Features of real data computed once and stored in the cache folder under a hash of the
    settings that produced them (the settings are stored beside them)."""
    folder = cache_dir() / "features"
    key = stats_key(**settings)
    path = folder / f"{key}.npz"
    if path.is_file():
        return np.load(path)["features"]
    feats = np.asarray(compute(), dtype=np.float64)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{key}.tmp.npz"
    np.savez(tmp, features=feats, settings=json.dumps(settings, default=str))
    tmp.replace(path)
    return feats


def real_images(cfg_data, split: str, n: int | None, seed: int = 0, labels: bool = False, used: dict | None = None):
    """Up to n real images of a dataset split, in [-1, 1] (a seeded random subset); with
    ``labels``, also their labels (None for unlabelled data). ``used["split"]`` receives the split
    the images came from (a dataset with one split, such as mnist-5k, ignores the one asked for)."""
    from ..config import Config
    from ..data import build_dataset, to_float

    c = Config.wrap(dict(cfg_data))
    c["split"] = split
    c["limit"] = None
    data = build_dataset(c, seed)
    if used is not None:
        used["split"] = data.extra.get("split", split)
    x, y = data.x, data.y
    if n is not None and n < len(x):
        keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
        x, y = x[keep], None if y is None else y[keep]
    x = to_float(x) if x.dtype == torch.uint8 else x
    return (x, y) if labels else x
