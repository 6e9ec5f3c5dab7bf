"""The Python API behind the CLI: fit (train), export, load and sample. The functions live in
the layers below (train, nets); this module is where users find them."""
from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn

from .config import Config, resolve_config
from .errors import GankitError
from .hub import push_to_hub  # noqa: F401  (part of the API: gankit.push_to_hub)
from .nets.uses import check_seed, sample, seeded_noise  # noqa: F401  (part of the API)


def default_run_dir(cfg: Config) -> Path:
    return Path("runs") / f"{cfg.recipe}-{cfg.data.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def fit(recipe: str = "dcgan", *, out: str | Path | None = None, resume: str | Path | None = None,
        **options) -> Path:
    """Train a recipe and return the run directory; ``options`` are :func:`resolve_config`'s.
    ``resume`` continues a run exactly where its last checkpoint stopped (its saved config, plus any
    overrides such as a larger ``steps``). ``out`` may name a run that died before its first
    checkpoint: it starts again in place."""
    from .train.checkpoint import step_checkpoints

    if resume is not None:
        run_dir = Path(resume)
        saved = run_dir / "config.yaml"
        if not saved.is_file():
            raise GankitError(f"--resume {run_dir}: not a run directory (no config.yaml)")
        return trainer(resolve_config(saved=saved, **options), run_dir, resume=True).fit()
    cfg = resolve_config(recipe, **options)
    run_dir = Path(out) if out is not None else default_run_dir(cfg)
    if step_checkpoints(run_dir / "checkpoints") or (run_dir / "checkpoints" / "best.pt").is_file():
        raise GankitError(f"{run_dir} already holds a run; pass --resume {run_dir} or another --out")
    return trainer(cfg, run_dir).fit()


def trainer(cfg: Config, run_dir: str | Path, resume: bool = False):
    """The engine for a run of ``cfg``: the process group torchrun describes joined, the data and
    the recipe built (seeded alike on every rank: the same initial weights), handed to the Trainer."""
    from .data import build_dataset
    from .recipes import get_recipe_class
    from .train import Trainer
    from .train import distributed as D

    dist, device = D.init_from_env(cfg.device)
    torch.manual_seed(cfg.seed)
    recipe = get_recipe_class(cfg.recipe)(cfg, build_dataset(cfg.data, cfg.seed), device)
    return Trainer(recipe, run_dir, resume=resume, dist=dist)


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Load an exported generator (``config.json`` + ``model.safetensors``) from a folder or a
    Hugging Face Hub id ``user/repo``; no training code, no pickle."""
    from .nets import load_pretrained

    return load_pretrained(path, device)


def export(run_dir: str | Path, out_dir: str | Path, which: str = "auto", push_to_hub: str | None = None,
           private: bool = False) -> tuple[Path, str]:
    """Write a run's generator alone (the EMA one when the run kept one) and its model card
    (README.md, samples.png) to ``out_dir``; with ``push_to_hub`` (``user/repo``), upload the folder.
    which: ``best``, ``last`` or ``auto`` (best when it exists). Returns (out_dir, checkpoint used)."""
    from . import hub
    from .train.export import export_checkpoint

    if push_to_hub is not None:
        hub.check_repo_id(push_to_hub)
    out, used = export_checkpoint(run_dir, out_dir, which, repo_id=push_to_hub)
    if push_to_hub is not None:
        hub.push_to_hub(out, push_to_hub, private=private)
    return out, used
