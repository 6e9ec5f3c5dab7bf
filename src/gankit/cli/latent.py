"""gankit interpolate | invert | arithmetic | vary: latent tools on an exported generator."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import GankitError
from .common import add_device_arg, device_of


class _Term(argparse.Action):
    """--plus/--minus keep their order in one list of (sign, spec)."""

    def __call__(self, parser, namespace, values, option_string=None):
        terms = getattr(namespace, "terms", None) or []
        terms.append((1 if option_string == "--plus" else -1, values))
        namespace.terms = terms


def _inv_args(p):
    p.add_argument("--steps", type=int, default=500, help="Adam steps of the inversion (default 500)")
    p.add_argument("--restarts", type=int, default=4, help="random starts per image (default 4)")
    p.add_argument("--lr", type=float, default=0.05, help="Adam learning rate (default 0.05)")
    p.add_argument("--loss", default="l1", choices=["l1", "l2"], help="reconstruction loss (default l1)")


def register(sub) -> None:
    p = sub.add_parser("interpolate", help="images along a path between two latent codes (or two real images)",
                       epilog="Example: gankit interpolate GEN --from 1 --to 2 --steps 10 --slerp -o strip.png --gif walk.gif")
    p.add_argument("gen_dir", metavar="GEN_DIR")
    p.add_argument("--from", dest="src", required=True, metavar="SEED_OR_Z", help="a seed, a code file (.npy/.safetensors) or an image (embedded)")
    p.add_argument("--to", dest="dst", required=True, metavar="SEED_OR_Z")
    p.add_argument("--steps", dest="n", type=int, default=10, help="images on the path (default 10)")
    p.add_argument("--slerp", action="store_true", help="spherical instead of linear interpolation")
    p.add_argument("--label", type=int, help="class for a conditional generator")
    p.add_argument("-o", "--out", required=True, metavar="PNG")
    p.add_argument("--gif", metavar="GIF", help="also write an animation")
    p.add_argument("--gif-scale", type=int, metavar="K",
                   help="enlarge GIF frames K times, nearest-neighbour (default: to at least 256 px)")
    add_device_arg(p)
    p.set_defaults(func=run_interpolate)

    p = sub.add_parser("invert", help="embed real images: find z with G(z) close to each image",
                       epilog="Example: gankit invert GEN digit.png -o inv/ --steps 500 --restarts 4")
    p.add_argument("gen_dir", metavar="GEN_DIR")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    p.add_argument("-o", "--out", required=True, metavar="OUT_DIR")
    p.add_argument("--label", type=int, help="class for a conditional generator")
    _inv_args(p)
    p.add_argument("--feature-weight", type=float, default=0.0, metavar="W",
                   help="add W x the mean squared distance of --features to the pixel loss (default 0: pixels only)")
    p.add_argument("--features", default="classifier", metavar="NET",
                   help="feature network of --feature-weight: 'classifier' (the digit classifier that "
                        "`gankit train-classifier` cached), a classifier directory, or vgg22 / vgg54 (VGG19 "
                        "with torchvision's cached ImageNet weights)")
    add_device_arg(p)
    p.set_defaults(func=run_invert)

    p = sub.add_parser("arithmetic", help="attribute arithmetic: --plus A --minus B --plus C ...",
                       description="Each term is a folder of images (embedded, codes averaged), a code file "
                                   "(.npy/.safetensors) or seeds (e.g. 1,2,3). The output shows each term's mean "
                                   "image, the result, and --noise variations of the result.")
    p.add_argument("gen_dir", metavar="GEN_DIR")
    p.add_argument("--plus", action=_Term, metavar="TERM")
    p.add_argument("--minus", action=_Term, metavar="TERM")
    p.add_argument("--noise", type=float, default=0.0, metavar="SIGMA", help="also show variations with this noise")
    p.add_argument("-n", type=int, default=8, help="number of variations with --noise (default 8)")
    p.add_argument("-o", "--out", required=True, metavar="PNG")
    p.add_argument("--save-z", metavar="FILE", help="save the result code (.npy or .safetensors)")
    _inv_args(p)
    add_device_arg(p)
    p.set_defaults(func=run_arithmetic, terms=None)

    p = sub.add_parser("vary", help="variations of one sample: its code plus small noise")
    p.add_argument("gen_dir", metavar="GEN_DIR")
    p.add_argument("--seed", default="0", metavar="SEED_OR_Z", help="a seed or a code file (default 0)")
    p.add_argument("--sigma", type=float, default=0.3)
    p.add_argument("-n", type=int, default=16)
    p.add_argument("--label", type=int)
    p.add_argument("-o", "--out", required=True, metavar="PNG")
    add_device_arg(p)
    p.set_defaults(func=run_vary)


def _load(args):
    from ..api import load_generator

    from ..nets.uses import use_of

    G = load_generator(args.gen_dir, device_of(args))
    use = use_of(G)
    if not (use.from_noise and use.images):
        raise GankitError(f"{args.gen_dir} is not an image generator from noise (kind {use.kind})")
    return G


def _term(G, spec: str, invert_kwargs: dict | None = None):
    """resolve_term, with one-line errors for codes of the wrong size or NaN (seeds are checked where drawn)."""
    import torch

    from ..latent import resolve_term

    z = resolve_term(G, spec, invert_kwargs)
    if z.ndim != 2 or z.shape[1] != G.z_dim:
        raise GankitError(f"{spec}: codes of shape {tuple(z.shape)}; this generator takes K x {G.z_dim} codes")
    if not bool(torch.isfinite(z).all()):
        raise GankitError(f"{spec}: codes hold NaN or Inf values")
    return z


def _code(G, spec: str, args):
    """A seed, a code file, or an image file (embedded)."""
    from ..data import IMAGE_EXTS, read_image, to_float
    from ..latent import invert

    p = Path(spec)
    if p.suffix.lower() in IMAGE_EXTS:
        img = read_image(p, G.meta.get("channels") or None, G.meta.get("image_size") or None)
        return invert(G, to_float(img)[None], label=getattr(args, "label", None)).z[0]
    return _term(G, spec)[0]


def _at_least(args, *checks) -> None:
    """(dest, flag, lowest allowed) for each numeric option."""
    for dest, flag, low in checks:
        if getattr(args, dest) < low:
            raise GankitError(f"{flag} must be >= {low}, got {getattr(args, dest)}")


def run_interpolate(args) -> int:
    from ..data import save_grid
    from ..latent import interpolate

    if args.gif_scale is not None and args.gif_scale < 1:
        raise GankitError(f"--gif-scale must be >= 1, got {args.gif_scale}")
    _at_least(args, ("n", "--steps", 1))
    G = _load(args)
    _, imgs = interpolate(G, _code(G, args.src, args), _code(G, args.dst, args), args.n, args.slerp, args.label)
    save_grid(imgs, args.out, nrow=args.n)
    print(f"wrote {args.out}")
    if args.gif:
        from PIL import Image

        from ..data import to_uint8
        from ..data.io import save_pil
        scale = args.gif_scale if args.gif_scale is not None else max(1, -(-256 // max(imgs.shape[-2:])))
        frames = [Image.fromarray(to_uint8(x).squeeze(0).numpy() if x.shape[0] == 1 else to_uint8(x).permute(1, 2, 0).numpy())
                  for x in imgs]
        frames = [f.resize((f.width * scale, f.height * scale), Image.NEAREST) for f in frames]
        save_pil(frames[0], Path(args.gif), save_all=True, append_images=frames[1:] + frames[::-1][1:-1], duration=120, loop=0)
        print(f"wrote {args.gif}")
    return 0


def _feature_net(name: str, device):
    """The frozen feature function of --features: a perceptual term for inversion."""
    if name in ("vgg22", "vgg54"):
        from ..nets.vgg import VGGFeatures

        return VGGFeatures(name).to(device)
    from ..metrics.classifier import default_digit_classifier

    clf = default_digit_classifier(None if name == "classifier" else name, device)
    if clf is None:
        raise GankitError("--features classifier: no cached digit classifier; run `gankit train-classifier "
                          "--data mnist` or pass --features DIR or vgg54")
    return clf.eval().requires_grad_(False).features


def run_invert(args) -> int:
    import numpy as np

    from ..data import expand_inputs, read_image, save_image, to_float
    from ..latent import invert

    _at_least(args, ("steps", "--steps", 1), ("restarts", "--restarts", 1), ("feature_weight", "--feature-weight", 0))
    if not args.lr > 0:
        raise GankitError(f"--lr must be > 0, got {args.lr}")
    G = _load(args)
    files = expand_inputs(args.images)
    imgs = to_float(__import__("torch").stack(
        [read_image(f, G.meta.get("channels") or None, G.meta.get("image_size") or None) for f in files]))
    features = _feature_net(args.features, device_of(args)) if args.feature_weight else None
    res = invert(G, imgs, steps=args.steps, restarts=args.restarts, lr=args.lr, loss=args.loss, label=args.label,
                 feature_weight=args.feature_weight, features=features)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "z.npy", res.z.numpy())
    report = {}
    for i, f in enumerate(files):
        save_image(res.recon[i], out / f"{f.stem}_recon.png")
        report[f.name] = {"final_error": float(res.error[i]), "curve": res.curves[:, i].tolist()}
        print(f"{f.name}: mean abs error {float(res.error[i]):.4f}")
    (out / "errors.json").write_text(json.dumps(report))
    print(f"wrote codes to {out / 'z.npy'}, reconstructions and error curves (errors.json) to {out}")
    return 0


def run_arithmetic(args) -> int:
    import numpy as np
    import torch

    from ..data import save_grid
    from ..latent import arithmetic, vary
    from ..latent.interpolate import generate

    _at_least(args, ("steps", "--steps", 1), ("restarts", "--restarts", 1), ("n", "-n", 1), ("noise", "--noise", 0))
    if not args.lr > 0:
        raise GankitError(f"--lr must be > 0, got {args.lr}")
    G = _load(args)
    if not args.terms:
        raise GankitError("give terms with --plus A --minus B --plus C ...")
    kw = {"steps": args.steps, "restarts": args.restarts, "lr": args.lr, "loss": args.loss}
    terms = [(sign, _term(G, spec, kw)) for sign, spec in args.terms]
    means, result = arithmetic(terms)
    row = generate(G, torch.stack(means + [result]))
    if args.noise > 0:
        _, var = vary(G, result, args.noise, args.n)
        row = torch.cat([row, var[1:]])
    save_grid(row, args.out, nrow=len(means) + 1)
    signs = " ".join(("+" if s > 0 else "-") + " " + spec for s, spec in args.terms)
    print(f"wrote {args.out}: term means ({signs}), then the result" + (", then variations" if args.noise > 0 else ""))
    if args.save_z:
        if args.save_z.endswith(".safetensors"):
            from safetensors.torch import save_file
            save_file({"z": result[None].contiguous()}, args.save_z)
        else:
            np.save(args.save_z, result[None].numpy())
    return 0


def run_vary(args) -> int:
    from ..data import save_grid
    from ..latent import vary

    _at_least(args, ("n", "-n", 1), ("sigma", "--sigma", 0))
    G = _load(args)
    _, imgs = vary(G, _code(G, args.seed, args), args.sigma, args.n, label=args.label)
    save_grid(imgs, args.out)
    print(f"wrote {args.out} (first: the original, then sigma={args.sigma} variations)")
    return 0
