"""Datasets as in-memory tensors, and a seeded, resumable, rank-sharded batch loader.

Images are decoded once into a uint8 tensor ``[N, C, H, W]``; a batch is converted to float
in [-1, 1] on the training device. No per-item Python transforms run in the training loop.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from ..errors import GankitError


@dataclass
class ImageData:
    """A dataset held in memory.

    kind: ``image`` (x: uint8 images), ``points`` (x: float [N, 2]), ``paired`` (x: A images,
    x_b: B images, same N), ``unpaired`` (x: domain A, x_b: domain B, any sizes).
    domain: what the images are, where a domain classifier exists for them (``digits``: MNIST's).
    """

    x: torch.Tensor
    y: torch.Tensor | None = None
    kind: str = "image"
    class_names: list[str] | None = None
    x_b: torch.Tensor | None = None
    name: str = ""
    extra: dict = field(default_factory=dict)
    domain: str | None = None

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def channels(self) -> int:
        return 0 if self.kind == "points" else int(self.x.shape[1])

    @property
    def image_size(self) -> int:
        return 0 if self.kind == "points" else int(self.x.shape[-1])

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.class_names else 0

    def info(self) -> dict:
        return {"name": self.name, "kind": self.kind, "n": len(self), "channels": self.channels,
                "image_size": self.image_size, "num_classes": self.num_classes,
                "class_names": self.class_names}


DatasetBuilder = Callable[..., ImageData]
DATASETS: dict[str, tuple[DatasetBuilder, str]] = {}


def register_dataset(name: str, help: str):
    def deco(fn: DatasetBuilder) -> DatasetBuilder:
        DATASETS[name] = (fn, help)
        return fn
    return deco


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1]."""
    return x.float().div_(127.5).sub_(1.0)


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255] (rounded, clamped)."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


class Loader:
    """Endless shuffled batches of one rank's shard; its position is part of a checkpoint.

    Every epoch draws a permutation from a private generator seeded by ``seed``; rank r of
    ``world`` takes every world-th index of it, so ranks never see the same example in a step.
    """

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        if n < batch_size * world:
            raise GankitError(
                f"dataset has {n} examples, fewer than one batch ({batch_size} x {world} ranks); lower --batch-size")
        self.n, self.batch_size, self.rank, self.world = n, batch_size, rank, world
        self.gen = torch.Generator().manual_seed(seed)
        self.epoch = 0
        self.cursor = 0
        self.perm = self._new_perm()

    def _new_perm(self) -> torch.Tensor:
        perm = torch.randperm(self.n, generator=self.gen)
        usable = (self.n // self.world) * self.world
        return perm[:usable][self.rank::self.world]

    def next_indices(self) -> torch.Tensor:
        if self.cursor + self.batch_size > len(self.perm):
            self.epoch += 1
            self.cursor = 0
            self.perm = self._new_perm()
        idx = self.perm[self.cursor:self.cursor + self.batch_size]
        self.cursor += self.batch_size
        return idx

    def state_dict(self) -> dict:
        return {"gen": self.gen.get_state(), "epoch": self.epoch, "cursor": self.cursor, "perm": self.perm}

    def load_state_dict(self, s: dict) -> None:
        self.gen.set_state(s["gen"])
        self.epoch, self.cursor, self.perm = int(s["epoch"]), int(s["cursor"]), s["perm"]


class Batches:
    """Turns a dataset into batches on a device: ``{"x": float, "y": labels?, "x_b": ...}``.

    ``labels``: whether batches carry the dataset's labels. ``transform`` (optional) maps the uint8 batch dict to a new one before conversion; the
    pix2pix jitter uses it to crop both images of a pair identically.
    """

    def __init__(self, data: ImageData, batch_size: int, seed: int, device: torch.device,
                 rank: int = 0, world: int = 1, transform: Callable[[dict, torch.Generator], dict] | None = None,
                 labels: bool = True):
        self.data, self.device, self.transform, self.labels = data, torch.device(device), transform, labels
        self.loader = Loader(len(data), batch_size, seed, rank, world)
        # domain B of an unpaired set is drawn independently
        self.loader_b = (Loader(data.x_b.shape[0], batch_size, seed + 7919, rank, world)
                         if data.kind == "unpaired" else None)
        self.aug_gen = torch.Generator().manual_seed(seed + 104729 + rank)

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        idx = self.loader.next_indices()
        d = self.data
        batch = {"x": d.x[idx]}
        if d.y is not None and self.labels:
            batch["y"] = d.y[idx]
        if d.kind == "paired":
            batch["x_b"] = d.x_b[idx]
        elif d.kind == "unpaired":
            batch["x_b"] = d.x_b[self.loader_b.next_indices()]
        if self.transform is not None:
            batch = self.transform(batch, self.aug_gen)
        out = {}
        for k, v in batch.items():
            v = v.to(self.device, non_blocking=True)
            out[k] = to_float(v) if v.dtype == torch.uint8 else v
        return out

    def state_dict(self) -> dict:
        s = {"a": self.loader.state_dict(), "aug": self.aug_gen.get_state()}
        if self.loader_b is not None:
            s["b"] = self.loader_b.state_dict()
        return s

    def load_state_dict(self, s: dict) -> None:
        self.loader.load_state_dict(s["a"])
        self.aug_gen.set_state(s["aug"])
        if self.loader_b is not None:
            self.loader_b.load_state_dict(s["b"])


def limit_examples(data: ImageData, limit: int | None, seed: int) -> ImageData:
    """Keep a seeded random subset of ``limit`` examples (e.g. 1,000 images for ADA studies)."""
    if limit is None or limit >= len(data):
        return data
    if limit < 1:
        raise GankitError(f"data.limit must be >= 1, got {limit}")
    idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:limit].sort().values
    data.x = data.x[idx]
    if data.y is not None:
        data.y = data.y[idx]
    if data.kind == "paired":
        data.x_b = data.x_b[idx]
    return data
