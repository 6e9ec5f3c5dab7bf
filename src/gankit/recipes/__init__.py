"""One module per GAN. The registry (``configs/recipes.yaml``) names each recipe's class; its
defaults are ``configs/<name>.yaml``."""
from __future__ import annotations

import importlib

from ..config import recipe_entry, recipe_registry

RECIPES = recipe_registry()


def get_recipe_class(name: str):
    module, cls = recipe_entry(name)["class"].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)
