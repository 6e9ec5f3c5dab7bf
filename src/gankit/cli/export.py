"""gankit export RUN_DIR OUT_DIR"""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("export", help="write a run's generator alone (config.json + model.safetensors)",
                       description="Write the generator of a run (the EMA copy when kept) as config.json + "
                                   "model.safetensors; load it with gankit.load_generator(OUT_DIR).")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("out_dir", metavar="OUT_DIR")
    p.add_argument("--which", default="auto", choices=["auto", "best", "last"],
                   help="checkpoint to export: best (kept by the training metric), last, or auto (best if any)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..api import export

    out, used = export(args.run_dir, args.out_dir, args.which)
    print(f"exported generator from {used} to {out}")
    return 0
