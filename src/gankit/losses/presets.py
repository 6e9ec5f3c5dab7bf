"""Each loss family's paper defaults (optimizer, learning rate, schedule): ``configs/losses/<name>.yaml``,
the one source that both ``--loss NAME`` and the recipe named after the loss read."""
from __future__ import annotations

import json
from importlib import resources

import yaml

from .adversarial import get_loss


def preset(loss: str) -> dict:
    """The nested keys of ``loss``'s preset (loss.name included)."""
    get_loss(loss)  # one-line error for an unknown name
    return yaml.safe_load((resources.files("gankit.configs") / "losses" / f"{loss}.yaml").read_text())


def preset_overrides(loss: str, schema: dict) -> list[str]:
    """``--set`` strings that give ``loss`` its paper's settings, for a run whose keys are ``schema``;
    keys the run does not have are skipped (model.d_norm on a net with no such key)."""
    def leaves(tree: dict, prefix: str = ""):
        for key, value in tree.items():
            if isinstance(value, dict):
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value

    def has(dotted: str) -> bool:
        tree = schema
        for part in dotted.split("."):
            if not isinstance(tree, dict) or part not in tree:
                return False
            tree = tree[part]
        return True

    return [f"{key}={json.dumps(value)}" for key, value in leaves(preset(loss)) if has(key)]
