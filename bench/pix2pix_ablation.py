"""pix2pix ablations on facades (labels -> photo, 128 px CPU preset): loss (L1 only, cGAN only,
L1 + cGAN) and generator (U-Net vs encoder-decoder), each scored on the val split with L1, PSNR,
SSIM (paired, against the true photos) and FID (Inception features of the 100 outputs vs the 100 val
photos), plus a sample strip (rows: input, output, target) per variant.

    python bench/pix2pix_ablation.py --steps 300                    # all four variants, in turn
    python bench/pix2pix_ablation.py --steps 300 --only l1 cgan     # a subset (e.g. one per process)
    python bench/pix2pix_ablation.py --table                        # just rebuild the table

Each variant writes bench/results/pix2pix_ablation/<name>.json; the table (pix2pix_ablation.json/.md)
is built from all variants present. FID on 100 images is biased upwards; compare variants only.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, environment, md_table, write_results  # noqa: E402

PRESET = Path(__file__).resolve().parents[1] / "src/gankit/configs/presets/pix2pix-facades-cpu.yaml"
VARIANTS = {
    "l1": ("U-Net, L1 only", ["loss.gan_weight=0"]),
    "cgan": ("U-Net, cGAN only", ["loss.l1_weight=0"]),
    "l1+cgan": ("U-Net, L1 + cGAN", []),
    "encdec": ("encoder-decoder, L1 + cGAN", ["model.g_arch=encdec"]),
}
OUT = RESULTS / "pix2pix_ablation"


def run_variant(name: str, steps: int, ngf: int, extra: list[str]) -> dict:
    from gankit.api import fit, load_generator
    from gankit.data import save_grid
    from gankit.metrics import InceptionFeatures, fid_from_features, paired_metrics
    from gankit.metrics.reference import cached_features
    from gankit.data import to_float
    from gankit.translate import held_out, outputs_of

    label, overrides = VARIANTS[name]
    run_dir = Path("/tmp/gankit-bench/pix2pix_ablation") / name
    if run_dir.exists():
        import shutil
        shutil.rmtree(run_dir)
    over = [f"train.steps={steps}", f"model.ngf={ngf}", f"model.ndf={ngf}", "train.progress=false",
            "train.report=false", f"train.sample_every={steps}", f"train.ckpt_every={steps}"] + overrides + extra
    t0 = time.perf_counter()
    fit("pix2pix", out=run_dir, config_file=PRESET, overrides=over)
    train_s = time.perf_counter() - t0
    G = load_generator(run_dir / "generator")
    torch.manual_seed(0)  # the test-time dropout noise
    inputs, targets, _, _ = held_out(G, {"name": "facades"}, "val", 100)
    outs, inputs, targets = outputs_of(G, inputs), to_float(inputs), to_float(targets)
    row = {"variant": name, "label": label, "steps": steps, "train_s": round(train_s, 1), **paired_metrics(outs, targets)}
    net = InceptionFeatures()
    real = cached_features({"data": "facades", "split": "val", "direction": "BtoA", "size": list(targets.shape[1:]),
                            "n": len(targets), "extractor": net.sha256}, lambda: net(targets).numpy())
    row["fid"] = fid_from_features(real, net(outs).numpy())
    OUT.mkdir(parents=True, exist_ok=True)
    strip = torch.cat([inputs[:8], outs[:8], targets[:8]])
    row["strip"] = str(save_grid(strip, OUT / f"{name}_strip.png", nrow=8))
    row["overrides"] = over
    (OUT / f"{name}.json").write_text(json.dumps(row, indent=2))
    print(json.dumps({k: v for k, v in row.items() if k != "overrides"}))
    return row


def table() -> None:
    rows = [json.loads((OUT / f"{n}.json").read_text()) for n in VARIANTS if (OUT / f"{n}.json").is_file()]
    if not rows:
        print("no variant results yet")
        return
    by = {r["variant"]: r for r in rows}
    checks = {}
    if "l1" in by and "l1+cgan" in by:
        checks["L1+cGAN has lower FID than L1 alone"] = by["l1+cgan"]["fid"] < by["l1"]["fid"]
    if "encdec" in by and "l1+cgan" in by:
        checks["U-Net beats encoder-decoder on L1 or FID"] = (by["l1+cgan"]["l1"] < by["encdec"]["l1"]
                                                             or by["l1+cgan"]["fid"] < by["encdec"]["fid"])
    md = ["# pix2pix ablation, facades labels -> photo, 128 px, val split (100 images)", "",
          md_table(rows, ["label", "steps", "train_s", "l1", "psnr", "ssim", "fid", "strip"]), "",
          "Strips: rows are the first 8 val inputs, outputs and targets.", ""]
    md += [f"- {k}: {'yes' if v else 'no'}" for k, v in checks.items()]
    write_results("pix2pix_ablation", {"env": environment(), "rows": rows, "checks": checks}, "\n".join(md) + "\n")
    print("\n".join(md))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--ngf", type=int, default=32, help="G and D width (the CPU preset's 32)")
    ap.add_argument("--only", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    ap.add_argument("--set", dest="extra", action="append", default=[], help="extra config override")
    ap.add_argument("--table", action="store_true", help="only rebuild the table from saved variants")
    args = ap.parse_args()
    if not args.table:
        for name in args.only:
            run_variant(name, args.steps, args.ngf, args.extra)
    table()


if __name__ == "__main__":
    main()
