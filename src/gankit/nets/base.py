"""Save and load networks like diffusers: ``config.json`` + ``model.safetensors``.

A network class registered with :func:`register` records its constructor arguments, so
``save_pretrained(dir)`` can write them and ``load_pretrained(dir)`` can rebuild the network
from its class name alone: no pickle, no training code, no discriminator.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..errors import GankitError
from ..hub import resolve_model_dir
from ..version import __version__

NETS: dict[str, type[nn.Module]] = {}
CONFIG_NAME, WEIGHTS_NAME = "config.json", "model.safetensors"


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_jsonable(i) for i in v]
    if isinstance(v, list):
        return [_jsonable(i) for i in v]
    if isinstance(v, dict):
        return {k: _jsonable(i) for k, i in v.items()}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise TypeError(f"constructor argument {v!r} is not JSON-serialisable")


def register(cls: type[nn.Module]) -> type[nn.Module]:
    """Class decorator: remember constructor kwargs in ``self.init_kwargs``; add save/load."""
    init = cls.__init__
    sig = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        bound = sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        params = dict(bound.arguments)
        params.pop("self")
        init(self, *args, **kwargs)
        self.init_kwargs = _jsonable(params)
        if not hasattr(self, "meta"):
            self.meta = {}

    cls.__init__ = __init__
    cls.save_pretrained = save_pretrained
    cls.from_pretrained = classmethod(lambda c, path, device="cpu": load_pretrained(path, device, expect=c))
    NETS[cls.__name__] = cls
    return cls


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def save_pretrained(self: nn.Module, path: str | Path) -> Path:
    """Write ``config.json`` (class, kwargs, meta, the weights' sha256) and ``model.safetensors``
    into ``path``. Each is renamed into place whole; a kill between the two renames leaves a pair
    whose checksum disagrees, which loading reports."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tmp_weights, tmp_config = path / (WEIGHTS_NAME + ".tmp"), path / (CONFIG_NAME + ".tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}, str(tmp_weights))
    config = {"gankit_version": __version__, "class": type(self).__name__,
              "kwargs": self.init_kwargs, "meta": _jsonable(getattr(self, "meta", {})),
              "weights_sha256": file_sha256(tmp_weights)}
    tmp_config.write_text(json.dumps(config, indent=2))
    tmp_weights.replace(path / WEIGHTS_NAME)
    tmp_config.replace(path / CONFIG_NAME)
    return path


def read_config(path: str | Path) -> dict:
    """The ``config.json`` of a model folder or of a Hugging Face Hub id ``user/repo``."""
    path = resolve_model_dir(path)
    cfg_file = path / CONFIG_NAME
    if not path.is_dir():
        raise GankitError(f"{path} is not a model directory (expected a folder with {CONFIG_NAME} and "
                          f"{WEIGHTS_NAME}, or a Hugging Face Hub id user/repo)")
    if not cfg_file.is_file():
        raise GankitError(f"{path} has no {CONFIG_NAME}; export a generator with `gankit export RUN_DIR OUT_DIR`")
    try:
        cfg = json.loads(cfg_file.read_text())
    except json.JSONDecodeError as e:
        raise GankitError(f"{cfg_file} is not valid JSON ({e.msg})") from None
    if "class" not in cfg or "kwargs" not in cfg:
        raise GankitError(f"{cfg_file} is not a gankit model config (no 'class'/'kwargs')")
    return cfg


def load_pretrained(path: str | Path, device: str | torch.device = "cpu", expect: type | None = None) -> nn.Module:
    """Rebuild a saved network from its directory or Hub id ``user/repo`` (weights via safetensors, never pickle)."""
    from . import ensure_registered

    ensure_registered()
    path = resolve_model_dir(path)
    cfg = read_config(path)
    cls = NETS.get(cfg["class"])
    if cls is None:
        raise GankitError(f"{path}: unknown network class '{cfg['class']}' (saved by a newer gankit?)")
    if expect is not None and not issubclass(cls, expect):
        raise GankitError(f"{path} holds a {cfg['class']}, not a {expect.__name__}")
    net = cls(**cfg["kwargs"])
    net.meta = cfg.get("meta", {})
    weights = path / WEIGHTS_NAME
    if not weights.is_file():
        raise GankitError(f"{path} has no {WEIGHTS_NAME}")
    if "weights_sha256" in cfg and file_sha256(weights) != cfg["weights_sha256"]:  # exports before checksums have none
        raise GankitError(f"{weights} is corrupt: its sha256 differs from the one in {path / CONFIG_NAME} "
                          "(export the generator again: gankit export RUN_DIR OUT_DIR)")
    try:
        net.load_state_dict(load_file(str(weights), device="cpu"))
    except Exception as e:  # safetensors raises several types for corrupt files
        raise GankitError(f"cannot load weights {weights}: {str(e).splitlines()[0]}") from None
    return net.to(device).eval()
