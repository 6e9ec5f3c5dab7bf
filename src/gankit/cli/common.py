"""Argument helpers shared by several commands."""
from __future__ import annotations

import argparse

from ..errors import GankitError


def add_data_args(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument("--data", metavar="NAME", required=required,
                   help="dataset name (see `gankit datasets`), e.g. mnist, mnist-5k, image-folder, toy2d-ring")
    p.add_argument("--data-root", metavar="PATH", help="folder holding the dataset's files")


def add_device_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", metavar="D", help="auto (default), cpu, cuda, cuda:N or mps")


def check_seed(seed: int, flag: str = "--seed") -> int:
    """PyTorch's generators take seeds in [0, 2**64); a seed outside fails deep inside with Overflow."""
    if not 0 <= seed < 2 ** 63:
        raise GankitError(f"{flag} must be in [0, 2**63), got {seed}")
    return seed


def device_of(args) -> str:
    from ..train.distributed import pick_device

    return str(pick_device(getattr(args, "device", None) or "auto"))
