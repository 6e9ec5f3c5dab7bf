"""Every loss family on the PacGAN 2-D mixtures (Lin et al. 2018): toy2d-ring (8 modes, std 0.01)
and toy2d-grid (25 modes, std 0.05), with the PacGAN-protocol MLP (G 4x400 ReLU+BN, D 3x200,
z 2-D, batch 100). Each loss runs with its paper's preset (`gankit.fit(loss=NAME)`) for a fixed
number of steps, the learning rate decayed linearly to 0 over the second half, and several seeds.

Scoring follows PacGAN: 2,500 samples; a sample is high quality within 3 std of its nearest mode; a
mode is covered by >= 1 high-quality sample; reverse KL of the mode histogram against uniform. The
generator scored is the checkpoint that the periodic `toy2d-modes` evaluation ranked best (as in
tests/test_learning.py); the last checkpoint's numbers are reported beside it.

    python bench/losses_toy2d.py                                   # 6 losses x 2 datasets x 3 seeds, 3,000 steps
    python bench/losses_toy2d.py --seeds 2 --jobs 2                # two runs at a time
    python bench/losses_toy2d.py --losses bce hinge --datasets toy2d-ring --steps 1000
    python bench/losses_toy2d.py --steps 1000 --table                 # just rebuild the table from finished runs
    python bench/losses_toy2d.py --losses lsgan --datasets toy2d-grid --steps 40000 --seeds 1 \
        --set optim.G.lr=1e-4 --set optim.D.lr=1e-4 --set model.d_act=maxout   # PacGAN's rate and maxout D

Each run is saved as bench/results/losses_toy2d/<dataset>-<loss>-seed<S>-steps<N>[-<hash of --set>].json
and skipped when present, so an interrupted bench resumes and separate processes can share the work.

Wall time: on 2 cores shared with other training jobs (load average 8-14), a 1,000-step run took
~150 s (bce, lsgan, hinge) and ~800 s (wgan, wgan-gp: 5 critic steps per G step), two runs at a time.
The defaults (36 runs of 3,000 steps) are therefore hours on a busy machine and, by estimate, about an
hour on an idle one. Each run uses one thread: these nets are far too small to gain from more, and a
second thread on a shared 2-core machine slowed a step ~20x (25 ms/step at 1 thread vs 580 ms at 2).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, environment, md_table, run_jobs, write_results  # noqa: E402

from gankit.losses import LOSSES as FAMILIES  # noqa: E402

LOSSES = list(FAMILIES)  # every registered loss family
DATASETS = ["toy2d-ring", "toy2d-grid"]
PACGAN_MLP = ["model.z_dim=2", "model.g_widths=[400,400,400,400]", "model.g_act=relu", "model.g_first_norm=true",
              "model.d_widths=[200,200,200]"]
# PacGAN's best reported numbers (Lin et al. 2018, the best PacGAN rows)
PACGAN_BEST = {"toy2d-ring": {"modes": 7.9, "high_quality": 0.956}, "toy2d-grid": {"modes": 24.8, "high_quality": 0.936}}
N_SAMPLES = 2500
RUNS = RESULTS / "losses_toy2d"


def run_path(loss: str, dataset: str, steps: int, seed: int, sets: tuple[str, ...] = ()) -> Path:
    tag = "-" + hashlib.sha1("\n".join(sorted(sets)).encode()).hexdigest()[:8] if sets else ""
    return RUNS / f"{dataset}-{loss}-seed{seed}-steps{steps}{tag}.json"


def run_one(loss: str, dataset: str, steps: int, seed: int, sets: tuple[str, ...], threads: int) -> dict:
    """Train one run in a scratch directory and score its best and last generators."""
    import gankit
    from gankit.metrics.coverage import toy2d_coverage

    torch.set_num_threads(threads)
    over = PACGAN_MLP + [f"optim.decay_start={steps // 2}", "eval.metric=toy2d-modes", f"eval.every={max(1, steps // 12)}",
                         f"eval.n={N_SAMPLES}", "train.report=false", "train.progress=false", f"train.sample_every={steps}",
                         f"train.ckpt_every={steps}", f"train.log_every={max(1, steps // 30)}", *sets]
    with tempfile.TemporaryDirectory(prefix="gankit-toy2d-") as tmp:
        t0 = time.perf_counter()
        run = gankit.fit("gan", data=dataset, loss=loss, steps=steps, batch_size=100, seed=seed, out=Path(tmp) / "run",
                         overrides=over, device="cpu")
        seconds = time.perf_counter() - t0
        scores = {}
        for which in ("best", "last"):
            gen_dir = run / "generator" if which == "best" else gankit.export(run, Path(tmp) / "last", "last")[0]
            x = gankit.sample(gankit.load_generator(gen_dir), N_SAMPLES, seed=10_000 + seed)
            scores[which] = toy2d_coverage(x, dataset)
    print(f"{dataset} {loss:15s} seed {seed}: best {scores['best']['modes']}/{scores['best']['modes_total']} modes, "
          f"{scores['best']['high_quality']:.1%} HQ, KL {scores['best']['reverse_kl']:.3f}; "
          f"last {scores['last']['modes']} modes, {scores['last']['high_quality']:.1%} HQ ({seconds:.0f} s)", flush=True)
    out = {"loss": loss, "dataset": dataset, "seed": seed, "steps": steps, "set": list(sets), "seconds": round(seconds, 1),
           "threads": threads, **scores}
    RUNS.mkdir(parents=True, exist_ok=True)
    run_path(loss, dataset, steps, seed, sets).write_text(json.dumps(out, indent=2))
    return out


def _mean_std(values: list[float], fmt: str) -> str:
    m = statistics.fmean(values)
    return f"{m:{fmt}} ± {statistics.stdev(values):{fmt}}" if len(values) > 1 else f"{m:{fmt}}"


def summarise(runs: list[dict], which: str) -> list[dict]:
    """One row per (dataset, loss): mean ± std over its seeds (reverse KL capped at 99 when nothing was high quality)."""
    rows = []
    for dataset in DATASETS:
        for loss in LOSSES:
            group = [r for r in runs if r["loss"] == loss and r["dataset"] == dataset]
            if not group:
                continue
            rs = [r[which] for r in group]
            rows.append({"dataset": dataset, "loss": loss, "seeds": len(rs),
                         "modes": _mean_std([r["modes"] for r in rs], ".2f") + f" / {rs[0]['modes_total']}",
                         "high-quality %": _mean_std([100 * r["high_quality"] for r in rs], ".1f"),
                         **({"reverse KL": _mean_std([min(r["reverse_kl"], 99.0) for r in rs], ".3f")} if which == "best" else {}),
                         "run s": round(statistics.fmean(r["seconds"] for r in group))})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000, help="generator steps per run")
    ap.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per (loss, dataset)")
    ap.add_argument("--losses", nargs="+", default=LOSSES, choices=LOSSES)
    ap.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    ap.add_argument("--jobs", type=int, default=1, help="runs at a time, one process each")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per run")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override for every run (repeatable), e.g. optim.G.lr=1e-4 or model.d_act=maxout")
    ap.add_argument("--table", action="store_true", help="only build the table from the runs already saved")
    args = ap.parse_args()
    if args.steps < 2 or args.seeds < 1 or args.jobs < 1 or args.threads < 1:
        sys.exit("--steps must be >= 2 and --seeds, --jobs, --threads >= 1")
    sets = tuple(args.set)
    wanted = [(loss, ds, args.steps, seed, sets) for ds in args.datasets for loss in args.losses for seed in range(args.seeds)]
    todo = [(*w, args.threads) for w in wanted if not args.table and not run_path(*w).is_file()]
    t0 = time.perf_counter()
    run_jobs(run_one, todo, args.jobs)
    wall = time.perf_counter() - t0
    runs = [json.loads(run_path(*w).read_text()) for w in wanted if run_path(*w).is_file()]
    if not runs:
        sys.exit(f"no finished runs in {RUNS} for these arguments")
    cols = ["dataset", "loss", "seeds", "modes", "high-quality %", "reverse KL", "run s"]
    best, last = summarise(runs, "best"), summarise(runs, "last")
    md = (f"PacGAN-protocol MLP, batch 100, {args.steps} steps (lr decayed to 0 over the second half), each loss's "
          f"preset; {N_SAMPLES} samples; mean ± std over each row's seeds; run s = wall seconds of one run's "
          "training (threads and runs at a time in the JSON).\n\nBest checkpoint by the periodic toy2d-modes evaluation:\n\n"
          + md_table(best, cols) + "\nLast checkpoint:\n\n" + md_table(last, cols[:5])
          + (f"\nOverrides for every run: `{' '.join(sets)}`.\n" if sets else "")
          + "\nPacGAN's best reported: ring 7.9/8 at 95.6% high quality, grid 24.8/25 at 93.6%.\n")
    print(md)
    write_results("losses_toy2d", {"env": environment(), "steps": args.steps, "seeds": args.seeds, "jobs": args.jobs,
                                   "threads": args.threads, "set": list(sets), "wall_s": round(wall, 1), "pacgan_best": PACGAN_BEST,
                                   "runs": runs, "best": best, "last": last}, md)


if __name__ == "__main__":
    main()
