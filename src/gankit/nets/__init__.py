"""Networks: generators, discriminators, blocks and init policies. They know nothing of losses."""
from __future__ import annotations

import importlib

from .base import NETS, load_pretrained, read_config, register
from .init import INIT_POLICIES, init_weights

# every module that registers networks; load_pretrained imports them all so any saved class resolves
_NET_MODULES = ("mlp", "dcgan", "began", "translation", "sr", "sgan", "classifier")


def ensure_registered() -> None:
    for name in _NET_MODULES:
        importlib.import_module(f"{__name__}.{name}")


__all__ = ["NETS", "load_pretrained", "read_config", "register", "init_weights", "INIT_POLICIES", "ensure_registered"]
