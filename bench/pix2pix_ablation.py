"""pix2pix ablations on facades (labels -> photo, 128 px CPU preset): loss (L1 only, cGAN only,
L1 + cGAN) and generator (U-Net vs encoder-decoder), each seed scored on the val split (all 100
pairs) with L1, PSNR, SSIM (paired, against the true photos), FID and KID (Inception features of the
100 outputs vs the 100 val photos), plus a sample strip (rows: input, output, target) per run.

    python bench/pix2pix_ablation.py                                  # 4 variants x 2 seeds, 4,000 steps each
    python bench/pix2pix_ablation.py --jobs 2                         # two runs side by side, one thread each
    python bench/pix2pix_ablation.py --variants l1 l1+cgan --seeds 3  # a subset, more seeds
    python bench/pix2pix_ablation.py --table                          # rebuild the table from finished rows

The notes' claims, checked per seed: L1 + cGAN has a lower FID than L1 alone (the adversarial term
restores the texture L1's blur averages away), and the U-Net beats the encoder-decoder on both L1 and
FID (its skips carry the input's detail past the bottleneck). Rows are cached in
bench/results/pix2pix_ablation/rows/ and skipped when done; runs resume from their last checkpoint, and
a run asked for more --steps continues the longest shorter run of its variant and seed (constant lr).
FID on 100 images is biased upwards: compare rows only, and read KID (unbiased) beside it.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, environment, md_table, write_results  # noqa: E402
from paper_rows import run_rows, save_row, train_row, where  # noqa: E402

PRESET = Path(__file__).resolve().parents[1] / "src/gankit/configs/presets/pix2pix-facades-cpu.yaml"
VARIANTS = {
    "l1": ("U-Net, L1 only", ["loss.gan_weight=0"]),
    "cgan": ("U-Net, cGAN only", ["loss.l1_weight=0"]),
    "l1+cgan": ("U-Net, L1 + cGAN", []),
    "encdec": ("encoder-decoder, L1 + cGAN", ["model.g_arch=encdec"]),
}
OUT = RESULTS / "pix2pix_ablation"


def run_variant(spec: dict) -> dict:
    from gankit.api import load_generator
    from gankit.data import save_grid, to_float
    from gankit.metrics import InceptionFeatures, fid_from_features, kid, paired_metrics
    from gankit.metrics.reference import cached_features
    from gankit.translate import held_out, outputs_of

    torch.set_num_threads(spec["threads"])
    run_dir = OUT / "runs" / spec["key"]
    shorter = spec.get("extends")
    if shorter and not run_dir.exists():  # a copy resumes at its last step: the same run, continued
        shutil.copytree(shorter, run_dir)
        print(f"{spec['key']}: continues {Path(shorter).name}", flush=True)
    trained = train_row("pix2pix", None, "facades", spec["overrides"], spec["seed"], spec["steps"], None, spec["chunk"],
                        "cpu", run_dir, None, config_file=PRESET)
    G = load_generator(run_dir / "generator")
    torch.manual_seed(0)  # the test-time dropout noise
    inputs, targets, _, _ = held_out(G, {"name": "facades"}, "val", 100)
    outs, inputs, targets = outputs_of(G, inputs), to_float(inputs), to_float(targets)
    net = InceptionFeatures()
    real = cached_features({"data": "facades", "split": "val", "direction": "BtoA", "size": list(targets.shape[1:]),
                            "n": len(targets), "extractor": net.sha256}, lambda: net(targets).numpy())
    fake = net(outs).numpy()
    k = kid(real, fake, subsets=100, subset_size=len(targets))
    strip = save_grid(torch.cat([inputs[:8], outs[:8], targets[:8]]), OUT / f"{spec['key']}_strip.png", nrow=8)
    row = save_row(spec, {**trained, **paired_metrics(outs, targets), "fid": fid_from_features(real, fake),
                          "kid_x1000": 1000 * k["kid"], "kid_std_x1000": 1000 * k["kid_std"], "strip": strip.name,
                          **where("cpu")})
    print(json.dumps({k: v for k, v in row.items() if k != "overrides"}), flush=True)
    return row


def shorter_run(key: str, steps: int) -> str | None:
    """The longest run of the same variant, seed and settings with fewer steps, trained that far: the
    preset's lr is constant, so training it on is the same run as one started for more steps."""
    head, tail = key.split(f"-steps{steps}-", 1)
    same = re.compile(rf"{re.escape(head)}-steps(\d+)-{re.escape(tail)}")
    found = []
    for d in (OUT / "runs").iterdir() if (OUT / "runs").is_dir() else ():
        m, state = same.fullmatch(d.name), d / "bench_state.json"
        if m and int(m[1]) < steps and state.is_file() and json.loads(state.read_text())["step"] == int(m[1]):
            found.append((int(m[1]), d))
    return str(max(found)[1]) if found else None


def specs(args) -> list[dict]:
    out = []
    decays = any(o.startswith("optim.decay_start") for o in args.extra)
    for name in args.variants:
        label, overrides = VARIANTS[name]
        over = [f"model.ngf={args.ngf}", f"model.ndf={args.ngf}", *overrides, *args.extra]
        for seed in range(args.seeds):
            key = f"{name}-seed{seed}-steps{args.steps}-ngf{args.ngf}" + "".join("_" + s.replace("=", "-") for s in args.extra)
            out.append({"key": key, "variant": name, "label": label, "seed": seed, "steps": args.steps,
                        "chunk": args.chunk, "threads": args.threads, "overrides": over, "rows_dir": str(OUT / "rows"),
                        "extends": None if decays else shorter_run(key, args.steps)})
    return out


def table(rows: list[dict]) -> None:
    by = {}
    for r in rows:
        by.setdefault(r["variant"], {})[r["seed"]] = r
    checks = {}
    for seed in sorted({r["seed"] for r in rows}):
        get = lambda v: by.get(v, {}).get(seed)  # noqa: E731
        if get("l1") and get("l1+cgan"):
            checks[f"seed {seed}: L1 + cGAN has a lower FID than L1 alone"] = get("l1+cgan")["fid"] < get("l1")["fid"]
        if get("encdec") and get("l1+cgan"):
            checks[f"seed {seed}: U-Net beats encoder-decoder on L1 and FID"] = (
                get("l1+cgan")["l1"] < get("encdec")["l1"] and get("l1+cgan")["fid"] < get("encdec")["fid"])
    cols = ["l1", "psnr", "ssim", "fid", "kid_x1000"]
    means = [{"variant": VARIANTS[v][0], "seeds": len(s),
              **{c: (f"{statistics.fmean(x[c] for x in s.values()):.4g}"
                     + (f" ± {statistics.stdev(x[c] for x in s.values()):.2g}" if len(s) > 1 else "")) for c in cols},
              "train_s": round(statistics.fmean(x["train_seconds"] for x in s.values()))} for v, s in by.items()]
    md = ["# pix2pix ablation, facades labels -> photo, 128 px, val split (100 images)", "",
          md_table(means, ["variant", "seeds", *cols, "train_s"]), "", "Per run:", "",
          md_table(rows, ["label", "seed", "steps", "train_seconds", *cols, "strip"]), "",
          "Strips: rows are the first 8 val inputs, outputs and targets.", ""]
    md += [f"- {k}: {'yes' if v else 'no'}" for k, v in checks.items()]
    write_results("pix2pix_ablation", {"env": environment(), "rows": rows, "checks": checks}, "\n".join(md) + "\n")
    print("\n".join(md))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4000, help="iterations per run (400 pairs, batch 4: 100 per epoch)")
    ap.add_argument("--chunk", type=int, default=500, help="steps between checkpoints")
    ap.add_argument("--ngf", type=int, default=32, help="G and D width (the CPU preset's 32)")
    ap.add_argument("--jobs", type=int, default=1, help="runs side by side, one process and one thread each")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per run")
    ap.add_argument("--set", dest="extra", action="append", default=[], help="extra config override (every run)")
    ap.add_argument("--table", action="store_true", help="only rebuild the table from the asked rows that are done")
    args = ap.parse_args()
    asked = specs(args)
    if args.table:  # the asked rows that are done (rows of other --steps or --set stay out of the table)
        done = [OUT / "rows" / f"{s['key']}.json" for s in asked]
        rows = [json.loads(p.read_text()) for p in done if p.is_file()]
    else:
        rows = run_rows(run_variant, asked, OUT / "rows", args.jobs)
    table(rows)


if __name__ == "__main__":
    main()
