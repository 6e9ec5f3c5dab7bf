"""Attribute arithmetic on latent codes: average the codes that share an attribute, then add and
subtract the means (Radford et al. 2016: man with glasses - man + woman = woman with glasses)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..errors import GankitError
from .invert import invert


def seed_codes(seeds: list[int], z_dim: int, prior: str = "normal") -> Tensor:
    from ..nets.uses import seeded_noise

    return torch.cat([seeded_noise(1, z_dim, s, prior) for s in seeds])


def load_codes(path: Path) -> Tensor:
    if path.suffix == ".npy":
        return torch.from_numpy(np.load(path)).float().view(-1, np.load(path).shape[-1])
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        d = load_file(str(path))
        if "z" not in d:
            raise GankitError(f"{path} holds no tensor named 'z'")
        return d["z"].float().view(-1, d["z"].shape[-1])
    raise GankitError(f"code file {path} must be .npy or .safetensors")


def resolve_term(G, spec: str, invert_kwargs: dict | None = None) -> Tensor:
    """One term -> its codes [K, z_dim]: a folder of images (embedded), a .npy/.safetensors code
    file, or seeds ("7" or "1,2,3")."""
    p = Path(spec)
    if p.is_dir():
        from ..data import expand_inputs, read_image, to_float

        meta = getattr(G, "meta", {})
        size = meta.get("image_size") or None
        imgs = torch.stack([read_image(f, meta.get("channels") or None, size) for f in expand_inputs([p])])
        return invert(G, to_float(imgs), **(invert_kwargs or {})).z
    if p.suffix in (".npy", ".safetensors"):
        if not p.is_file():
            raise GankitError(f"code file {p} does not exist")
        return load_codes(p)
    try:
        seeds = [int(s) for s in spec.split(",") if s.strip()]
    except ValueError:
        raise GankitError(f"term '{spec}' is not a folder, a code file (.npy/.safetensors) or seeds like 1,2,3") from None
    from ..nets.uses import z_prior_of

    return seed_codes(seeds, G.z_dim, z_prior_of(G))


def arithmetic(terms: list[tuple[int, Tensor]]) -> tuple[list[Tensor], Tensor]:
    """(term means, result = sum of sign * mean) for terms given as (+1|-1, codes)."""
    if not terms:
        raise GankitError("arithmetic needs at least one --plus or --minus term")
    means = [codes.mean(0) for _, codes in terms]
    result = sum(sign * m for (sign, _), m in zip(terms, means))
    return means, result
