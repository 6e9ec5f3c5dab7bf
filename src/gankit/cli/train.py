"""gankit train RECIPE ..."""
from __future__ import annotations

import argparse
import os
import sys

from .common import add_data_args, add_device_arg


def register(sub) -> None:
    from ..config import recipe_registry

    RECIPES = recipe_registry()

    p = sub.add_parser("train", help="train a GAN recipe", formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Train a recipe. Recipes:\n" + "\n".join(
                           f"  {k:10s} {v['help']}" for k, v in RECIPES.items()),
                       epilog="Examples:\n  gankit train\n  gankit train gan --data toy2d-ring --steps 3000\n"
                              "  gankit train dcgan --data mnist --data-root ../shared/data/mnist --loss wgan-gp\n"
                              "  gankit train --resume runs/my-run --steps 3000")
    p.add_argument("recipe", nargs="?", default="dcgan", choices=sorted(RECIPES), metavar="RECIPE",
                   help="which GAN to train (default: dcgan)")
    add_data_args(p)
    p.add_argument("--out", metavar="RUN_DIR", help="run directory (default runs/RECIPE-DATA-TIME)")
    p.add_argument("--steps", type=int, metavar="N", help="generator steps (iterations)")
    p.add_argument("--batch-size", type=int, metavar="B", help="batch size per process")
    p.add_argument("--seed", type=int, metavar="S", help="random seed")
    p.add_argument("--loss", metavar="NAME", help="loss family with its paper's optimizer preset "
                   "(configs/losses/NAME.yaml), e.g. bce, bce-saturating, lsgan, wgan, wgan-gp, hinge; for gan, dcgan, cgan, "
                   "pix2pix and the loss-named recipes. D's regularisers compose with any: --set loss.reg=[gp]")
    p.add_argument("--aug", metavar="MODE", help="augmentation of everything D sees: none, ada, fixed:P, diffaug")
    p.add_argument("--labels-per-class", type=int, metavar="N",
                   help="sgan: labelled examples per class, a seeded class-balanced subset (default 10)")
    p.add_argument("--config", metavar="FILE", help="YAML file of config overrides")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config key, e.g. --set optim.D.lr=1e-4 (repeatable)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run exactly from its last checkpoint")
    add_device_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from ..config import resolve_config
    from ..errors import GankitError

    options = dict(data=args.data, data_root=args.data_root, steps=args.steps, batch_size=args.batch_size,
                   seed=args.seed, device=args.device, loss=args.loss, aug=args.aug, config_file=args.config,
                   overrides=args.overrides, labels_per_class=args.labels_per_class)
    # every value is checked here, before the API's import of torch and the engine (seconds on a busy machine)
    if args.resume is not None:
        saved = Path(args.resume) / "config.yaml"
        if not saved.is_file():
            raise GankitError(f"--resume {args.resume}: not a run directory (no config.yaml)")
        resolve_config(saved=saved, **options)
    else:
        resolve_config(args.recipe, **options)
    from ..api import fit

    fit(args.recipe, out=args.out, resume=args.resume, **options)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # Every output is written and the process group is gone. Interpreter teardown is skipped:
        # there gloo's threads can abort a finished rank (SIGABRT, "terminate called without an
        # active exception"), which torchrun reports as a failed run.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0
