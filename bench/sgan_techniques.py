"""What each Improved-GAN technique gives the `sgan` recipe (Salimans et al. 2016, MNIST, 100 labels):
the recipe as it is, then with one technique taken out per row, MNIST test accuracy (10,000 images)
of D's weight average at the last step (the raw D's where the average is the technique removed).

Rows: feature matching -> -log D(G(z)); weight normalisation off (plain linear layers, PyTorch's
init, still scaled from data); Gaussian noise off (input and hidden); D's weight average off (raw D
tested); Adam's eps 1e-8 instead of the authors' effective 1e-4; and one row that adds a technique
the recipe leaves out, the authors' uniform codes (`model.z_prior=uniform`). The K-logit parametrisation (the
fake logit fixed at 0) is not a row: a learned (K+1)-th logit only adds a constant shared by all the
logits, which the softmax ignores (Salimans et al. §5), so there is nothing to measure.

    python bench/sgan_techniques.py --steps 3000 --jobs 2          # every row, two side by side
    python bench/sgan_techniques.py --rows recipe no-noise --seeds 2
    python bench/sgan_techniques.py --steps 20 --results-dir /tmp/sgt   # end-to-end check

Rows are cached in `<results-dir>/rows/<key>.json` and skipped when done. Writes
`<results-dir>/sgan_techniques.{json,md}` (default bench/results/sgan_techniques).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import environment, kind_line, md_table, mnist_root_arg, write_results  # noqa: E402
from paper_rows import QUIET, mean_std, results_dir, run_rows, save_row, where  # noqa: E402

ROWS = {
    "recipe": ("the recipe (every technique)", []),
    "no-fm": ("G: -log D(G(z)) instead of feature matching", ["loss.feature_matching=false"]),
    "no-wn": ("no weight normalisation in D", ["model.d_weight_norm=false"]),
    "no-noise": ("no Gaussian noise in D", ["model.d_input_noise=0", "model.d_hidden_noise=0"]),
    "no-avg": ("raw D tested (no weight average)", ["train.d_ema=0"]),
    "eps-1e-8": ("Adam eps 1e-8 (PyTorch's) instead of 1e-4", ["optim.D.eps=1e-8", "optim.G.eps=1e-8"]),
    "uniform-z": ("z ~ U(-1, 1) (the authors' uniform codes) instead of N(0, I)", ["model.z_prior=uniform"]),
}


def run_row(spec: dict) -> dict:
    import gankit

    torch.set_num_threads(spec["threads"])
    run = Path(spec["runs_dir"]) / spec["key"]
    t0 = time.perf_counter()
    gankit.fit("sgan", data="mnist", data_root=spec["mnist_root"], steps=spec["steps"], seed=spec["seed"], out=run,
               device=spec["device"], overrides=[*spec["overrides"], *QUIET, f"eval.every={spec['eval_every']}"])
    curve = [(r["step"], r["eval/test_acc"]) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
             if "eval/test_acc" in r]
    row = save_row(spec, {"acc": curve[-1][1], "curve": curve, "train_seconds": round(time.perf_counter() - t0, 1),
                          **where(spec["device"])})
    print(f"{spec['label']} seed {spec['seed']}: test accuracy {row['acc']:.4f} after {spec['steps']} iterations "
          f"({row['train_seconds']:.0f} s)", flush=True)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--steps", type=int, default=15000, help="iterations (the recipe's: 15,000)")
    ap.add_argument("--eval-every", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=1, help="rows side by side, one process and one thread each")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--results-dir", type=Path, default=None)
    ap.add_argument("--mnist-root", type=Path, default=None)
    args = ap.parse_args()
    if args.steps < 1 or args.seeds < 1 or args.eval_every < 1:
        ap.error("--steps, --seeds and --eval-every must be >= 1")
    root = mnist_root_arg(args.mnist_root)
    folder = results_dir(args.results_dir, "sgan_techniques")
    eval_every = min(args.eval_every, args.steps)
    specs = [{"key": f"{key}-seed{s}-steps{args.steps}-{args.device.replace(':', '')}", "row": key, "label": ROWS[key][0],
              "overrides": ROWS[key][1], "seed": s, "steps": args.steps, "eval_every": eval_every, "threads": args.threads,
              "device": args.device, "mnist_root": str(root), "rows_dir": str(folder / "rows"),
              "runs_dir": str(folder / "runs")} for key in args.rows for s in range(args.seeds)]
    t0 = time.perf_counter()
    rows = run_rows(run_row, specs, folder / "rows", args.jobs)
    base = [r["acc"] for r in rows if r["row"] == "recipe"]
    summary = []
    for key, (label, over) in ROWS.items():
        accs = [r["acc"] for r in rows if r["row"] == key]
        if accs:
            summary.append({"row": label, "overrides": " ".join(over), "test acc": mean_std(accs),
                            "vs the recipe (points)": (f"{100 * (sum(accs) / len(accs) - sum(base) / len(base)):+.1f}"
                                                       if base and key != "recipe" else ""),
                            "seeds": len(accs), "train s": "/".join(f"{r['train_seconds']:.0f}" for r in rows if r["row"] == key)})
    md = (f"# What each Improved-GAN technique gives the sgan recipe (MNIST, 100 labels)\n\n{kind_line('auto')}; "
          f"{args.steps} iterations, device {args.device}; test accuracy of the last step.\n\n" + md_table(summary, list(summary[0])))
    print(md)
    write_results("sgan_techniques", {"rows": rows, "steps": args.steps, "wall_seconds_this_call": round(time.perf_counter() - t0, 1),
                                      "environment": environment()}, md, folder)


if __name__ == "__main__":
    main()
