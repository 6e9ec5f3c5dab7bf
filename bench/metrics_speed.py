"""Speed of gankit's Inception feature extraction and FID.

Images/s through ``InceptionFeatures`` (quantise, grey->RGB, TF1-compatible resize to 299, scale, forward)
against the bare TorchScript forward on already-preprocessed 299 px input of the same batch size;
then the time of a 10k-vs-10k FID: extraction of 20,000 images is extrapolated from the measured rate
(run with --full to actually extract them), and the Fréchet distance on 10k x 2048 features is timed.

    python bench/metrics_speed.py [--batch 50] [--batches 3] [--fid-n 10000] [--full]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import environment, md_table, write_results  # noqa: E402

from gankit.metrics import InceptionFeatures, fid_from_features  # noqa: E402


def rate(fn, x: torch.Tensor, batches: int) -> float:
    """Images/s of fn over `batches` calls after one warm-up call."""
    fn(x)
    t = time.perf_counter()
    for _ in range(batches):
        fn(x)
    return batches * len(x) / (time.perf_counter() - t)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--batches", type=int, default=3)
    p.add_argument("--fid-n", type=int, default=10000)
    p.add_argument("--full", action="store_true", help="extract all 2 x fid-n images instead of extrapolating")
    args = p.parse_args()
    torch.manual_seed(0)
    inc = InceptionFeatures(batch_size=args.batch)
    imgs = torch.rand(args.batch, 1, 28, 28) * 2 - 1
    pre = inc.preprocess(imgs)
    gankit_rate = rate(inc, imgs, args.batches)
    bare_rate = rate(inc.forward_preprocessed, pre, args.batches)
    feats = inc(imgs).numpy()
    n = args.fid_n
    if args.full:
        t = time.perf_counter()
        a = inc(torch.rand(n, 1, 28, 28) * 2 - 1).numpy()
        b = inc(torch.rand(n, 1, 28, 28) * 2 - 1).numpy()
        extract_s = time.perf_counter() - t
    else:
        extract_s = 2 * n / gankit_rate
        a = feats[torch.randint(len(feats), (n,))] + torch.randn(n, feats.shape[1]).double().numpy() * 0.01
        b = feats[torch.randint(len(feats), (n,))] + torch.randn(n, feats.shape[1]).double().numpy() * 0.01
    t = time.perf_counter()
    fid_from_features(a, b)
    frechet_s = time.perf_counter() - t
    rows = [{"what": "gankit InceptionFeatures (28px grey -> 299 RGB) images/s", "value": gankit_rate},
            {"what": "bare TorchScript forward (preprocessed 299px) images/s", "value": bare_rate},
            {"what": f"FID {n} vs {n}: extraction ({'measured' if args.full else 'extrapolated'}) s", "value": extract_s},
            {"what": f"FID {n} vs {n}: Frechet distance on features s", "value": frechet_s}]
    data = {"env": environment(), "batch": args.batch, "batches": args.batches, "fid_n": n, "full": args.full,
            "inception": inc.settings(), "gankit_images_per_s": gankit_rate, "bare_images_per_s": bare_rate,
            "overhead_ratio": bare_rate / gankit_rate, "fid_extraction_s": extract_s, "fid_frechet_s": frechet_s,
            "fid_total_s": extract_s + frechet_s}
    md = md_table(rows, ["what", "value"]) + f"\nFID {n} vs {n} total: {extract_s + frechet_s:.1f} s\n"
    print(md)
    write_results("metrics_speed", data, md)


if __name__ == "__main__":
    main()
