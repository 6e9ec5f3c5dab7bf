"""BEGAN on MNIST with the diversity ratio γ = 0.3, 0.5, 0.7 (Berthelot et al. 2017, §3.2 / SPEC §8):
whether every γ covers the digits, whether diversity grows with γ, M_global's curve and the lr halvings.

Judged on 2,000 samples by a digit classifier (bench/common.py trains one once, >= 98% test
accuracy): classes covered by confident samples (confidence >= 0.9, a class counts at >= 1% of
them), within-class diversity of the confident samples against real test digits of the same class
(gankit.metrics.coverage.class_diversity: ~1 for real-like variety, ~0 for one image per class),
mean pairwise distance of the 128-d penultimate features, and the predicted-class entropy (nats, at
most ln 10 = 2.303). Real MNIST test digits give the reference. M_global "falls" when its mean over
the last 10% of the logged steps is below its mean over the first 10%.

    python bench/began_gamma.py                          # γ 0.3, 0.5, 0.7 at the began preset's 3,000 steps, seed 0
    python bench/began_gamma.py --steps 2000 --jobs 3    # the three runs side by side, one thread each
    python bench/began_gamma.py --seeds 2                # rows already measured are read back, not rerun

Each run's row is cached in bench/results/began_gamma/ (keyed by γ, seed, steps, width and extra
--set overrides), so an interrupted bench resumes where it stopped. Writes
bench/results/began_gamma.{json,md} and began_gamma.png (M_global, k_t and the lr factor).
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
ROWS = RESULTS / "began_gamma"


def judge(clf, x: torch.Tensor, real: tuple[torch.Tensor, torch.Tensor]) -> dict:
    """Coverage and diversity of images in [-1, 1] by the digit classifier."""
    from gankit.metrics.coverage import class_diversity, histogram_entropy, mean_pairwise_distance

    with torch.no_grad():
        feats = torch.cat([clf.features(x[i:i + 500]) for i in range(0, len(x), 500)])
        conf, labels = torch.cat([clf(x[i:i + 500]).softmax(1) for i in range(0, len(x), 500)]).max(1)
    sure = conf >= 0.9
    hist = torch.bincount(labels[sure], minlength=10)
    within = class_diversity(x[sure], labels[sure], *real) if sure.sum() > 1 else None
    return {"classes_covered": int((hist >= max(1, 0.01 * int(sure.sum()))).sum()), "confident": float(sure.float().mean()),
            "within_class_diversity": within, "feature_distance": mean_pairwise_distance(feats),
            "class_entropy": histogram_entropy(labels, 10), "class_histogram": hist.tolist()}


def row_path(gamma: float, seed: int, steps: int, width: int, sets: tuple[str, ...]) -> Path:
    extra = "".join("_" + s.replace("=", "-").replace("/", "-") for s in sets)
    return ROWS / f"g{gamma}_s{seed}_n{steps}_w{width}{extra}.json"


def run_one(gamma: float, seed: int, steps: int, width: int, sets: tuple[str, ...], mnist_root: str, clf_dir: str,
            threads: int) -> dict:
    path = row_path(gamma, seed, steps, width, sets)
    if path.is_file():
        return json.loads(path.read_text())
    import gankit
    from gankit.data import load_mnist, to_float
    from gankit.nets import load_pretrained

    torch.set_num_threads(threads)
    over = [f"model.gamma={gamma}", f"model.g_n={width}", f"model.d_n={width}", "train.report=false",
            "train.progress=false", f"train.log_every={max(1, steps // 100)}", f"train.sample_every={steps}",
            f"train.ckpt_every={steps}", *sets]
    with tempfile.TemporaryDirectory(prefix="gankit-began-") as tmp:
        t0 = time.perf_counter()
        run = gankit.fit("began", data="mnist", data_root=mnist_root, steps=steps, seed=seed, out=Path(tmp) / "run",
                         overrides=over)
        seconds = time.perf_counter() - t0
        logs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        curve = [(r["step"], r["began/M_global"], r["began/k"], r["lr/D"]) for r in logs if "began/M_global" in r]
        x = gankit.sample(gankit.load_generator(run / "generator"), N_SAMPLES, seed=10_000 + seed)
    tenth = max(1, len(curve) // 10)
    m_first = statistics.fmean(c[1] for c in curve[:tenth])
    m_last = statistics.fmean(c[1] for c in curve[-tenth:])
    x_real, y_real = load_mnist(mnist_root, "test")
    keep = torch.cat([torch.nonzero(y_real == c).flatten()[:100] for c in range(10)])
    res = judge(load_pretrained(clf_dir, "cpu").eval(), x, (to_float(x_real[keep]), y_real[keep]))
    halvings = [s for (s, *_, lr), (_, *_, lr_prev) in zip(curve[1:], curve) if lr < lr_prev]
    print(f"γ {gamma} seed {seed}: {res['classes_covered']}/10 classes, within-class diversity "
          f"{res['within_class_diversity']}, feature distance {res['feature_distance']:.3f}; M_global "
          f"{m_first:.4f} -> {m_last:.4f}; lr halved at {halvings} ({seconds:.0f} s)", flush=True)
    row = {"gamma": gamma, "seed": seed, "steps": steps, "width": width, "sets": list(sets), "seconds": round(seconds, 1),
           "m_global_first10": m_first, "m_global_last10": m_last, "m_global_falls": m_last < m_first,
           "k_last": curve[-1][2], "lr_halved_at": halvings, **res,
           "curve": [{"step": s, "M_global": m, "k": k, "lr": lr} for s, m, k, lr in curve]}
    ROWS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(row))
    return row


def plot(runs: list[dict], path: Path) -> None:
    fig, (a, b) = two_panels()
    for r in runs:
        steps = [c["step"] for c in r["curve"]]
        label = f"γ={r['gamma']} seed {r['seed']}"
        a.plot(steps, [c["M_global"] for c in r["curve"]], label=label)
        b.plot(steps, [c["k"] for c in r["curve"]], label=label)
        for s in r["lr_halved_at"]:
            a.axvline(s, color=a.lines[-1].get_color(), linestyle=":", linewidth=1)
    a.set(xlabel="step", ylabel="M_global", title="convergence measure (dotted: lr halved)")
    b.set(xlabel="step", ylabel="k_t", title="equilibrium control")
    a.legend(fontsize=8)
    save_figure(fig, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gammas", nargs="+", type=float, default=[0.3, 0.5, 0.7])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--width", type=int, default=32, help="filters n of G and D (the began preset: 32)")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="a further config override for every run (repeatable)")
    ap.add_argument("--jobs", type=int, default=1, help="runs at a time, one process each")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per run")
    ap.add_argument("--mnist-root", type=Path, default=None)
    args = ap.parse_args()
    if args.steps < 10 or args.seeds < 1 or args.jobs < 1 or args.threads < 1 or args.width < 1 or not all(0 <= g <= 1 for g in args.gammas):
        sys.exit("--steps must be >= 10, --seeds/--jobs/--threads/--width >= 1, every γ in [0, 1]")
    root = mnist_root_arg(args.mnist_root)
    clf, clf_dir = bench_digit_classifier(root)
    from gankit.data import load_mnist, to_float

    x_real, y_real = load_mnist(root, "test")
    keep = torch.cat([torch.nonzero(y_real == c).flatten()[:100] for c in range(10)])
    real = judge(clf, to_float(x_real[:N_SAMPLES]), (to_float(x_real[keep]), y_real[keep]))
    sets = tuple(args.sets)
    jobs = [(g, s, args.steps, args.width, sets, str(root), str(clf_dir), args.threads)
            for s in range(args.seeds) for g in args.gammas]
    t0 = time.perf_counter()
    runs = run_jobs(run_one, jobs, args.jobs)
    wall = time.perf_counter() - t0
    cols = ["gamma", "seed", "classes_covered", "confident", "within_class_diversity", "feature_distance",
            "class_entropy", "m_global_first10", "m_global_last10", "m_global_falls", "lr_halved_at", "k_last", "seconds"]
    rows = [{k: r[k] for k in cols} for r in runs]
    rows.append({"gamma": "real MNIST test", **{k: real[k] for k in cols if k in real}})
    png = RESULTS / "began_gamma.png"
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(runs, png)
    extra = f", {' '.join(sets)}" if sets else ""
    md = (f"BEGAN (began preset; n = {args.width} filters{extra}) on full MNIST, {args.steps} steps; {N_SAMPLES} samples "
          f"judged by a digit classifier (test accuracy {clf.meta.get('test_accuracy', float('nan')):.4f}); this "
          f"invocation's wall {wall / 60:.1f} min (rows read from the cache take none), {args.jobs} job(s) x "
          f"{args.threads} thread(s). Curves: {png.name}.\n\n" + md_table(rows, cols))
    print(md)
    write_results("began_gamma", {"env": environment(), "steps": args.steps, "width": args.width, "sets": list(sets),
                                  "wall_s": round(wall, 1), "real": real, "runs": runs}, md)


if __name__ == "__main__":
    main()
