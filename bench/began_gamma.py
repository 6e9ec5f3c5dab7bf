"""BEGAN on MNIST with the diversity ratio γ = 0.3, 0.5, 0.7 (Berthelot et al. 2017, §3.2 / SPEC §8):
the M_global convergence curve of each run, and how diverse its samples are.

Diversity of 2,000 samples, in the feature space of a digit classifier (bench/common.py trains one
once, >= 98% test accuracy): mean pairwise distance of the 128-d penultimate features, and the
entropy (nats, at most ln 10 = 2.303) of the predicted-class histogram. Real MNIST test digits give
the reference. The paper's claim is that diversity grows with γ. M_global converging is judged by
its mean over the last 10% of the logged steps against its mean over the first 10%.

    python bench/began_gamma.py                        # γ 0.3, 0.5, 0.7; 3,000 steps (the began preset), seed 0
    python bench/began_gamma.py --steps 1500 --jobs 3  # the three runs side by side, one thread each
    python bench/began_gamma.py --steps 600 --width 16 --jobs 3   # a quick look on a busy machine
    python bench/began_gamma.py --seeds 2

Writes bench/results/began_gamma.{json,md} and began_gamma.png (M_global and k_t curves). γ acts only
through k_t, which moves by at most λ_k = 0.001 per step: runs of a few hundred steps leave k_t near 0
and the three γ nearly the same model, so the comparison needs thousands of steps. Wall time: 250 steps
at n = 16 took ~860 s per run, three at a time, on 2 CPU cores shared with other jobs; the defaults
(12x the steps, ~4x the compute per step) are hours on a CPU, minutes on a GPU (the device is `auto`).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    RESULTS, bench_digit_classifier, environment, md_table, mnist_root_arg, run_jobs, save_figure, two_panels,
    write_results)

N_SAMPLES = 2000


def diversity(clf, x: torch.Tensor) -> dict:
    """Mean pairwise feature distance and predicted-class entropy of images in [-1, 1]."""
    from gankit.metrics.coverage import histogram_entropy, mean_pairwise_distance

    with torch.no_grad():
        feats = torch.cat([clf.features(x[i:i + 500]) for i in range(0, len(x), 500)])
    labels = clf.predict(x)
    return {"feature_distance": mean_pairwise_distance(feats), "class_entropy": histogram_entropy(labels, 10),
            "class_histogram": torch.bincount(labels, minlength=10).tolist()}


def run_one(gamma: float, seed: int, steps: int, width: int, mnist_root: str, clf_dir: str, threads: int) -> dict:
    import gankit
    from gankit.nets import load_pretrained

    torch.set_num_threads(threads)
    over = [f"model.gamma={gamma}", f"model.g_n={width}", f"model.d_n={width}", "train.report=false", "train.progress=false", f"train.log_every={max(1, steps // 100)}",
            f"train.sample_every={steps}", f"train.ckpt_every={steps}"]
    with tempfile.TemporaryDirectory(prefix="gankit-began-") as tmp:
        t0 = time.perf_counter()
        run = gankit.fit("began", data="mnist", data_root=mnist_root, steps=steps, seed=seed, out=Path(tmp) / "run",
                         overrides=over)
        seconds = time.perf_counter() - t0
        logs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        curve = [(r["step"], r["began/M_global"], r["began/k"]) for r in logs if "began/M_global" in r]
        x = gankit.sample(gankit.load_generator(run / "generator"), N_SAMPLES, seed=10_000 + seed)
    tenth = max(1, len(curve) // 10)
    m_first = statistics.fmean(m for _, m, _ in curve[:tenth])
    m_last = statistics.fmean(m for _, m, _ in curve[-tenth:])
    div = diversity(load_pretrained(clf_dir, "cpu").eval(), x)
    print(f"γ {gamma} seed {seed}: M_global first 10% {m_first:.4f} -> last 10% {m_last:.4f}; feature distance "
          f"{div['feature_distance']:.3f}, class entropy {div['class_entropy']:.3f} ({seconds:.0f} s)", flush=True)
    return {"gamma": gamma, "seed": seed, "steps": steps, "seconds": round(seconds, 1), "m_global_first10": m_first,
            "m_global_last10": m_last, "k_last": curve[-1][2], "m_global_falls": m_last < m_first, **div,
            "curve": [{"step": s, "M_global": m, "k": k} for s, m, k in curve]}


def plot(runs: list[dict], path: Path) -> None:
    fig, (a, b) = two_panels()
    for r in runs:
        steps = [c["step"] for c in r["curve"]]
        label = f"γ={r['gamma']} seed {r['seed']}"
        a.plot(steps, [c["M_global"] for c in r["curve"]], label=label)
        b.plot(steps, [c["k"] for c in r["curve"]], label=label)
    a.set(xlabel="step", ylabel="M_global", title="convergence measure")
    b.set(xlabel="step", ylabel="k_t", title="equilibrium control")
    a.legend(fontsize=8)
    save_figure(fig, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gammas", nargs="+", type=float, default=[0.3, 0.5, 0.7])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--width", type=int, default=32, help="filters n of G and D (the began preset: 32)")
    ap.add_argument("--jobs", type=int, default=1, help="runs at a time, one process each")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per run")
    ap.add_argument("--mnist-root", type=Path, default=None)
    args = ap.parse_args()
    if args.steps < 10 or args.seeds < 1 or args.jobs < 1 or args.threads < 1 or args.width < 1 or not all(0 <= g <= 1 for g in args.gammas):
        sys.exit("--steps must be >= 10, --seeds/--jobs/--threads/--width >= 1, every γ in [0, 1]")
    root = mnist_root_arg(args.mnist_root)
    clf, clf_dir = bench_digit_classifier(root)
    from gankit.data import load_mnist, to_float

    real = diversity(clf, to_float(load_mnist(root, "test")[0][:N_SAMPLES]))
    jobs = [(g, s, args.steps, args.width, str(root), str(clf_dir), args.threads) for g in args.gammas for s in range(args.seeds)]
    t0 = time.perf_counter()
    runs = run_jobs(run_one, jobs, args.jobs)
    wall = time.perf_counter() - t0
    cols = ["gamma", "seed", "m_global_first10", "m_global_last10", "m_global_falls", "k_last", "feature_distance",
            "class_entropy", "seconds"]
    rows = [{k: r[k] for k in cols} for r in runs]
    rows.append({"gamma": "real MNIST test", "feature_distance": real["feature_distance"],
                 "class_entropy": real["class_entropy"]})
    png = RESULTS / "began_gamma.png"
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(runs, png)
    md = (f"BEGAN (began preset: batch 16, h = 64, lr 1e-4; n = {args.width} filters) on full MNIST, {args.steps} steps; diversity of "
          f"{N_SAMPLES} samples in digit-classifier feature space (classifier accuracy "
          f"{clf.meta.get('test_accuracy', float('nan')):.4f}); wall {wall / 60:.1f} min, {args.jobs} job(s) x "
          f"{args.threads} thread(s). Curves: {png.name}.\n\n"
          + md_table(rows, cols))
    print(md)
    write_results("began_gamma", {"env": environment(), "steps": args.steps, "width": args.width, "wall_s": round(wall, 1), "real": real,
                                  "runs": runs}, md)


if __name__ == "__main__":
    main()
