"""Speed of gankit's Inception feature extraction and FID, against the bare TorchScript and the machine's ceiling.

In each of ``--rounds`` rounds, back to back (the shared machine's speed moves from minute to minute):
images/s through ``InceptionFeatures`` (quantise, TF1-compatible resize of 28 px grey digits to 299,
scale, gankit's fast network), images/s of the bare reference TorchScript forward on the same batch
already preprocessed, and the FLOP ceiling: a 3x3 convolution of Inception's 35 x 35 blocks (192 -> 192
channels, channels_last, the batch size) and a 2048^2 matmul, both float32. gankit's share of the conv
ceiling is the median of the rounds' shares, its FLOPs per image counted by torch.utils.flop_counter.
Then a 10k-vs-10k FID: extraction of 2 x 10,000 images extrapolated from the median rate (``--full``
extracts them), the two feature covariances and the Fréchet distance timed on 10k x 2048 features,
beside torchmetrics' FID formula (general eigenvalues of S1 S2) on the same statistics.

    python bench/metrics_speed.py [--batch 32] [--rounds 3] [--threads N] [--fid-n 10000] [--full]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import environment, kind_line, machine_kind, matmul_ceiling, md_table, write_results  # noqa: E402

from gankit.metrics import InceptionFeatures, feature_stats, frechet_distance  # noqa: E402

PRECISION = "fp32"  # bf16 features differ by ~2% (mean relative), beyond the FID tolerance: docs/evaluation.md


def rate(fn, x: torch.Tensor, calls: int) -> float:
    """Images/s of fn(x) over `calls` calls."""
    t = time.perf_counter()
    for _ in range(calls):
        fn(x)
    return calls * len(x) / (time.perf_counter() - t)


@torch.no_grad()
def conv_ceiling(batch: int, repeats: int = 3) -> float:
    """GFLOP/s of a 3x3, 192 -> 192 channel convolution on 35 x 35 maps (Inception's A blocks), channels_last."""
    x = torch.randn(batch, 192, 35, 35).contiguous(memory_format=torch.channels_last)
    w = torch.randn(192, 192, 3, 3).contiguous(memory_format=torch.channels_last)
    F.conv2d(x, w, padding=1)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        F.conv2d(x, w, padding=1)
        best = min(best, time.perf_counter() - t)
    return 2 * batch * 192 * 192 * 9 * 35 * 35 / best / 1e9


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--fid-n", type=int, default=10000)
    p.add_argument("--full", action="store_true", help="extract all 2 x fid-n images instead of extrapolating")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(kind_line(PRECISION), flush=True)
    inc = InceptionFeatures(batch_size=args.batch)
    imgs = torch.rand(args.batch, 1, 28, 28) * 2 - 1
    pre = inc.preprocess(imgs).contiguous()
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        inc.net(pre[:1])
    flops = fc.get_total_flops()
    reference = torch.no_grad()(inc.reference)
    inc(imgs), reference(pre)  # warm-up: oneDNN picks and caches its kernels on the first call
    rounds = []
    for r in range(args.rounds):
        g, b = rate(inc, imgs, 1), rate(reference, pre, 1)
        conv, mm = conv_ceiling(args.batch), matmul_ceiling(repeats=3)
        rounds.append({"gankit": g, "torchscript": b, "conv": conv, "matmul": mm,
                       "pct_conv": 100 * g * flops / 1e9 / conv, "pct_matmul": 100 * g * flops / 1e9 / mm})
        print(f"round {r}: gankit {g:.2f} img/s, TorchScript {b:.2f} img/s ({g / b:.2f}x), conv {conv:.0f} / matmul "
              f"{mm:.0f} GFLOP/s, gankit at {rounds[-1]['pct_conv']:.0f}% of the conv", flush=True)
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    speedup = statistics.median(r["gankit"] / r["torchscript"] for r in rounds)

    n = args.fid_n
    feats = inc(imgs).numpy()
    if args.full:
        t = time.perf_counter()
        a = inc(torch.rand(n, 1, 28, 28) * 2 - 1).numpy()
        b = inc(torch.rand(n, 1, 28, 28) * 2 - 1).numpy()
        extract_s = time.perf_counter() - t
    else:
        extract_s = 2 * n / med["gankit"]
        g = np.random.default_rng(0)
        a = feats[g.integers(len(feats), size=n)] + 0.01 * g.standard_normal((n, feats.shape[1]))
        b = feats[g.integers(len(feats), size=n)] + 0.01 * g.standard_normal((n, feats.shape[1]))
    t = time.perf_counter()
    (mu1, s1), (mu2, s2) = feature_stats(a), feature_stats(b)
    stats_s = time.perf_counter() - t
    t = time.perf_counter()
    fid = frechet_distance(mu1, s1, mu2, s2)
    frechet_s = time.perf_counter() - t
    from torchmetrics.image.fid import _compute_fid

    t = time.perf_counter()
    fid_tm = float(_compute_fid(*(torch.from_numpy(v) for v in (mu1, s1, mu2, s2))))
    frechet_tm_s = time.perf_counter() - t

    gflops = med["gankit"] * flops / 1e9
    rows = [
        {"what": "gankit InceptionFeatures (28 px grey -> 299 RGB, fast network)", "value": med["gankit"], "unit": "img/s"},
        {"what": "bare TorchScript forward (preprocessed 299 px)", "value": med["torchscript"], "unit": "img/s"},
        {"what": "gankit / TorchScript (median of the rounds' ratios)", "value": speedup, "unit": "x"},
        {"what": f"gankit achieved (flop_counter: {flops / 1e9:.2f} GFLOP per image)", "value": gflops, "unit": "GFLOP/s"},
        {"what": "conv ceiling: 3x3 conv 192->192 on 35x35, channels_last", "value": med["conv"], "unit": "GFLOP/s"},
        {"what": "matmul ceiling: 2048^2", "value": med["matmul"], "unit": "GFLOP/s"},
        {"what": "gankit share of the conv ceiling (median of rounds)", "value": med["pct_conv"], "unit": "%"},
        {"what": "gankit share of the matmul ceiling (median of rounds)", "value": med["pct_matmul"], "unit": "%"},
        {"what": f"FID {n} vs {n}: extraction ({'measured' if args.full else 'extrapolated'})", "value": extract_s, "unit": "s"},
        {"what": f"FID {n} vs {n}: two covariances of {n} x 2048", "value": stats_s, "unit": "s"},
        {"what": "Frechet distance (Cholesky / eigh + eigvalsh)", "value": frechet_s, "unit": "s"},
        {"what": "torchmetrics' Frechet formula (eigvals of S1 S2), same statistics", "value": frechet_tm_s, "unit": "s"},
        {"what": f"FID {n} vs {n} total", "value": extract_s + stats_s + frechet_s, "unit": "s"},
    ]
    data = {"env": environment(), "machine_kind": machine_kind()["kind"], "precision": PRECISION,
            "batch": args.batch, "rounds": rounds, "fid_n": n, "full": args.full, "inception": inc.settings(),
            "flops_per_image": flops, "gankit_images_per_s": med["gankit"], "torchscript_images_per_s": med["torchscript"],
            "speedup_vs_torchscript": speedup, "gankit_gflops": gflops, "conv_ceiling_gflops": med["conv"],
            "matmul_ceiling_gflops": med["matmul"], "pct_of_conv_ceiling": med["pct_conv"],
            "pct_of_matmul_ceiling": med["pct_matmul"], "fid_extraction_s": extract_s, "fid_stats_s": stats_s,
            "fid_frechet_s": frechet_s, "torchmetrics_frechet_s": frechet_tm_s,
            "frechet_rel_diff_vs_torchmetrics": abs(fid - fid_tm) / abs(fid_tm),
            "fid_total_s": extract_s + stats_s + frechet_s}
    md = kind_line(PRECISION) + f", batch {args.batch}, {args.rounds} rounds\n\n" + md_table(rows, ["what", "value", "unit"])
    print(md)
    write_results("metrics_speed", data, md)


if __name__ == "__main__":
    main()
