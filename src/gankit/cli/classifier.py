"""gankit train-classifier: the digit classifier behind MNIST-FID, class histograms and alarms."""
from __future__ import annotations

from ..errors import GankitError
from .common import add_device_arg, device_of


def register(sub) -> None:
    p = sub.add_parser("train-classifier", help="train the MNIST digit classifier used by mnist-fid/classes metrics",
                       description="Trains a small CNN on the MNIST train split (>= 99%% test accuracy) and saves "
                                   "it (config.json + model.safetensors), by default into the cache folder "
                                   "($GANKIT_CACHE or ~/.cache/gankit) where metrics and alarms find it.")
    p.add_argument("--data", default="mnist", choices=["mnist"], help="only mnist")
    p.add_argument("--data-root", metavar="PATH", help="folder with the MNIST IDX .gz files")
    p.add_argument("-o", "--out", metavar="DIR", help="where to save (default: the cache folder)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    add_device_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..config import cache_dir
    from ..metrics.classifier import train_digit_classifier

    if args.epochs < 1:
        raise GankitError(f"--epochs must be >= 1, got {args.epochs}")
    out = args.out or cache_dir() / "classifiers" / "mnist"
    _, acc = train_digit_classifier(args.data_root, epochs=args.epochs, seed=args.seed, device=device_of(args), out_dir=out)
    print(f"test accuracy {acc:.4f}; saved to {out}")
    return 0
