"""Run configuration: YAML layers with defaults in one place, validated on load.

Layers, later wins: ``configs/defaults.yaml`` -> ``configs/<recipe>.yaml`` (may add keys)
-> the dataset's defaults for the recipe (``configs/data/<name>.yaml``, where one exists)
-> a user YAML file -> a ``--loss`` preset (``configs/losses/<name>.yaml``) -> ``--set key=value``
overrides. Only the first two layers may add keys; every later key must already exist, and its
value must have the default's type.
"""
from __future__ import annotations

import copy
import functools
import json
import math
import os
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


def cache_dir() -> Path:
    """``$GANKIT_CACHE`` or ``~/.cache/gankit``: cached classifiers, reference statistics, parsed datasets."""
    return Path(os.environ.get("GANKIT_CACHE", Path.home() / ".cache" / "gankit"))


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


# Keys whose base default is null, with the type a value must have. Null stays allowed for them even
# where a recipe sets a value (sgan's eval.metric: null turns its evaluation off).
NULLABLE: dict[str, type] = {
    "data.root": str, "data.eval_root": str, "data.image_size": int, "data.channels": int, "data.limit": int,
    "data.load_size": int, "eval.metric": str, "eval.classifier": str, "model.init_from": str,
    "model.num_downs": int, "optim.decay_start": int,
}


def _check_type(key: str, default: Any, value: Any) -> Any:
    """Accept ``value`` if it fits the default's type (ints widen to floats). Null is accepted only where
    the default is null; a null default takes its type from NULLABLE (any scalar when not listed)."""
    if value is None:
        if default is None or key in NULLABLE:
            return value
        raise GankitError(f"config key '{key}' expects {type(default).__name__} (like {default!r}), got null")
    if default is None:
        default = {int: 0, str: "", float: 0.0}.get(NULLABLE.get(key))
        if default is None:
            if isinstance(value, (dict, list)):
                raise GankitError(f"config key '{key}' expects a single value, got {value!r}")
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
    except (yaml.YAMLError, ValueError):  # ValueError: an integer beyond Python's 4,300-digit limit
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


@functools.cache
def recipe_registry() -> dict[str, dict]:
    """The registered recipes (``configs/recipes.yaml``): name -> class, loss_choice, help."""
    return _read_packaged("recipes")


def recipe_entry(recipe: str) -> dict:
    registry = recipe_registry()
    if recipe not in registry:
        raise GankitError(f"unknown recipe '{recipe}'; choose one of: {', '.join(sorted(registry))}")
    return registry[recipe]


def recipe_defaults(recipe: str) -> dict:
    """Defaults merged with the recipe's own YAML: the schema of a run of that recipe."""
    recipe_entry(recipe)
    cfg = _read_packaged("defaults")
    for layer in _recipe_layers(recipe):
        _merge(cfg, layer, allow_new=True)
    cfg["recipe"] = recipe
    return cfg


def loss_names() -> list[str]:
    """The loss families with a preset (``configs/losses/<name>.yaml``)."""
    return sorted(f.name[:-5] for f in (resources.files(_CONFIG_PKG) / "losses").iterdir() if f.name.endswith(".yaml"))


def loss_preset(recipe: str, loss: str) -> list[str]:
    """``--loss``: the family's paper preset (``configs/losses/<loss>.yaml``, the one source that both
    ``--loss NAME`` and the recipe named after the loss read) as ``--set`` strings; keys the recipe's
    runs do not have are skipped (model.d_norm on a net with no such key)."""
    schema = recipe_defaults(recipe)
    if not recipe_entry(recipe)["loss_choice"]:
        own = schema.get("loss", {}).get("name")
        users = ", ".join(r for r, e in recipe_registry().items() if e["loss_choice"])
        raise GankitError(f"--loss {loss}: recipe '{recipe}' " + (f"has its own adversarial loss ({own})" if own else
                          "has no adversarial loss to choose") + f"; --loss is for {users}")
    if loss not in loss_names():
        raise GankitError(f"unknown loss '{loss}'; choose one of: {', '.join(loss_names())}")

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

    return [f"{key}={json.dumps(value)}" for key, value in leaves(_read_packaged(f"losses/{loss}")) if has(key)]


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
    """Resolve a run's configuration. ``shortcuts`` are dotted keys (``data.name``) set last. A
    dataset with defaults of its own for this recipe (``configs/data/<name>.yaml``) puts them between
    the recipe's and the user's layers, unless the user sets ``data.protocol=false``."""
    user = {}
    if file is not None:
        user = read_yaml(file)
        if user.get("recipe", recipe) != recipe:
            raise GankitError(f"config file {file} is for recipe '{user['recipe']}', not '{recipe}'")
        user.pop("recipe", None)
    layers = [user] + [_nest(*parse_override(text)) for text in overrides]
    layers += [_nest(dotted.split("."), value) for dotted, value in shortcuts.items() if value is not None]

    def build(data_layer: dict) -> dict:
        cfg = recipe_defaults(recipe)
        for layer in [data_layer, *layers]:
            _merge(cfg, layer, allow_new=False)
        return cfg

    cfg = build({})
    data_layer = data_defaults(cfg["data"]["name"], recipe) if cfg["data"]["protocol"] else {}
    if data_layer:
        cfg = build(data_layer)
    validate(cfg)
    return Config.wrap(cfg)


def data_defaults(dataset: Any, recipe: str) -> dict:
    """The keys a dataset sets for a recipe (``configs/data/<dataset>.yaml``, a section per recipe):
    the settings its benchmark protocol uses, e.g. PacGAN's networks for the toy mixtures."""
    if not isinstance(dataset, str):
        return {}
    path = resources.files(_CONFIG_PKG) / "data" / f"{dataset}.yaml"
    if not path.is_file():
        return {}
    return (yaml.safe_load(path.read_text()) or {}).get(recipe) or {}


def resolve_config(recipe: str = "dcgan", *, data: str | None = None, data_root: str | None = None,
                   steps: int | None = None, batch_size: int | None = None, seed: int | None = None,
                   device: str | None = None, loss: str | None = None, aug: str | None = None,
                   config_file: str | Path | None = None, overrides: list[str] | tuple = (),
                   labels_per_class: int | None = None, saved: str | Path | None = None) -> Config:
    """The validated config a run with these options would use, without training: the recipe's
    defaults (or a ``saved`` run's config), the loss preset, the file, then ``overrides`` and shortcuts.
    Imports no torch: the CLI checks every value before the heavy imports."""
    shortcuts = {"data.name": data, "data.root": data_root, "train.steps": steps, "train.batch_size": batch_size,
                 "seed": seed, "device": device, "loss.name": loss, "aug.mode": aug,
                 "data.labels_per_class": labels_per_class}
    if saved is not None:
        return load_config(load_saved_config(saved)["recipe"], saved, overrides, **shortcuts)
    if loss is not None:
        overrides = list(loss_preset(recipe, loss)) + list(overrides)
    return load_config(recipe, config_file, overrides, **shortcuts)


# Every ranged key: (low, high, low inclusive, high inclusive); None = unbounded. Checked when present
# (recipes add keys), before any heavy import, so that a bad value is a line, not a traceback mid-run.
_AT_LEAST_1, _AT_LEAST_0 = (1, None, True, True), (0, None, True, True)
_POSITIVE, _FRACTION = (0, None, False, True), (0, 1, True, True)
RANGES: dict[str, tuple] = {
    "seed": (0, 2 ** 64 - 1, True, True),  # torch.Generator.manual_seed's range (api.check_seed)
    **{f"train.{k}": _AT_LEAST_1 for k in ("steps", "batch_size", "n_d", "n_g", "log_every", "ckpt_every",
                                             "keep_last", "sample_n", "n_d_warmup_value")},  # sample_every: below
    **{f"train.{k}": _AT_LEAST_0 for k in ("max_rollbacks", "ema_start", "n_d_warmup", "n_d_every")},
    "train.ema": (0, 1, True, False), "train.d_ema": (0, 1, True, False),
    **{f"data.{k}": _AT_LEAST_1 for k in ("limit", "stacked_n", "toy_n", "labels_per_class")},
    **{f"data.{k}": (1, 8192, True, True) for k in ("image_size", "crop_size", "load_size")},
    "eval.every": _AT_LEAST_0, "eval.n": _AT_LEAST_1,
    "aug.target": _FRACTION, "aug.interval": _AT_LEAST_1, "aug.kimg": _POSITIVE,
    **{f"model.{k}": _AT_LEAST_1 for k in ("z_dim", "h", "g_width", "d_width", "ngf", "ndf", "g_n", "d_n", "pack",
                                             "num_downs", "lr_patience", "scale")},
    **{f"model.{k}": _AT_LEAST_0 for k in ("g_fc", "d_fc", "n_blocks", "d_layers", "pool_size", "lambda_k",
                                             "d_input_noise", "d_hidden_noise")},
    "model.gamma": (0, 1, False, True), "model.dropout": (0, 1, True, False),
    **{f"loss.{k}": _AT_LEAST_0 for k in ("gp_weight", "clip", "adv_weight", "cycle_weight", "gan_weight",
                                            "identity_weight", "l1_weight", "unsupervised_weight", "feature_rescale")},
    "optim.decay_start": _AT_LEAST_0,
    **{f"monitor.{k}": _AT_LEAST_1 for k in ("rt_window", "domination_intervals")},
    **{f"monitor.{k}": _AT_LEAST_0 for k in ("collapse_after", "collapse_classes", "collapse_diversity",
                                               "collapse_nearest", "collapse_class_diversity")},
    "monitor.domination_acc": _FRACTION,
}
CHOICES: dict[str, tuple] = {
    "train.precision": ("auto", "fp32", "bf16"), "train.on_nan": ("stop", "rollback"),
    "eval.best_mode": ("min", "max", "none"), "data.channels": (1, 3),
    "model.z_prior": ("normal", "uniform"),
}
# The largest step size each optimizer can take without diverging at once: Adam and RMSprop move every
# weight by about lr per step, so lr > 1 (e.g. 1e6: losses near 1e22) is never a useful setting.
MAX_LR = {"adam": 1.0, "rmsprop": 1.0, "sgd": 100.0}


def _get(cfg: dict, dotted: str) -> tuple[bool, Any]:
    cur: Any = cfg
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def _check_range(key: str, value: Any, low, high, low_in: bool, high_in: bool, why: str = "") -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float)
                                                                           and not math.isfinite(value)):
        raise GankitError(f"config key '{key}' must be a finite number, got {value!r}")
    if isinstance(value, int) and abs(value) >= 2 ** 64:
        raise GankitError(f"config key '{key}' must fit in 64 bits (below 2**64), got a {len(str(value))}-digit number")
    if (low is not None and (value < low or (value == low and not low_in))) or \
            (high is not None and (value > high or (value == high and not high_in))):
        if high is None:
            want = f"{'>=' if low_in else '>'} {low}"
        else:
            want = f"in {'[' if low_in else '('}{low}, {high}{']' if high_in else ')'}"
        raise GankitError(f"config key '{key}' must be {want}{why}, got {value}")


def validate(cfg: dict) -> None:
    """Value checks that types alone do not catch: ranges, choices, optimizers, and a memory estimate."""
    t = cfg["train"]
    every = t["sample_every"]
    if isinstance(every, str) and every.strip().isdigit():  # --set over the default 'auto' arrives as a string
        every = t["sample_every"] = int(every)
    if every != "auto" and not (isinstance(every, int) and not isinstance(every, bool) and every >= 1):
        raise GankitError(f"config key 'train.sample_every' must be 'auto' or an integer >= 1, got {every!r}")
    for key, (low, high, low_in, high_in) in RANGES.items():
        present, value = _get(cfg, key)
        if present:
            _check_range(key, value, low, high, low_in, high_in)
    for key, allowed in CHOICES.items():
        present, value = _get(cfg, key)
        if present and value is not None and value not in allowed:
            raise GankitError(f"config key '{key}' must be one of {', '.join(map(str, allowed))}, got {value!r}")
    for key in ("g_widths", "d_widths"):
        for w in cfg.get("model", {}).get(key) or []:
            if isinstance(w, bool) or not isinstance(w, int) or w < 1:
                raise GankitError(f"config key 'model.{key}' must be a list of integers >= 1, got {cfg['model'][key]!r}")
    mode = cfg.get("aug", {}).get("mode")
    if mode is not None and mode not in ("none", "ada", "diffaug"):
        p = mode.split(":", 1)[1] if mode.startswith("fixed:") else None
        try:
            ok = p is not None and 0.0 <= float(p) <= 1.0
        except ValueError:
            ok = False
        if not ok:
            raise GankitError(f"config key 'aug.mode' (--aug) must be none, ada, diffaug or fixed:P with P in [0, 1], "
                              f"got {mode!r}")
    d = cfg.get("data", {})
    if d.get("load_size") is not None and d.get("crop_size") is not None and d["load_size"] < d["crop_size"]:
        raise GankitError(f"config key 'data.load_size' ({d['load_size']}) must be >= data.crop_size ({d['crop_size']})")
    for player, o in cfg["optim"].items():
        if isinstance(o, dict):
            if o.get("name") not in MAX_LR:
                raise GankitError(f"config key 'optim.{player}.name' must be adam, rmsprop or sgd, got {o.get('name')!r}")
            _check_range(f"optim.{player}.lr", o.get("lr"), 0, MAX_LR[o["name"]], False, True,
                         f" for {o['name']}" + (" (it moves every weight by about lr per step)" if o["name"] != "sgd" else ""))
            if o.get("lr") is None:
                raise GankitError(f"config key 'optim.{player}.lr' must be > 0, got None")
            _check_range(f"optim.{player}.eps", o.get("eps", 1.0), 0, None, False, True)
            _check_range(f"optim.{player}.weight_decay", o.get("weight_decay", 0.0), 0, None, True, True)
            betas = o.get("betas", [0.0, 0.0])
            if (not isinstance(betas, list) or len(betas) != 2 or any(isinstance(b, bool) or not isinstance(b, (int, float))
                                                                     or not 0 <= b < 1 for b in betas)):
                raise GankitError(f"config key 'optim.{player}.betas' must be two numbers in [0, 1), got {betas!r}")
    check_memory(cfg)


def _ram_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 64 * 2 ** 30


def parameter_lower_bound(cfg: dict) -> tuple[int, str]:
    """A lower bound on the parameter count of a run's networks from the config alone (no data, no
    torch), with the key that makes it: an MLP holds a Linear between consecutive widths, a conv net
    (at 16 px and more) a convolution from its width to its width or more, a hidden FC layer its width
    times its input. Keys of the family that ``model.arch`` does not use are left out."""
    m = cfg.get("model", {})
    arch = m.get("arch")
    z = m.get("z_dim") or 1
    best = (0, "model")
    for key in () if arch == "dcgan" else ("g_widths", "d_widths"):
        widths = ([z] if key == "g_widths" else []) + list(m.get(key) or [])
        for a, b in zip(widths, widths[1:]):
            best = max(best, (a * b, f"model.{key}"))
    conv = ("ngf", "ndf", "g_n", "d_n") + (() if arch == "mlp" else ("g_width", "d_width", "g_fc", "d_fc"))
    for key in conv:
        if m.get(key):
            best = max(best, (m[key] * (z if key == "g_fc" else 1 if key == "d_fc" else m[key]), f"model.{key}"))
    return best


def check_memory(cfg: dict) -> None:
    """Refuse networks whose training state (weights, gradients, two Adam moments: 16 bytes a
    parameter) cannot fit in this machine's memory, before anything tries to allocate it."""
    params, key = parameter_lower_bound(cfg)
    need, have = 16 * params, _ram_bytes()
    if need > have:
        raise GankitError(f"config key '{key}' makes networks of at least {params:,} parameters "
                          f"(>= {need / 2 ** 30:.0f} GiB for weights, gradients and optimizer state), more than "
                          f"this machine's {have / 2 ** 30:.0f} GiB of memory; use a smaller value")
    m, batch = cfg.get("model", {}), (cfg.get("train", {}).get("batch_size") or 1)
    if m.get("arch") == "mlp":  # a layer's output and its gradient, 4 bytes each, for every sample of a batch
        width, key = max((w, f"model.{k}") for k in ("g_widths", "d_widths") for w in (m.get(k) or [0]))
        need = 8 * batch * width
        if need > have:
            raise GankitError(f"config key '{key}' makes a layer of {width:,} units whose activations for a batch of "
                              f"{batch} need >= {need / 2 ** 30:.0f} GiB, more than this machine's "
                              f"{have / 2 ** 30:.0f} GiB of memory; use a smaller value")


def save_config(cfg: dict, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(_plain(cfg), sort_keys=False))


def load_saved_config(path: str | Path) -> Config:
    return Config.wrap(read_yaml(path))
