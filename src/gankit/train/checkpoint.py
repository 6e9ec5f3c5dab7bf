"""Checkpoints that survive kills, bit flips and full disks.

A checkpoint is serialised in memory first (so its size is known and a full disk surfaces as an
``OSError``, not as a torch traceback), written to a temporary file, flushed, then renamed over
the target. It carries the sha256 of its content, checked on load: a flipped bit is found, not
resumed from.
"""
from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import shutil
from pathlib import Path

import torch

from ..errors import GankitError

_STEP_RE = re.compile(r"step-(\d+)\.pt$")
DIGEST_KEY = "sha256"
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class CorruptCheckpoint(GankitError):
    def __init__(self, path: Path, why: str):
        super().__init__(f"checkpoint {path} is corrupt ({why})")
        self.path, self.why = path, why


class CheckpointWriteError(GankitError):
    """A checkpoint could not be written; the file it would have replaced is untouched."""


def content_digest(obj) -> str:
    """sha256 of a checkpoint's content: tensors by dtype, shape and values (whatever their memory
    layout), containers and plain values by their structure and ``repr``."""
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()


def _feed(h, obj) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous().reshape(-1)
        h.update(f"T{t.dtype}{tuple(obj.shape)}".encode())
        h.update(t.view(torch.uint8).numpy())
    elif isinstance(obj, dict):
        h.update(b"D%d" % len(obj))
        for k in sorted(obj, key=repr):  # optimizer states have int keys, the rest str
            h.update(repr(k).encode())
            _feed(h, obj[k])
    elif isinstance(obj, (list, tuple)):
        h.update(b"L%d" % len(obj))
        for v in obj:
            _feed(h, v)
    else:
        h.update(f"{type(obj).__name__}:{obj!r};".encode())


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 2**10:.0f} kB"


def _free_bytes(directory: Path) -> int:
    return shutil.disk_usage(directory).free


def _write_file(path: Path, data) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_atomic(obj: dict, path: str | Path) -> Path:
    """A crash, a kill or a full disk during the write leaves the previous file at ``path``
    untouched and no temporary file behind (a kill may leave one: :func:`clean_temporary`)."""
    path = Path(path)
    buf = io.BytesIO()
    torch.save({**obj, DIGEST_KEY: content_digest(obj)}, buf)
    data = buf.getbuffer()
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if _free_bytes(path.parent) < len(data):  # refused before a byte is written
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        try:
            _write_file(tmp, data)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(path.parent)
    except OSError as e:
        if e.errno in _DISK_FULL:
            free = shutil.disk_usage(path.parent).free if path.parent.is_dir() else 0
            why = f"the disk is full (needs {_size(len(data))}, {_size(free)} free)"
        else:
            why = e.strerror or str(e)
        raise CheckpointWriteError(f"cannot write checkpoint {path}: {why}") from None
    return path


def load_checkpoint(path: str | Path) -> dict:
    """Load with ``weights_only=True`` (tensors and plain containers only, no arbitrary pickles)
    and check the content against the sha256 saved with it."""
    path = Path(path)
    if not path.is_file():
        raise GankitError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, bad pickle opcode, ...
        raise CorruptCheckpoint(path, f"{type(e).__name__} on reading: truncated, or not a gankit checkpoint") from None
    if not isinstance(state, dict) or "nets" not in state:
        raise CorruptCheckpoint(path, "not a gankit checkpoint")
    digest = state.pop(DIGEST_KEY, None)  # checkpoints from before checksums have none
    if digest is not None and content_digest(state) != digest:
        raise CorruptCheckpoint(path, "its content does not match the sha256 saved with it")
    return state


def step_checkpoints(ckpt_dir: str | Path) -> list[Path]:
    """Numbered checkpoints, oldest first."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in ckpt_dir.iterdir() if (m := _STEP_RE.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(ckpt_dir: str | Path) -> Path | None:
    found = step_checkpoints(ckpt_dir)
    return found[-1] if found else None


def latest_good_checkpoint(ckpt_dir: str | Path) -> tuple[Path | None, dict | None, list[CorruptCheckpoint]]:
    """The newest numbered checkpoint that loads and matches its checksum, its state, and the newer
    ones that did not (newest first)."""
    bad = []
    for p in reversed(step_checkpoints(ckpt_dir)):
        try:
            return p, load_checkpoint(p), bad
        except CorruptCheckpoint as e:
            bad.append(e)
    return None, None, bad


def clean_temporary(ckpt_dir: str | Path) -> None:
    """Remove the temporary files of writes a kill cut short."""
    ckpt_dir = Path(ckpt_dir)
    if ckpt_dir.is_dir():
        for p in ckpt_dir.glob(".*.pt.tmp-*"):
            p.unlink(missing_ok=True)


def prune(ckpt_dir: str | Path, keep: int) -> None:
    for p in step_checkpoints(ckpt_dir)[:-keep]:
        p.unlink()


def write_checkpoint(state: dict, path: Path, last: Path | None) -> None:
    """save_atomic, whose failure names the last good checkpoint (``last``), which is left intact."""
    try:
        save_atomic(state, path)
    except CheckpointWriteError as e:
        raise GankitError(f"{e}; last good checkpoint: {last or 'none yet'} (earlier checkpoints are intact)") from None


def check_architecture(nets: dict, cfg, path: Path, saved: dict) -> None:
    """A changed network cannot take the checkpoint's weights: name the first tensor that differs
    and the config keys that changed."""
    for name, m in nets.items():
        mine, theirs = m.state_dict(), saved["nets"].get(name, {})
        for key in sorted(mine.keys() | theirs.keys()):
            a, b = mine.get(key), theirs.get(key)
            if a is not None and b is not None and a.shape == b.shape:
                continue

            def shape(t):
                return "absent" if t is None else f"shape {list(t.shape)}"
            old, new = _flat(saved["config"]), _flat(cfg.to_dict())
            changed = [f"{k} {old.get(k)} -> {new.get(k)}" for k in sorted(old.keys() | new.keys())
                       if k.split(".")[0] in ("model", "data") and old.get(k) != new.get(k)]
            raise GankitError(f"cannot resume from {path}: {name}.{key} is {shape(a)} in this config but "
                              f"{shape(b)} in the checkpoint" + (f" ({', '.join(changed[:3])})" if changed else "")
                              + "; a run's networks cannot change on resume")


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
