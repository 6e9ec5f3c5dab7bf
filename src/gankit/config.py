"""Run configuration: YAML layers with defaults in one place, validated on load.

Layers, later wins: ``configs/defaults.yaml`` -> ``configs/<recipe>.yaml`` (may add keys)
-> a user YAML file -> ``--set key=value`` overrides. Only the first two layers may add
keys; every later key must already exist, and its value must have the default's type.
"""
from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import GankitError

_CONFIG_PKG = "gankit.configs"


class Config(dict):
    """A nested dict whose keys also read as attributes (``cfg.train.steps``)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    @classmethod
    def wrap(cls, d: Any) -> Any:
        if isinstance(d, dict):
            return cls({k: cls.wrap(v) for k, v in d.items()})
        if isinstance(d, list):
            return [cls.wrap(v) for v in d]
        return d

    def to_dict(self) -> dict:
        return yaml.safe_load(yaml.safe_dump(_plain(self)))


def _plain(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _plain(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_plain(v) for v in d]
    return d


def _read_packaged(name: str) -> dict:
    path = resources.files(_CONFIG_PKG) / f"{name}.yaml"
    if not path.is_file():
        raise GankitError(f"no built-in config '{name}.yaml'")
    return yaml.safe_load(path.read_text()) or {}


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise GankitError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise GankitError(f"config file {path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise GankitError(f"config file {path} must hold a mapping of keys, not {type(data).__name__}")
    return data


def _merge(base: dict, over: dict, *, allow_new: bool, prefix: str = "") -> None:
    for key, value in over.items():
        dotted = f"{prefix}{key}"
        if key not in base:
            if not allow_new:
                raise GankitError(f"unknown config key '{dotted}' (see `gankit config RECIPE` for valid keys)")
            base[key] = copy.deepcopy(value)
            continue
        if isinstance(base[key], dict) and isinstance(value, dict):
            _merge(base[key], value, allow_new=allow_new, prefix=dotted + ".")
        else:
            base[key] = _check_type(dotted, base[key], value) if not allow_new else copy.deepcopy(value)


def _check_type(key: str, default: Any, value: Any) -> Any:
    """Accept ``value`` if it fits the default's type (ints widen to floats; null defaults take anything)."""
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(default, str):
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    elif isinstance(default, list):
        if isinstance(value, list):
            return value
    elif isinstance(default, dict):
        if isinstance(value, dict):
            return value
    raise GankitError(
        f"config key '{key}' expects {type(default).__name__} (like {default!r}), got {value!r}")


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b=1e-4`` -> (['a','b'], 0.0001); values are read as YAML scalars/lists."""
    if "=" not in text:
        raise GankitError(f"--set expects key=value, got '{text}'")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise GankitError(f"--set expects key=value, got '{text}'")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    if isinstance(value, str):  # YAML 1.1 reads "1e-4" as a string
        try:
            value = float(value)
        except ValueError:
            pass
    return key.split("."), value


def _nest(path: list[str], value: Any) -> dict:
    out: dict = {}
    cur = out
    for p in path[:-1]:
        cur[p] = {}
        cur = cur[p]
    cur[path[-1]] = value
    return out


def recipe_defaults(recipe: str) -> dict:
    """Defaults merged with the recipe's own YAML: the schema of a run of that recipe."""
    from .recipes import RECIPES

    if recipe not in RECIPES:
        raise GankitError(f"unknown recipe '{recipe}'; choose one of: {', '.join(sorted(RECIPES))}")
    cfg = _read_packaged("defaults")
    for layer in _recipe_layers(RECIPES[recipe].config):
        _merge(cfg, layer, allow_new=True)
    cfg["recipe"] = recipe
    return cfg


def _recipe_layers(name: str, depth: int = 0) -> list[dict]:
    """A recipe YAML may start from others (``inherit: dcgan``, or ``[dcgan, losses/lsgan]`` for a loss
    preset on top); parents come first, in order."""
    layer = _read_packaged(name)
    parents = layer.pop("inherit", None)
    if parents is None or depth > 4:
        return [layer]
    return [lay for p in ([parents] if isinstance(parents, str) else parents) for lay in _recipe_layers(p, depth + 1)] + [layer]


def load_config(recipe: str, file: str | Path | None = None, overrides: list[str] | tuple = (),
                **shortcuts: Any) -> Config:
    """Resolve a run's configuration. ``shortcuts`` are dotted keys (``data.name``) set last."""
    cfg = recipe_defaults(recipe)
    if file is not None:
        user = read_yaml(file)
        if user.get("recipe", recipe) != recipe:
            raise GankitError(f"config file {file} is for recipe '{user['recipe']}', not '{recipe}'")
        user.pop("recipe", None)
        _merge(cfg, user, allow_new=False)
    for text in overrides:
        path, value = parse_override(text)
        _merge(cfg, _nest(path, value), allow_new=False)
    for dotted, value in shortcuts.items():
        if value is not None:
            _merge(cfg, _nest(dotted.split("."), value), allow_new=False)
    validate(cfg)
    return Config.wrap(cfg)


def validate(cfg: dict) -> None:
    """Value checks that types alone do not catch."""
    t = cfg["train"]
    for key in ("steps", "batch_size", "n_d", "n_g", "log_every", "sample_n"):
        if t[key] < 1:
            raise GankitError(f"config key 'train.{key}' must be >= 1, got {t[key]}")
    every = t["sample_every"]
    if isinstance(every, str) and every.strip().isdigit():  # --set over the default 'auto' arrives as a string
        every = t["sample_every"] = int(every)
    if every != "auto" and not (isinstance(every, int) and not isinstance(every, bool) and every >= 1):
        raise GankitError(f"config key 'train.sample_every' must be 'auto' or an integer >= 1, got {every!r}")
    if not 0.0 <= t["ema"] < 1.0:
        raise GankitError(f"config key 'train.ema' must be in [0, 1), got {t['ema']}")
    if t["precision"] not in ("auto", "fp32", "bf16"):
        raise GankitError(f"config key 'train.precision' must be auto, fp32 or bf16, got {t['precision']!r}")
    if t["on_nan"] not in ("stop", "rollback"):
        raise GankitError(f"config key 'train.on_nan' must be 'stop' or 'rollback', got {t['on_nan']!r}")
    for player, o in cfg["optim"].items():
        if isinstance(o, dict):
            if o.get("name") not in ("adam", "rmsprop", "sgd"):
                raise GankitError(f"config key 'optim.{player}.name' must be adam, rmsprop or sgd, got {o.get('name')!r}")
            if not o.get("lr", 0) > 0:
                raise GankitError(f"config key 'optim.{player}.lr' must be > 0, got {o.get('lr')!r}")
            if not o.get("eps", 1.0) > 0:
                raise GankitError(f"config key 'optim.{player}.eps' must be > 0, got {o.get('eps')!r}")
    if cfg["eval"]["best_mode"] not in ("min", "max", "none"):
        raise GankitError(f"config key 'eval.best_mode' must be min, max or none, got {cfg['eval']['best_mode']!r}")


def save_config(cfg: dict, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(_plain(cfg), sort_keys=False))


def load_saved_config(path: str | Path) -> Config:
    return Config.wrap(read_yaml(path))
