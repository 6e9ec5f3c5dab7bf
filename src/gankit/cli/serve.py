"""gankit serve GEN_DIR [--host 127.0.0.1 --port 7860]"""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("serve", help="local web demo of an exported generator (Gradio)",
                       description="Sample with a seed (and class), interpolate with a slider, add noise, embed an "
                                   "uploaded image, or translate one. Binds to 127.0.0.1 unless --host says otherwise.")
    p.add_argument("gen_dir", metavar="GEN_DIR")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..extras import require
    from ..nets import read_config
    from ..serve import serve

    require("gradio", "gankit serve")
    read_config(args.gen_dir)  # one-line error for a wrong directory before Gradio starts
    print(f"serving {args.gen_dir} on http://{args.host}:{args.port}")
    serve(args.gen_dir, args.host, args.port)
    return 0
