"""gankit export RUN_DIR OUT_DIR [--push-to-hub user/repo]"""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("export", help="write a run's generator alone (config.json + model.safetensors + model card)",
                       description="Write the generator of a run (the EMA copy when kept) as config.json + "
                                   "model.safetensors with a model card (README.md, samples.png); load it with "
                                   "gankit.load_generator(OUT_DIR), or from the Hub after --push-to-hub.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("out_dir", metavar="OUT_DIR")
    p.add_argument("--which", default="auto", choices=["auto", "best", "last"],
                   help="checkpoint to export: best (kept by the training metric), last, or auto (best if any)")
    p.add_argument("--push-to-hub", metavar="USER/REPO",
                   help="also upload OUT_DIR to this Hugging Face Hub model repo (token: HF_TOKEN or `hf auth login`)")
    p.add_argument("--private", action="store_true", help="create the Hub repo as private")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..api import export

    out, used = export(args.run_dir, args.out_dir, args.which, push_to_hub=args.push_to_hub, private=args.private)
    print(f"exported generator from {used} to {out} (model card: {out / 'README.md'})")
    if args.push_to_hub:
        print(f"pushed {out} to https://huggingface.co/{args.push_to_hub}")
    return 0
