"""gankit's default config per loss family against Lucic et al. 2018 ("Are GANs Created Equal?"),
best Inception FID on MNIST: MM GAN 9.8, NS GAN 6.8, LSGAN 7.8, WGAN 6.7, WGAN-GP 20.3, BEGAN 13.1.

Rows (one default config each, where the paper reports the best of a large hyper-parameter search):
MM GAN = `dcgan --loss bce-saturating`, NS GAN = `dcgan` (bce), and the recipes `lsgan`, `wgan`,
`wgan-gp`, `began`, each trained on full MNIST (the 60,000 train digits, `--data mnist`).

FID protocol, as in the study's code (google/compare_gan, compare_gan/src/eval_gan_lib.py:
`num_test_examples` 10,000 from the `test` split, grey tiled to RGB, the TF Inception graph):
Fréchet distance between the Inception pool features (2048-d) of 10,000 generated samples and of
the 10,000 MNIST *test* images, with gankit's offline FID Inception (`gankit.metrics.InceptionFeatures`:
the TF FID graph's weights, 299 px TF1 resize, grey -> RGB) and `feature_stats` / `frechet_distance`
in float64. The test split's statistics are computed once and cached beside the rows. gankit scores
the final generator; the study took the best FID over its runs. `--n-fid N` uses N samples and
the first N test images (N < 10,000 gives a biased, higher FID: for trying the script only).

    python bench/lucic_mnist.py                                 # 6 families x 2 seeds, each recipe's default steps
    python bench/lucic_mnist.py --steps 20000 --jobs 2          # two rows side by side, one thread each
    python bench/lucic_mnist.py --budget 3600 --steps 100000    # each row trains for about an hour
    python bench/lucic_mnist.py --device cuda --jobs 1          # on a GPU
    python bench/lucic_mnist.py --steps 20 --n-fid 200 --seeds 1 --results-dir /tmp/lucic   # end-to-end check

A row is one (family, seed, steps, budget, n-fid, device): its result is cached in
`<results-dir>/rows/<key>.json` and skipped on the next call; its run in `<results-dir>/runs/<key>`
resumes from the last checkpoint (every `--chunk` steps) when the bench was killed. Samples come from
the run's exported generator (the EMA one where the recipe keeps one), z seed 10,000 + seed.
Writes `<results-dir>/lucic_mnist.{json,md}` (default results dir: bench/results/lucic_mnist).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import environment, kind_line, md_table, mnist_root_arg, write_results  # noqa: E402
from paper_rows import (  # noqa: E402
    default_steps, mean_std, resolved_device, results_dir, run_rows, save_row, train_row, where)

# name, recipe, --loss, Lucic et al.'s best MNIST FID
FAMILIES = [("MM GAN", "dcgan", "bce-saturating", 9.8), ("NS GAN", "dcgan", "bce", 6.8), ("LSGAN", "lsgan", None, 7.8),
            ("WGAN", "wgan", None, 6.7), ("WGAN-GP", "wgan-gp", None, 20.3), ("BEGAN", "began", None, 13.1)]
PAPER_N = 10_000


def inception(device: str):
    from gankit.metrics import InceptionFeatures

    return InceptionFeatures(device=device)


def real_stats(folder: Path, mnist_root: Path, n: int, device: str) -> Path:
    """Mean and covariance of the Inception features of the first n MNIST test images, cached."""
    from gankit.data import load_mnist, to_float
    from gankit.metrics.distances import feature_stats

    net = inception(device)
    path = folder / f"mnist_test_inception_stats_n{n}_{net.sha256[:12]}.npz"
    if not path.is_file():
        t0 = time.perf_counter()
        x = to_float(load_mnist(mnist_root, "test")[0][:n])
        mu, sigma = feature_stats(net(x).numpy())
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(path, mu=mu, sigma=sigma, n=n)
        print(f"MNIST test Inception statistics ({n} images, {time.perf_counter() - t0:.0f} s) -> {path}", flush=True)
    return path


def run_row(spec: dict) -> dict:
    """Train one row, sample n_fid images, FID against the cached test statistics; saves the row JSON."""
    import gankit
    from gankit.metrics.distances import feature_stats, frechet_distance

    torch.set_num_threads(spec["threads"])
    run_dir = Path(spec["runs_dir"]) / spec["key"]
    trained = train_row(spec["recipe"], spec["loss"], "mnist", spec["overrides"], spec["seed"], spec["steps"],
                        spec["budget"], spec["chunk"], spec["device"], run_dir, spec["mnist_root"])
    t0 = time.perf_counter()
    G = gankit.load_generator(run_dir / "generator", spec["device"]).eval()
    x = gankit.sample(G, spec["n_fid"], seed=10_000 + spec["seed"])
    feats = inception(spec["device"])(x).numpy()
    real = np.load(spec["real_stats"])
    fid = frechet_distance(*feature_stats(feats), real["mu"], real["sigma"])
    row = save_row(spec, {**trained, "fid": fid, "fid_seconds": round(time.perf_counter() - t0, 1),
                          **where(spec["device"])})
    print(f"{spec['name']} seed {spec['seed']}: FID {fid:.2f} after {trained['steps']} steps "
          f"({trained['train_seconds']:.0f} s training)", flush=True)
    return row


def markdown(rows: list[dict], args, device: str) -> str:
    summary = []
    for name, recipe, loss, paper in FAMILIES:
        mine = [r for r in rows if r["name"] == name]
        if not mine:
            continue
        fids = [r["fid"] for r in mine]
        summary.append({"model": name, "gankit config": f"{recipe}" + (f" --loss {loss}" if loss else ""),
                        "Lucic best FID": paper, "gankit FID": mean_std(fids),
                        "at or below paper": sum(f <= paper for f in fids) == len(fids),
                        "seeds": len(mine), "steps": "/".join(str(r["steps"]) for r in mine),
                        "train s": "/".join(f"{r['train_seconds']:.0f}" for r in mine)})
    per_row = md_table(rows, ["name", "seed", "fid", "steps", "stopped_by", "train_seconds", "fid_seconds",
                              "machine_kind", "device"])
    n_note = "the paper's count" if args.n_fid == PAPER_N else f"NOT the paper's {PAPER_N}: FID biased upwards"
    return (f"# gankit vs Lucic et al. 2018, MNIST FID\n\n{kind_line('auto (the recipe default)')}; "
            f"device {device}.\nFID: {args.n_fid} samples vs the first {args.n_fid} MNIST test images ({n_note}), "
            f"gankit's FID Inception. Lucic et al.: best of a large hyper-parameter search; gankit: one default "
            f"config per family.\n\n" + md_table(summary, list(summary[0])) + "\nPer row:\n\n" + per_row)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", nargs="+", default=[f[0] for f in FAMILIES], metavar="NAME",
                    help="rows to run, by name: " + ", ".join(repr(f[0]) for f in FAMILIES))
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=None, help="G steps per row (default: each recipe's own)")
    ap.add_argument("--budget", type=float, default=None, help="seconds of training per row (checked every --chunk steps)")
    ap.add_argument("--chunk", type=int, default=500, help="steps between checkpoints and budget checks")
    ap.add_argument("--n-fid", type=int, default=PAPER_N, help="generated samples and test images for FID")
    ap.add_argument("--jobs", type=int, default=1, help="rows side by side, one process and one thread each")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per row")
    ap.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | auto")
    ap.add_argument("--results-dir", type=Path, default=None, help="default bench/results/lucic_mnist")
    ap.add_argument("--mnist-root", type=Path, default=None)
    args = ap.parse_args()
    names = {f[0]: f for f in FAMILIES}
    bad = [n for n in args.families if n not in names]
    if bad or args.seeds < 1 or args.jobs < 1 or args.threads < 1 or args.chunk < 1 or not 2 <= args.n_fid <= PAPER_N \
            or (args.steps is not None and args.steps < 1) or (args.budget is not None and args.budget <= 0):
        ap.error((f"unknown family {bad}; " if bad else "") + "--seeds/--jobs/--threads/--chunk/--steps must be "
                 f">= 1, --budget > 0, --n-fid in 2..{PAPER_N}")
    torch.set_num_threads(args.threads)
    root = mnist_root_arg(args.mnist_root)
    device = resolved_device(args.device)
    folder = results_dir(args.results_dir, "lucic_mnist")
    stats = real_stats(folder, root, args.n_fid, device)
    specs = []
    for name in args.families:
        _, recipe, loss, paper = names[name]
        over: list[str] = []
        steps = args.steps or default_steps(recipe, loss, "mnist", over)
        slug = name.lower().replace(" ", "-")
        tag = f"steps{steps}-budget{args.budget or 'none'}-nfid{args.n_fid}-{device.replace(':', '')}"
        specs += [{"key": f"{slug}-seed{s}-{tag}", "name": name, "recipe": recipe, "loss": loss, "paper_fid": paper, "seed": s, "steps": steps,
                   "budget": args.budget, "chunk": args.chunk, "n_fid": args.n_fid, "device": device,
                   "threads": args.threads, "overrides": over, "mnist_root": str(root), "real_stats": str(stats),
                   "rows_dir": str(folder / "rows"), "runs_dir": str(folder / "runs")} for s in range(args.seeds)]
    t0 = time.perf_counter()
    rows = run_rows(run_row, specs, folder / "rows", args.jobs)
    md = markdown(rows, args, device)
    print(md)
    write_results("lucic_mnist", {"protocol": {"fid_samples": args.n_fid, "real": f"first {args.n_fid} MNIST test images",
                                               "features": "Inception pool3 2048-d (gankit FID Inception)",
                                               "sample_seed": "10000 + seed"},
                                  "paper": {f[0]: f[3] for f in FAMILIES}, "rows": rows,
                                  "wall_seconds_this_call": round(time.perf_counter() - t0, 1),
                                  "environment": environment()}, md, folder)


if __name__ == "__main__":
    main()
