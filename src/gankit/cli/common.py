"""Argument helpers shared by several commands."""
from __future__ import annotations

import argparse


def add_data_args(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument("--data", metavar="NAME", required=required,
                   help="dataset name (see `gankit datasets`), e.g. mnist, mnist-5k, image-folder, toy2d-ring")
    p.add_argument("--data-root", metavar="PATH", help="folder holding the dataset's files")


def add_device_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", metavar="D", help="auto (default), cpu, cuda, cuda:N or mps")


def device_of(args) -> str:
    from ..train.distributed import pick_device

    return str(pick_device(getattr(args, "device", None) or "auto"))
