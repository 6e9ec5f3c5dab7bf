"""gankit sample GEN_DIR -n N -o FILE"""
from __future__ import annotations

from pathlib import Path

from ..errors import GankitError
from .common import add_device_arg, device_of


def register(sub) -> None:
    p = sub.add_parser("sample", help="draw samples from an exported generator",
                       description="FILE ending in .png saves a grid (one row per class for a conditional "
                                   "generator without --label); .npy saves the raw N x C x H x W array in [-1, 1] "
                                   "(N x 2 for toy generators).")
    p.add_argument("gen_dir", metavar="GEN_DIR")
    p.add_argument("-n", type=int, default=64, metavar="N", help="number of samples (default 64)")
    p.add_argument("-o", "--out", required=True, metavar="FILE", help="output .png or .npy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", type=int, metavar="L", help="class of a conditional generator")
    add_device_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    out = Path(args.out)
    if out.suffix not in (".png", ".npy"):
        raise GankitError(f"-o {out}: expected a file ending in .png or .npy")
    if args.n < 1:
        raise GankitError(f"-n must be >= 1, got {args.n}")
    import numpy as np

    from ..api import load_generator, sample
    from ..data import save_grid, save_points

    G = load_generator(args.gen_dir, device_of(args))
    x = sample(G, args.n, args.seed, args.label)
    if out.suffix == ".npy":
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            np.save(out, x.numpy())
        except OSError as e:
            raise GankitError(f"cannot write {out}: {e.strerror or e}") from None
    elif x.ndim == 2:
        save_points(x, out)
    else:
        k = getattr(G, "num_classes", 0)
        save_grid(x, out, nrow=k if k and args.label is None else None)
    print(f"wrote {args.n} samples to {out}")
    return 0
