"""DCGAN and packed DCGAN on stacked MNIST against PacGAN (Lin et al. 2018) Table 2: modes of 1,000
and KL(mode histogram || uniform). PacGAN's rows: DCGAN 99 / 3.4 (as reported by VEEGAN),
PacGAN's own DCGAN run 78.9 / 4.50, PacDCGAN2 1000.0 / 0.06.

Protocol (VEEGAN / PacGAN): 128,000 training images, each three MNIST train digits drawn at random
(seeded by the run's seed) as the RGB channels (`--data stacked-mnist`, `data.stacked_n=128000`);
z of 100 dimensions, batch 64: D judges 64 inputs per step, so a PacDCGAN2 step draws 128 real
and 128 generated images and packs them in pairs, as PacGAN's code does. 26,000 samples are scored:
each channel classified by a digit classifier (bench/common.py trains one once, >= 98% on the MNIST
test split), the triple is one of 1,000 modes; a mode counts as covered with at least one sample (gankit.metrics.stacked_coverage).
Networks: gankit's `dcgan` recipe (28 px, widths 32, FC layers 256, EMA G), not PacGAN's exact
ones; PacDCGAN2 is the same with `model.pack=2` (D sees two samples concatenated along channels) and
`train.batch_size=128`.

    python bench/stacked_mnist.py                              # both rows x 2 seeds, the dcgan recipe's default steps
    python bench/stacked_mnist.py --steps 20000 --jobs 2       # two rows side by side, one thread each
    python bench/stacked_mnist.py --budget 3600 --steps 100000 --device cuda
    python bench/stacked_mnist.py --steps 20 --n-samples 500 --seeds 1 --results-dir /tmp/stacked   # end-to-end check
    python bench/stacked_mnist.py --seeds 1 --steps 20000 --rescore   # score finished rows again (e.g. after a new column)

Rows are cached in `<results-dir>/rows/<key>.json` and skipped on the next call; runs resume from
their last checkpoint (every `--chunk` steps). Samples: z seed 10,000 + seed. Writes
`<results-dir>/stacked_mnist.{json,md}` (default results dir: bench/results/stacked_mnist).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bench_digit_classifier, environment, kind_line, md_table, mnist_root_arg, write_results  # noqa: E402
from paper_rows import (  # noqa: E402
    default_steps, mean_std, resolved_device, results_dir, run_rows, save_row, train_row, where)

# name, model.pack, PacGAN Table 2 (modes, KL) and the note on where that figure comes from
MODELS = [("DCGAN", 1, 99.0, 3.4, "VEEGAN's DCGAN (PacGAN's own run: 78.9 / 4.50)"),
          ("PacDCGAN2", 2, 1000.0, 0.06, "PacGAN")]
PAPER_N, TRAIN_N = 26_000, 128_000
PROTOCOL = [f"data.stacked_n={TRAIN_N}", "model.z_dim=100"]
D_BATCH = 64  # D's inputs per step: PacGAN's code feeds 64 packs of m samples (64 m real and 64 m generated)


def run_row(spec: dict) -> dict:
    """Train one row, score n_samples samples with the digit classifier; saves the row JSON."""
    import gankit
    from gankit.metrics.coverage import stacked_coverage
    from gankit.nets import load_pretrained

    torch.set_num_threads(spec["threads"])
    run_dir = Path(spec["runs_dir"]) / spec["key"]
    trained = train_row("dcgan", None, "stacked-mnist", spec["overrides"], spec["seed"], spec["steps"], spec["budget"],
                        spec["chunk"], spec["device"], run_dir, spec["mnist_root"])
    t0 = time.perf_counter()
    G = gankit.load_generator(run_dir / "generator", spec["device"]).eval()
    x = gankit.sample(G, spec["n_samples"], seed=10_000 + spec["seed"])
    cov = stacked_coverage(x, load_pretrained(spec["classifier"], "cpu").eval())
    row = save_row(spec, {**trained, "modes": cov["modes"], "kl": cov["kl_uniform"], "kl_marginals": cov["kl_marginals"],
                          "channel_kl": cov["channel_kl"], "channel_histograms": cov["channel_histograms"],
                          "score_seconds": round(time.perf_counter() - t0, 1), **where(spec["device"])})
    print(f"{spec['name']} seed {spec['seed']}: {cov['modes']}/1000 modes, KL {cov['kl_uniform']:.3f} after "
          f"{trained['steps']} steps ({trained['train_seconds']:.0f} s training)", flush=True)
    return row


def markdown(rows: list[dict], args, device: str) -> str:
    summary = []
    for name, pack, modes, kl, source in MODELS:
        mine = [r for r in rows if r["name"] == name]
        if mine:
            summary.append({"model": name, "gankit config": "dcgan" + (f" model.pack={pack}" if pack > 1 else "")
                            + "".join(f" {o}" for o in args.extra),
                            "PacGAN modes": modes, "PacGAN KL": kl, "paper row": source,
                            "gankit modes": mean_std([r["modes"] for r in mine]), "gankit KL": mean_std([r["kl"] for r in mine]),
                            "seeds": len(mine), "steps": "/".join(str(r["steps"]) for r in mine),
                            "train s": "/".join(f"{r['train_seconds']:.0f}" for r in mine)})
    n_note = "the paper's count" if args.n_samples == PAPER_N else f"NOT the paper's {PAPER_N}"
    shown = [{**r, "channel_kl": " / ".join(f"{k:.3f}" for k in r["channel_kl"]) if "channel_kl" in r else None} for r in rows]
    per_row = md_table(shown, ["name", "seed", "modes", "kl", "kl_marginals", "channel_kl", "steps", "stopped_by", "train_seconds",
                              "machine_kind", "device"])
    return (f"# gankit vs PacGAN Table 2, stacked MNIST\n\n{kind_line('auto (the recipe default)')}; device "
            f"{device}.\n{TRAIN_N} training triples, z 100, {D_BATCH} D inputs per step (packs for PacDCGAN2); "
            f"{args.n_samples} samples scored ({n_note}) by the bench digit classifier, channel by channel.\n\n"
            + md_table(summary, list(summary[0])) +
            "\nPer row (kl_marginals: the KL of the product of the three channels' digit histograms, the part of kl "
            "that per-channel class imbalance explains; the rest is dependence between channels plus the "
            f"finite-sample floor, ~999 / 2n = {999 / (2 * args.n_samples):.3f}):\n\n" + per_row)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=[m[0] for m in MODELS], choices=[m[0] for m in MODELS])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=None, help="G steps per row (default: the dcgan recipe's)")
    ap.add_argument("--budget", type=float, default=None, help="seconds of training per row (checked every --chunk steps)")
    ap.add_argument("--chunk", type=int, default=500, help="steps between checkpoints and budget checks")
    ap.add_argument("--n-samples", type=int, default=PAPER_N, help="samples scored for modes and KL")
    ap.add_argument("--jobs", type=int, default=1, help="rows side by side, one process and one thread each")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per row")
    ap.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | auto")
    ap.add_argument("--results-dir", type=Path, default=None, help="default bench/results/stacked_mnist")
    ap.add_argument("--mnist-root", type=Path, default=None)
    ap.add_argument("--set", dest="extra", action="append", default=[],
                    help="extra config override of every row (e.g. train.n_g=2: PacGAN's two G updates per D step)")
    ap.add_argument("--rescore", action="store_true", help="score the asked rows again from their finished runs' "
                    "generators (no training where the run reached its steps)")
    args = ap.parse_args()
    if args.seeds < 1 or args.jobs < 1 or args.threads < 1 or args.chunk < 1 or args.n_samples < 1 \
            or (args.steps is not None and args.steps < 1) or (args.budget is not None and args.budget <= 0):
        ap.error("--seeds/--jobs/--threads/--chunk/--steps/--n-samples must be >= 1, --budget > 0")
    torch.set_num_threads(args.threads)
    root = mnist_root_arg(args.mnist_root)
    device = resolved_device(args.device)
    folder = results_dir(args.results_dir, "stacked_mnist")
    _, clf_dir = bench_digit_classifier(root)
    specs = []
    for name, pack, modes, kl, _ in MODELS:
        if name not in args.models:
            continue
        over = [*PROTOCOL, f"train.batch_size={D_BATCH * pack}", f"model.pack={pack}", *args.extra]
        steps = args.steps or default_steps("dcgan", None, "stacked-mnist", over)
        tag = f"steps{steps}-budget{args.budget or 'none'}-n{args.n_samples}-{device.replace(':', '')}"
        batch = "" if pack == 1 else f"-batch{D_BATCH * pack}"  # rows of 64 samples = 32 packs were keyed without it
        batch += "".join("_" + o.replace("=", "-") for o in args.extra)
        specs += [{"key": f"{name.lower()}-seed{s}-{tag}{batch}", "name": name, "pack": pack, "paper_modes": modes,
                   "paper_kl": kl, "seed": s, "steps": steps, "budget": args.budget, "chunk": args.chunk,
                   "n_samples": args.n_samples, "device": device, "threads": args.threads, "overrides": over, "extra": args.extra,
                   "mnist_root": str(root), "classifier": str(clf_dir), "rows_dir": str(folder / "rows"),
                   "runs_dir": str(folder / "runs")} for s in range(args.seeds)]
    if args.rescore:  # a finished run's train_row returns at once, so only the scoring runs again
        for s in specs:
            (folder / "rows" / f"{s['key']}.json").unlink(missing_ok=True)
    t0 = time.perf_counter()
    rows = run_rows(run_row, specs, folder / "rows", args.jobs)
    md = markdown(rows, args, device)
    print(md)
    write_results("stacked_mnist", {"protocol": {"train_images": TRAIN_N, "z_dim": 100, "d_inputs_per_step": D_BATCH,
                                                 "samples": args.n_samples, "sample_seed": "10000 + seed",
                                                 "classifier": str(clf_dir)},
                                    "paper": {m[0]: {"modes": m[2], "kl": m[3], "source": m[4]} for m in MODELS},
                                    "rows": rows, "wall_seconds_this_call": round(time.perf_counter() - t0, 1),
                                    "environment": environment()}, md, folder)


if __name__ == "__main__":
    main()
