"""Using image-to-image generators (meta kind "translate" or "upscale"): run them on image files of
any size, and gather their outputs for `gankit eval`.

Sizes: a translator is fully convolutional but needs sides divisible by its ``multiple`` (2^levels
of a U-Net, 4 for a ResNet generator). ``fit="pad"`` (default) pads the image by edge replication up
to the next multiple, runs the network, and crops the output back to the input's size (times the
scale for upscalers). ``fit="resize"`` resizes to the training size, runs, and resizes the output
back to the input's size. Grayscale files given to an RGB model (and the reverse) are converted.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .errors import GankitError
from .nets.uses import use_of


@torch.no_grad()
def run_on_image(G: nn.Module, x: torch.Tensor, fit: str = "pad", direction: str | None = None,
                 max_side: int = 4096) -> torch.Tensor:
    """One image [C, H, W] in [-1, 1] -> the generator's output for it, at the input's size (x scale)."""
    if fit not in ("pad", "resize"):
        raise GankitError(f"--fit must be pad or resize, got {fit!r}")
    h, w = x.shape[-2:]
    if max(h, w) > max_side:
        raise GankitError(f"image is {w}x{h} px, larger than --max-side {max_side}; use --fit resize or raise --max-side")
    meta = G.meta
    scale = int(meta.get("scale", 1))
    kwargs = {"direction": direction} if direction is not None else {}
    dev = next(G.parameters()).device
    x = x.unsqueeze(0).to(dev)
    if fit == "resize":
        s = int(meta.get("image_size") or 0)
        if not s:
            raise GankitError("this generator does not record its training size; use --fit pad")
        y = G(F.interpolate(x, size=(s, s), mode="bicubic", align_corners=False).clamp(-1, 1), **kwargs)
        y = F.interpolate(y, size=(h * scale, w * scale), mode="bicubic", align_corners=False)
    else:
        m = int(getattr(G, "multiple", 1))
        ph, pw = -h % m, -w % m
        y = G(F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x, **kwargs)
        y = y[..., :h * scale, :w * scale]
    return y[0].clamp(-1, 1).cpu()


def translate_files(gen: str | Path | nn.Module, inputs: list, out_dir: str | Path, kind: str = "translate",
                    direction: str | None = None, fit: str = "pad", device: str = "cpu",
                    seed: int = 0, max_side: int = 4096) -> list[Path]:
    """Translate (or upscale) image files and folders into ``out_dir`` (PNG, same stem). Returns the paths.
    ``direction`` (AtoB | BtoA) is for CycleGAN pairs; pix2pix's dropout noise is seeded by ``seed``."""
    from .nets import load_pretrained as load_generator
    from .data import expand_inputs, read_image, save_image, to_float

    G = load_generator(gen, device) if not isinstance(gen, nn.Module) else gen
    use_of(G).check(kind)
    if direction is not None and "directions" not in G.meta:
        raise GankitError("--direction is for CycleGAN generators; this one translates one way only "
                          f"({G.meta.get('direction', 'AtoB')})")
    torch.manual_seed(seed)
    out_dir = Path(out_dir)
    files = expand_inputs(list(inputs))
    written = []
    for f in files:
        x = to_float(read_image(f, int(G.meta.get("channels") or 3)))
        written.append(save_image(run_on_image(G, x, fit, direction, max_side), out_dir / f"{f.stem}.png"))
    return written


def held_out(G: nn.Module, data_cfg: dict, split: str, n: int):
    """(inputs, targets, data kind, data config) of the first n pairs of ``split`` of the generator's
    dataset, uint8: at its training crop size for translators; for upscalers, whole images (at their
    training load size) as targets and their bicubic downscaling as inputs."""
    from .config import Config, recipe_defaults
    from .data import build_dataset

    meta = G.meta
    upscale = use_of(G).scales
    cfg = recipe_defaults(meta.get("recipe") or "pix2pix")["data"]
    cfg.update({k: v for k, v in data_cfg.items() if v is not None})
    cfg.update(split=split, limit=None, load_size=meta.get("load_size" if upscale else "image_size"))
    data = build_dataset(Config.wrap(cfg), 0)
    if upscale:
        from .data.sr import sr_pairs

        return (*sr_pairs(data.x[:n], int(meta["scale"])), "paired", cfg)
    return data.x[:n], data.x_b[:n], data.kind, cfg


@torch.no_grad()
def outputs_of(G: nn.Module, x: torch.Tensor, batch_size: int = 16, direction: str | None = None) -> torch.Tensor:
    """G on uint8 inputs, in batches, as float [-1, 1] on the CPU (``direction``: a CycleGAN pair's)."""
    from .data import to_float

    dev = next(G.parameters()).device
    kwargs = {"direction": direction} if direction is not None else {}
    return torch.cat([G(to_float(x[i:i + batch_size]).to(dev), **kwargs).float().cpu()
                      for i in range(0, len(x), batch_size)])


def eval_functions(G: nn.Module, data_cfg: dict, split: str, n: int):
    """For `gankit eval` on a translator: (outputs_fn, paired_fn, real_data_cfg). Outputs are G applied
    to the first n inputs of ``split``; paired_fn gives (outputs, targets); real_data_cfg reads the
    *target* domain (the same dataset with the direction flipped; for upscalers the HR images
    themselves), for FID."""
    from .data import to_float

    x, targets, kind, cfg = held_out(G, data_cfg, split, n)
    outs = outputs_of(G, x)

    def paired_fn():
        if kind != "paired":
            raise GankitError(f"metric 'paired' needs a paired dataset; '{cfg['name']}' is {kind} (use fid)")
        return outs, to_float(targets)

    if use_of(G).scales:
        return (lambda: outs), paired_fn, cfg
    real_cfg = dict(cfg, direction="BtoA" if cfg.get("direction", "AtoB") == "AtoB" else "AtoB")
    return (lambda: outs), paired_fn, real_cfg
