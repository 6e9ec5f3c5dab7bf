"""x4 super-resolution: bicubic vs SRResNet vs SRGAN (Ledig et al. 2017) on held-out whole images,
scored with PSNR and SSIM (against the HR images) and FID (Inception features of the 4x outputs vs the
HR images), plus a strip of centre crops (rows: LR input enlarged by nearest neighbour, bicubic,
SRResNet, SRGAN, HR).

    python bench/sr_compare.py                                   # facades photos, CPU-sized budget
    python bench/sr_compare.py --sr-steps 2000 --gan-steps 1000  # longer
    python bench/sr_compare.py --only srgan-adv0                 # add the no-adversarial control run
    python bench/sr_compare.py --table                           # re-score the saved runs only

SRResNet trains with pixel MSE from scratch; SRGAN starts from that SRResNet and trains --gan-steps more
with content + --adv-weight x adversarial loss; `--only srgan-adv0` adds the control, the same SRGAN steps
with the adversarial weight 0 (it tells what the extra steps alone do). Results: bench/results/sr_compare.{json,md} and
sr_compare_strip.png. FID on ~100 images is biased upwards; compare rows only.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, environment, md_table, write_results  # noqa: E402

PRESETS = Path(__file__).resolve().parents[1] / "src/gankit/configs/presets"
RUNS = Path("/tmp/gankit-bench/sr_compare")
SPLITS = {"facades": "val", "horse2zebra": "test", "mnist": "test"}
MODELS = ("srresnet", "srgan", "srgan-adv0")


def train(args) -> dict:
    from gankit.api import fit

    common = [f"data.name={args.data}", f"data.crop_size={args.crop}", f"model.ngf={args.ngf}",
              f"model.n_blocks={args.blocks}", f"train.batch_size={args.batch}", "train.progress=false",
              "train.report=false", f"data.eval_split={args.split}", *args.extra]
    if args.data_root:
        common.append(f"data.root={args.data_root}")
    times = {}
    for name, recipe, steps, over in (
            ("srresnet", "srresnet", args.sr_steps, [f"optim.G.lr={args.lr}"]),
            ("srgan", "srgan", args.gan_steps, [f"model.init_from={RUNS / 'srresnet'}", f"model.ndf={args.ndf}",
                                                f"loss.adv_weight={args.adv_weight}",
                                                f"optim.decay_start={args.gan_steps // 2}"]),
            ("srgan-adv0", "srgan", args.gan_steps, [f"model.init_from={RUNS / 'srresnet'}", f"model.ndf={args.ndf}",
                                                     "loss.adv_weight=0", f"optim.decay_start={args.gan_steps // 2}"])):
        if name not in args.only:
            continue
        if (RUNS / name).exists():
            shutil.rmtree(RUNS / name)
        every = max(1, steps // 4)
        t0 = time.perf_counter()
        fit(recipe, out=RUNS / name, steps=steps, config_file=PRESETS / f"{recipe}-facades-cpu.yaml",
            overrides=common + over + [f"train.sample_every={every}", f"train.ckpt_every={steps}"])
        times[name] = {"steps": steps, "train_s": round(time.perf_counter() - t0, 1)}
    return times


@torch.no_grad()
def score(args, times: dict) -> None:
    from gankit.api import load_generator
    from gankit.data import save_grid, to_float
    from gankit.data.sr import bicubic_up
    from gankit.metrics import InceptionFeatures, fid_from_features, paired_metrics
    from gankit.metrics.reference import cached_features
    from gankit.translate import held_out, outputs_of

    gens = {n: load_generator(RUNS / n / "generator") for n in MODELS if (RUNS / n / "generator").is_dir()}
    lr_u8, hr_u8, _, _ = held_out(gens["srresnet"], {"name": args.data, "root": args.data_root}, args.split, args.n)
    lr, hr = to_float(lr_u8), to_float(hr_u8)
    outs = {"bicubic": bicubic_up(lr, 4)}
    outs.update({n: outputs_of(G, lr_u8, batch_size=8) for n, G in gens.items()})
    net = InceptionFeatures()
    real = cached_features({"data": args.data, "split": args.split, "sr_hr": list(hr.shape), "n": len(hr),
                            "extractor": net.sha256}, lambda: net(hr).numpy())
    old = json.loads((RESULTS / "sr_compare.json").read_text()) if (RESULTS / "sr_compare.json").is_file() else {}
    times = {**{r["model"]: {"steps": r.get("steps"), "train_s": r.get("train_s")} for r in old.get("rows", [])}, **times}
    rows = []
    for name, out in outs.items():
        row = {"model": name, **times.get(name, {}), **paired_metrics(out, hr), "fid": fid_from_features(real, net(out).numpy())}
        if name in gens:
            row["loss"] = gens[name].meta.get("loss")
        rows.append(row)
        print(json.dumps(row))
    by = {r["model"]: r for r in rows}
    checks = {"SRResNet PSNR > bicubic PSNR": by["srresnet"]["psnr"] > by["bicubic"]["psnr"],
              "SRGAN FID < SRResNet FID": by["srgan"]["fid"] < by["srresnet"]["fid"]}
    if "srgan-adv0" in by:
        checks["SRGAN FID < the same steps without the adversarial term"] = by["srgan"]["fid"] < by["srgan-adv0"]["fid"]
    c, k = hr.shape[-1] // 2, args.strip_crop // 2
    crop = lambda x: x[:args.strip_n, :, c - k:c + k, c - k:c + k]  # noqa: E731
    nearest = F.interpolate(lr, scale_factor=4, mode="nearest")
    strip = torch.cat([crop(nearest), *(crop(o) for o in outs.values()), crop(hr)])
    path = save_grid(strip, RESULTS / "sr_compare_strip.png", nrow=args.strip_n)
    md = [f"# x4 super-resolution on {args.data} ({args.split} split, {len(hr)} whole images, "
          f"{hr.shape[-1]}x{hr.shape[-2]} px HR)", "",
          md_table(rows, ["model", "steps", "train_s", "psnr", "ssim", "l1", "fid", "loss"]), "",
          f"PSNR/SSIM: RGB, [0, 1] range, whole images. FID: Inception features of the {len(hr)} outputs vs the "
          f"{len(hr)} HR images. Strip ({path.name}): rows LR (nearest), {', '.join(outs)}, HR; "
          f"centre {args.strip_crop} px crops.", ""]
    md += [f"- {k}: {'yes' if v else 'no'}" for k, v in checks.items()]
    write_results("sr_compare", {"env": environment(), "args": vars(args), "rows": rows, "checks": checks},
                  "\n".join(md) + "\n")
    print("\n".join(md))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="facades", help="facades (photos), horse2zebra (horses), mnist, ...")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--split", default=None, help="held-out split (default: val for facades, test otherwise)")
    ap.add_argument("--sr-steps", type=int, default=400)
    ap.add_argument("--gan-steps", type=int, default=200)
    ap.add_argument("--crop", type=int, default=64, help="HR training crop (LR = crop / 4)")
    ap.add_argument("--ngf", type=int, default=32)
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--ndf", type=int, default=32)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3, help="SRResNet's Adam lr (SRGAN keeps its 1e-4)")
    ap.add_argument("--adv-weight", type=float, default=1e-3)
    ap.add_argument("-n", type=int, default=100, help="held-out images scored")
    ap.add_argument("--strip-n", type=int, default=6)
    ap.add_argument("--strip-crop", type=int, default=96)
    ap.add_argument("--only", nargs="+", choices=MODELS, default=["srresnet", "srgan"],
                    help="runs to train; srgan-adv0 is the control: SRGAN's steps with loss.adv_weight=0")
    ap.add_argument("--set", dest="extra", action="append", default=[], help="extra config override (both runs)")
    ap.add_argument("--table", action="store_true", help="only score the saved runs")
    args = ap.parse_args()
    args.split = args.split or SPLITS.get(args.data, "test")
    times = {} if args.table else train(args)
    score(args, times)


if __name__ == "__main__":
    main()
