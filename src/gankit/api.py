"""The Python API behind the CLI: fit (train), export, load and sample."""
from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn

from .config import Config, resolve_config
from .errors import GankitError
from .hub import push_to_hub  # noqa: F401  (part of the API: gankit.push_to_hub)


def default_run_dir(cfg: Config) -> Path:
    return Path("runs") / f"{cfg.recipe}-{cfg.data.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def fit(recipe: str = "dcgan", *, out: str | Path | None = None, resume: str | Path | None = None,
        **options) -> Path:
    """Train a recipe and return the run directory; ``options`` are :func:`resolve_config`'s.
    ``resume`` continues a run exactly where its last checkpoint stopped (its saved config, plus any
    overrides such as a larger ``steps``). ``out`` may name a run that died before its first
    checkpoint: it starts again in place."""
    from .train import Trainer
    from .train.checkpoint import step_checkpoints

    if resume is not None:
        run_dir = Path(resume)
        saved = run_dir / "config.yaml"
        if not saved.is_file():
            raise GankitError(f"--resume {run_dir}: not a run directory (no config.yaml)")
        return Trainer(resolve_config(saved=saved, **options), run_dir, resume=True).fit()
    cfg = resolve_config(recipe, **options)
    run_dir = Path(out) if out is not None else default_run_dir(cfg)
    if step_checkpoints(run_dir / "checkpoints") or (run_dir / "checkpoints" / "best.pt").is_file():
        raise GankitError(f"{run_dir} already holds a run; pass --resume {run_dir} or another --out")
    return Trainer(cfg, run_dir).fit()


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Load an exported generator (``config.json`` + ``model.safetensors``) from a folder or a
    Hugging Face Hub id ``user/repo``; no training code, no pickle."""
    from .nets import load_pretrained

    return load_pretrained(path, device)


def export(run_dir: str | Path, out_dir: str | Path, which: str = "auto", push_to_hub: str | None = None,
           private: bool = False) -> tuple[Path, str]:
    """Write a run's generator alone (the EMA one when the run kept one) and its model card
    (README.md, samples.png) to ``out_dir``; with ``push_to_hub`` (``user/repo``), upload the folder.

    which: ``best`` (the checkpoint kept by the training metric), ``last``, or ``auto`` (best when it exists).
    Returns (out_dir, which checkpoint was used). Recipes may add files (SGAN writes its classifier).
    A checkpoint that fails its checksum is passed over for the newest one that verifies, with a line
    naming both.
    """
    import sys

    from . import hub
    from .data import build_dataset
    from .recipes import get_recipe_class
    from .train.checkpoint import CorruptCheckpoint, latest_good_checkpoint, load_checkpoint

    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise GankitError(f"{run_dir} is not a run directory (no config.yaml)")
    if push_to_hub is not None:
        hub.check_repo_id(push_to_hub)
    if which not in ("auto", "best", "last"):
        raise GankitError(f"--which must be auto, best or last, got '{which}'")
    best = run_dir / "checkpoints" / "best.pt"
    if which == "best" and not best.is_file():
        raise GankitError(f"{run_dir} has no best checkpoint (train with --set eval.metric=... eval.every=N)")
    path = state = bad = None
    if which == "best" or (which == "auto" and best.is_file()):
        try:
            path, state = best, load_checkpoint(best)
        except CorruptCheckpoint as e:
            if which == "best":
                raise
            bad = e
    if path is None:
        path, state, corrupt = latest_good_checkpoint(run_dir / "checkpoints")
        bad = bad or (corrupt[0] if corrupt else None)
        if path is None:
            raise bad or GankitError(f"{run_dir} has no checkpoint yet")
    if bad is not None:
        print(f"gankit: warning: checkpoint {bad.path} is corrupt ({bad.why}); exporting {path} instead",
              file=sys.stderr)
    cfg = Config.wrap(state["config"])
    recipe = get_recipe_class(cfg.recipe)(cfg, build_dataset(cfg.data, cfg.seed), "cpu")
    for k, m in recipe.nets.items():
        m.load_state_dict(state["nets"][k])
    recipe.load_state_dict(state["recipe"])  # e.g. SGAN's weight-averaged classifier
    G = recipe.generator()
    if state["ema"] is not None:
        G.load_state_dict({k[len("module."):]: v for k, v in state["ema"].items() if k.startswith("module.")})
    out = Path(recipe.export(G.eval(), out_dir))
    hub.write_model_card(out, repo_id=push_to_hub, **hub.run_facts(run_dir, path.name, state.get("step")))
    if push_to_hub is not None:
        hub.push_to_hub(out, push_to_hub, private=private)
    return out, path.name


@torch.no_grad()
def sample(G: nn.Module, n: int, seed: int = 0, label: int | None = None, batch_size: int = 256) -> torch.Tensor:
    """n samples in [-1, 1] from a noise generator (N x 2 points for toy generators), on the CPU.
    A conditional generator gives class ``label``, or classes in turn when ``label`` is None."""
    if not hasattr(G, "z_dim"):
        raise GankitError("this generator takes images, not noise: use `gankit translate` / `gankit upscale`")
    k = getattr(G, "num_classes", 0)
    if label is not None and not k:
        raise GankitError("--label given but this generator is unconditional")
    if label is not None and not 0 <= label < k:
        raise GankitError(f"--label must be in 0..{k - 1}, got {label}")
    device = next(G.parameters()).device
    z_all = seeded_noise(n, G.z_dim, seed)
    outs = []
    for i in range(0, n, batch_size):
        b = min(batch_size, n - i)
        z = z_all[i:i + b].to(device)
        y = None
        if k:
            y = (torch.full((b,), label) if label is not None else torch.arange(i, i + b) % k).to(device)
        outs.append(G(z, y).float().cpu())
    return torch.cat(outs)


def seeded_noise(n: int, z_dim: int, seed: int) -> torch.Tensor:
    """n latent codes from ``seed``, drawn one row at a time so that the first k codes do not
    depend on n (PyTorch's vectorised sampler gives a different stream for different sizes)."""
    g = torch.Generator().manual_seed(check_seed(seed))
    return torch.stack([torch.randn(z_dim, generator=g) for _ in range(n)])


MAX_SEED = 2**64 - 1  # torch.Generator.manual_seed's largest


def check_seed(seed, name: str = "seed") -> int:
    """A seed as an int, or a one-line error (a huge or fractional seed would overflow torch's generator)."""
    if isinstance(seed, float) and seed.is_integer():
        seed = int(seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise GankitError(f"{name} must be a whole number from 0 to {MAX_SEED} (2**64-1), got {seed}")
    return seed
