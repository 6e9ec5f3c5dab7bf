"""Atomic checkpoints: written to a temporary file, flushed, then renamed over the target."""
from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from ..errors import GankitError

_STEP_RE = re.compile(r"step-(\d+)\.pt$")


def save_atomic(obj: dict, path: str | Path) -> Path:
    """A crash during the write leaves the previous file at ``path`` untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_checkpoint(path: str | Path) -> dict:
    """Load with ``weights_only=True``: tensors and plain containers only, no arbitrary pickles."""
    path = Path(path)
    if not path.is_file():
        raise GankitError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, bad pickle opcode, ...
        raise GankitError(f"checkpoint {path} is corrupt or not a gankit checkpoint ({type(e).__name__})") from None


def step_checkpoints(ckpt_dir: str | Path) -> list[Path]:
    """Numbered checkpoints, oldest first."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in ckpt_dir.iterdir() if (m := _STEP_RE.search(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(ckpt_dir: str | Path) -> Path | None:
    found = step_checkpoints(ckpt_dir)
    return found[-1] if found else None


def prune(ckpt_dir: str | Path, keep: int) -> None:
    for p in step_checkpoints(ckpt_dir)[:-keep]:
        p.unlink()
