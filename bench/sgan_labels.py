"""How much do unlabelled images help? MNIST test accuracy of the SGAN discriminator (the `sgan` recipe,
trained through gankit.fit) against the same network trained supervised-only on the same labelled
subset (same seed, same architecture including its noise layers, same optimizer, batch and steps).

The SGAN number is D's accuracy on the 10,000-image test split at the last step (no selection on the
test split); the best evaluated step is reported beside it.

    python bench/sgan_labels.py [--labels 100 1000] [--seeds 0 1 2] [--steps N] [--threads 1] [--tag T]
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
from common import environment, md_table, write_results  # noqa: E402

import gankit  # noqa: E402
from gankit.config import load_config  # noqa: E402
from gankit.data import Loader, default_data_root, load_mnist, to_float  # noqa: E402
from gankit.losses import sgan_supervised  # noqa: E402
from gankit.nets.sgan import NoisyMLPClassifier  # noqa: E402
from gankit.recipes.sgan import choose_labelled  # noqa: E402
from gankit.nets.averaging import ema_model  # noqa: E402
from gankit.train.engine import build_optimizer  # noqa: E402


def sgan_run(root: Path, per_class: int, seed: int, steps: int, eval_every: int, out: Path) -> dict:
    t = time.perf_counter()
    run = gankit.fit("sgan", data="mnist", data_root=str(root), steps=steps, seed=seed, labels_per_class=per_class,
                     out=out, device="cpu", overrides=[f"eval.every={eval_every}", "train.report=false",
                                                       "train.progress=false"])
    accs = [(r["step"], r["eval/test_acc"]) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
            if "eval/test_acc" in r]
    return {"acc": accs[-1][1], "best_acc": max(a for _, a in accs), "curve": accs, "seconds": time.perf_counter() - t}


def supervised_run(root: Path, per_class: int, seed: int, steps: int) -> dict:
    """The sgan config's D, optimizer, batch size and weight average (train.d_ema), trained on the
    labelled subset alone; the average is what is tested, as for the SGAN."""
    cfg = load_config("sgan", seed=seed)
    m, o, b = cfg.model, cfg.optim.D, cfg.train.batch_size
    t = time.perf_counter()
    torch.manual_seed(seed)
    x, y = load_mnist(root, "train")
    idx = choose_labelled(y, per_class, seed)
    xl, yl = to_float(x[idx]), y[idx]
    D = NoisyMLPClassifier(tuple(xl.shape[1:]), m.d_widths, 10, m.d_input_noise, m.d_hidden_noise, m.d_weight_norm)
    D.init_from_data(xl)  # as the recipe does, from the labelled images only
    opt = build_optimizer(D.parameters(), o)
    avg = ema_model(D, cfg.train.d_ema) if cfg.train.d_ema else None
    loader = Loader(len(idx) * -(-b // len(idx)), b, seed + 7177)  # the recipe's labelled-batch order
    for _ in range(steps):
        i = loader.next_indices() % len(idx)
        loss = sgan_supervised(D(xl[i]), yl[i])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if avg is not None:
            avg.update_parameters(D)
    D = (avg.module if avg is not None else D).eval()
    xt, yt = load_mnist(root, "test")
    with torch.no_grad():
        pred = torch.cat([D(to_float(xt[i:i + 2000])).argmax(1) for i in range(0, len(xt), 2000)])
    return {"acc": float((pred == yt).float().mean()), "seconds": time.perf_counter() - t}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", type=int, nargs="+", default=[100, 1000], help="total labels (10 classes)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=load_config("sgan").train.steps,
                    help="iterations of both trainings (batch 100; default: the recipe's)")
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: PyTorch's)")
    ap.add_argument("--mnist-root", type=Path, default=None)
    ap.add_argument("--tag", default="", help="results go to bench/results/sgan_labels-TAG.json|md (runs split across machines)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    root = args.mnist_root or (default_data_root() or Path("missing")) / "mnist"
    if not (root / "train-images-idx3-ubyte.gz").is_file():
        raise SystemExit(f"MNIST IDX files not found in {root}; pass --mnist-root or set GANKIT_DATA")
    if any(n % 10 for n in args.labels):
        raise SystemExit("--labels must be multiples of 10 (class-balanced over the 10 digits)")

    rows, runs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.labels:
            sg, su = [], []
            for seed in args.seeds:
                s = sgan_run(root, n // 10, seed, args.steps, args.eval_every, Path(tmp) / f"sgan-{n}-{seed}")
                b = supervised_run(root, n // 10, seed, args.steps)
                runs.append({"labels": n, "seed": seed, "sgan": s, "supervised": b})
                sg.append(s["acc"])
                su.append(b["acc"])
                print(f"labels {n} seed {seed}: sgan {s['acc']:.4f} (best {s['best_acc']:.4f}, {s['seconds']:.0f} s), "
                      f"supervised-only {b['acc']:.4f}", flush=True)
            rows.append({"labels": n, "seeds": len(args.seeds), "steps": args.steps,
                         "SGAN acc (mean)": statistics.mean(sg), "SGAN min": min(sg), "SGAN max": max(sg),
                         "supervised acc (mean)": statistics.mean(su), "supervised min": min(su), "supervised max": max(su),
                         "gain (points)": 100 * (statistics.mean(sg) - statistics.mean(su))})
    cols = list(rows[0])
    md = ("SGAN discriminator vs the same network trained supervised-only, MNIST test split (10,000 images), "
          f"last-step accuracy; {environment()['date']}, {torch.get_num_threads()} threads.\n\n" + md_table(rows, cols))
    write_results("sgan_labels" + (f"-{args.tag}" if args.tag else ""), {"environment": environment(), "args": {k: str(v) for k, v in vars(args).items()},
                                  "rows": rows, "runs": runs}, md)
    print(md)


if __name__ == "__main__":
    main()
