"""gankit translate GEN_DIR INPUT... -o OUT_DIR  and  gankit upscale GEN_DIR INPUT... -o OUT_DIR"""
from __future__ import annotations

from .common import add_device_arg, device_of

SIZES = ("Any image size works: with --fit pad (default) the image is padded by edge replication to a "
         "multiple of the network's stride, translated, and cropped back to its own size; with --fit resize "
         "it is resized to the training size and the output resized back. Grayscale inputs to an RGB model "
         "are converted.")


def register(sub) -> None:
    for kind, cmd, what in (("translate", "translate", "translate images with a pix2pix or CycleGAN generator"),
                            ("upscale", "upscale", "upscale images with a super-resolution generator")):
        p = sub.add_parser(cmd, help=what, description=f"{what[0].upper()}{what[1:]}. {SIZES} Outputs are PNG "
                           "files named after the inputs.",
                           epilog=f"Example: gankit {cmd} runs/my-run/generator photos/ -o out/")
        p.add_argument("gen_dir", metavar="GEN_DIR", help="exported generator directory (RUN_DIR/generator)")
        p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
        p.add_argument("-o", "--out", required=True, metavar="OUT_DIR", help="folder for the outputs")
        if kind == "translate":
            p.add_argument("--direction", choices=("AtoB", "BtoA"),
                           help="CycleGAN only: which of its two generators to use (default AtoB)")
            p.add_argument("--fit", choices=("pad", "resize"), default="pad", help="how to handle the size (default pad)")
        p.add_argument("--seed", type=int, default=0, help="seed of pix2pix's test-time dropout (default 0)")
        p.add_argument("--max-side", type=int, default=4096, metavar="PX", help="refuse larger images (default 4096)")
        add_device_arg(p)
        p.set_defaults(func=run, kind=kind)


def run(args) -> int:
    from ..translate import translate_files

    written = translate_files(args.gen_dir, args.inputs, args.out, kind=args.kind,
                              direction=getattr(args, "direction", None), fit=getattr(args, "fit", "pad"),
                              device=device_of(args), seed=args.seed, max_side=args.max_side)
    print(f"wrote {len(written)} image(s) to {args.out}")
    return 0
