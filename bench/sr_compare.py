"""x4 super-resolution, the perception-distortion point of Ledig et al. 2017: SRResNet (pixel MSE) has
the higher PSNR and SSIM, SRGAN (initialised from it, content + adversarial loss) the lower FID and
KID. Scored on held-out whole photos: facades val (100) and horse2zebra test (120 horses and 140
zebras, photos the models never trained on), plus a strip of centre crops (rows: LR input enlarged
by nearest neighbour, bicubic, SRResNet, the same-budget control, SRGAN, HR).

    python bench/sr_compare.py                                 # facades photos, the CPU budget below
    python bench/sr_compare.py --plateau-chunks 1              # stop SRResNet at the first flat chunk
    python bench/sr_compare.py --max-sr-steps 20000 --gan-steps 4000
    python bench/sr_compare.py --table                         # score the finished runs again
    python bench/sr_compare.py --train-on photos               # train on facades + horse2zebra train photos

1. SRResNet trains with pixel MSE in chunks of --check-every steps, its val PSNR (the first --val-n
   facades val images, the recipe's own `val_psnr`) read after each chunk, until --plateau-chunks
   chunks in a row each gain less than --plateau-db (one chunk is not enough: val PSNR at a constant
   lr moves by a few hundredths of a dB from chunk to chunk, and a rise resumes after such a pause)
   or --max-sr-steps are done: trained to a plateau, not stopped early.
2. From that SRResNet, two runs of --gan-steps each with the srgan recipe and the same schedule
   (named after the SRResNet step they start from: control-from6000, srgan-from6000; another
   --adv-weight W trains its own srgan-advW-from6000):
   SRGAN (content + --adv-weight x non-saturating adversarial loss) and the control (adversarial
   weight 0: the same extra steps of pixel MSE, D trained but unused). SRGAN and the control have
   the same total budget, so a difference between them is the adversarial term's.
--train-on facades trains on the 400 facades train photos (the recipe's CPU preset); --train-on photos
on those plus the 2,401 horse2zebra train photos (written once as an image folder), so that the
horse2zebra test photos are of a kind the models saw, as SRGAN's ImageNet training covers its test sets.
Both check the plateau on facades val. Runs live in bench/results/sr_compare/runs/<train-on>/ and
resume where they stopped; a finished stage is skipped. Results: bench/results/sr_compare.{json,md}
(sr_compare_photos.* for --train-on photos) and its strip. FID on 100-260 images is biased upwards;
KID (unbiased, mean over subsets) is the number to compare rows with.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, environment, md_table, write_results  # noqa: E402
from paper_rows import train_row  # noqa: E402

PRESETS = Path(__file__).resolve().parents[1] / "src/gankit/configs/presets"
PHOTOS = RESULTS / "sr_compare" / "photos"  # --train-on photos: train/ (facades + horse2zebra), val/ (facades)
# held-out photo sets: name -> the (data config, split) parts it joins
SETS = {"facades-val": [({"name": "facades", "direction": "AtoB"}, "val")],
        "horse2zebra-test": [({"name": "horse2zebra", "direction": "AtoB"}, "test"),
                             ({"name": "horse2zebra", "direction": "BtoA"}, "test")]}
MODELS = ("srresnet", "control", "srgan")


def runs(args) -> Path:
    return RESULTS / "sr_compare" / "runs" / args.train_on


def photo_folders() -> None:
    """The mixed training photos as an image folder (PNG, written once): facades train photos and
    horse2zebra's trainA and trainB; facades val photos as the plateau check's folder."""
    from PIL import Image

    from gankit.config import Config, recipe_defaults
    from gankit.data import build_dataset
    from gankit.data.io import save_pil

    parts = {"train": [("facades", "AtoB"), ("horse2zebra", "AtoB"), ("horse2zebra", "BtoA")],
             "val": [("facades", "AtoB")]}
    for split, sources in parts.items():
        done = PHOTOS / f"{split}.done"
        if done.is_file():
            continue
        for name, direction in sources:
            cfg = {**recipe_defaults("srresnet")["data"], "name": name, "direction": direction, "split": split,
                   "limit": None, "load_size": None}
            for i, img in enumerate(build_dataset(Config.wrap(cfg), 0).x):
                save_pil(Image.fromarray(img.permute(1, 2, 0).numpy()), PHOTOS / split / f"{name}-{direction}-{i:05d}.png")
        done.write_text("")


def data_args(args) -> tuple[str, str | None, list[str]]:
    """(data name, data root, overrides) of the training set."""
    if args.train_on == "facades":
        return "facades", None, []
    photo_folders()
    return "image-folder", str(PHOTOS / "train"), [f"data.eval_root={PHOTOS / 'val'}"]


def common_overrides(args) -> list[str]:
    return [*data_args(args)[2], f"data.crop_size={args.crop}", f"model.ngf={args.ngf}", f"model.n_blocks={args.blocks}",
            f"train.batch_size={args.batch}", "data.eval_split=val", f"eval.n={args.val_n}", *args.extra]


def last_eval(run_dir: Path) -> float:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r["eval/val_psnr"] for r in rows if "eval/val_psnr" in r][-1]


def plateaued(curve: list[dict], args) -> bool:
    gains = [b["val_psnr"] - a["val_psnr"] for a, b in zip(curve, curve[1:])]
    return len(gains) >= args.plateau_chunks and all(g < args.plateau_db for g in gains[-args.plateau_chunks:])


def train_srresnet(args) -> None:
    """SRResNet in chunks until val PSNR plateaus; the curve is kept in the run's plateau.json (a
    stricter rule than a finished curve's continues it)."""
    run, path = runs(args) / "srresnet", runs(args) / "srresnet" / "plateau.json"
    data, root, _ = data_args(args)
    curve = json.loads(path.read_text())["curve"] if path.is_file() else []
    over = [*common_overrides(args), f"optim.G.lr={args.lr}", "eval.metric=recipe:val_psnr", "eval.best_mode=max",
            f"eval.every={args.check_every}"]
    while not plateaued(curve, args) and (not curve or curve[-1]["step"] < args.max_sr_steps):
        target = (curve[-1]["step"] if curve else 0) + args.check_every
        info = train_row("srresnet", None, data, over, args.seed, target, None, args.check_every, "cpu", run,
                         root, config_file=PRESETS / "srresnet-facades-cpu.yaml")
        curve.append({"step": target, "val_psnr": last_eval(run), "train_s": info["train_seconds"]})
        gain = curve[-1]["val_psnr"] - curve[-2]["val_psnr"] if len(curve) > 1 else float("inf")
        print(f"srresnet step {target}: val PSNR {curve[-1]['val_psnr']:.3f} dB (gain {gain:+.3f})", flush=True)
        path.write_text(json.dumps({"curve": curve, "stopped_by": "plateau" if plateaued(curve, args) else "max steps",
                                    "rule": {"plateau_db": args.plateau_db, "chunks": args.plateau_chunks}}, indent=1))


DEFAULT_ADV_WEIGHT = 1e-3


def stage_dir(runs_dir: Path, name: str, adv_weight: float = DEFAULT_ADV_WEIGHT) -> Path:
    """A GAN stage's run, named after the SRResNet step it starts from and, for SRGAN at another
    than the default weight, after its adversarial weight (so each weight gets its own run)."""
    if name == "srresnet":
        return runs_dir / name
    curve = json.loads((runs_dir / "srresnet" / "plateau.json").read_text())["curve"]
    weight = f"-adv{adv_weight:g}" if name == "srgan" and adv_weight != DEFAULT_ADV_WEIGHT else ""
    return runs_dir / f"{name}{weight}-from{curve[-1]['step']}"


def train_gan_stage(args, name: str, adv_weight: float) -> None:
    data, root, _ = data_args(args)
    over = [*common_overrides(args), f"model.init_from={runs(args) / 'srresnet' / 'generator'}", f"model.ndf={args.ndf}",
            f"loss.adv_weight={adv_weight}", f"optim.decay_start={args.gan_steps // 2}"]
    train_row("srgan", None, data, over, args.seed, args.gan_steps, None, args.chunk, "cpu",
              stage_dir(runs(args), name, args.adv_weight),
              root, config_file=PRESETS / "srgan-facades-cpu.yaml")


def stages_on_disk(runs_dir: Path, adv_weight: float) -> tuple[dict, list[dict]]:
    """Steps and training seconds of each finished stage (from its run's state files), and SRResNet's
    val PSNR curve."""
    stages, curve = {}, []
    plateau = runs_dir / "srresnet" / "plateau.json"
    if plateau.is_file():
        state = json.loads(plateau.read_text())
        curve = state["curve"]
        stages["srresnet"] = {"steps": curve[-1]["step"], "train_s": curve[-1]["train_s"],
                              "stopped_by": state.get("stopped_by")}
    for name in ("control", "srgan") if curve else ():
        state_file = stage_dir(runs_dir, name, adv_weight) / "bench_state.json"
        if state_file.is_file():
            s = json.loads(state_file.read_text())
            stages[name] = {"steps": s["step"], "train_s": round(s["seconds"], 1)}
    return stages, curve


def held_out_set(gen, parts: list, limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    from gankit.translate import held_out

    parts = [held_out(gen, cfg, split, limit)[:2] for cfg, split in parts]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


@torch.no_grad()
def score(args) -> None:
    from gankit.api import load_generator
    from gankit.data import save_grid, to_float
    from gankit.data.sr import bicubic_up
    from gankit.metrics import InceptionFeatures, fid_from_features, kid, paired_metrics
    from gankit.metrics.reference import cached_features
    from gankit.translate import outputs_of

    stages, curve = stages_on_disk(runs(args), args.adv_weight)
    dirs = {n: stage_dir(runs(args), n, args.adv_weight) for n in MODELS}
    gens = {n: load_generator(d / "generator") for n, d in dirs.items() if (d / "generator").is_dir()}
    stem = "sr_compare" if args.train_on == "facades" else f"sr_compare_{args.train_on}"
    net = InceptionFeatures()
    rows, strip = [], None
    for set_name, spec in SETS.items():
        lr_u8, hr_u8 = held_out_set(gens["srresnet"], spec, args.limit)
        lr, hr = to_float(lr_u8), to_float(hr_u8)
        outs = {"bicubic": bicubic_up(lr, 4), **{n: outputs_of(G, lr_u8, batch_size=8) for n, G in gens.items()}}
        real = cached_features({"sr_set": set_name, "sr_hr": list(hr.shape), "extractor": net.sha256, "n": len(hr)},
                               lambda: net(hr).numpy())
        for name, out in outs.items():
            f = net(out).numpy()
            k = kid(real, f, subsets=100, subset_size=min(100, len(hr)))
            row = {"set": set_name, "n": len(hr), "model": name, **stages.get(name, {}), **paired_metrics(out, hr),
                   "fid": fid_from_features(real, f), "kid_x1000": 1000 * k["kid"], "kid_std_x1000": 1000 * k["kid_std"]}
            rows.append(row)
            print(json.dumps(row), flush=True)
        if strip is None:  # the strip shows the first set
            c, h = hr.shape[-1] // 2, args.strip_crop // 2
            crop = lambda x: x[:args.strip_n, :, c - h:c + h, c - h:c + h]  # noqa: E731
            strip = torch.cat([crop(F.interpolate(lr, scale_factor=4, mode="nearest")),
                               *(crop(o) for o in outs.values()), crop(hr)])
            strip_rows = ["LR (nearest)", *outs, "HR"]
    path = save_grid(strip, RESULTS / f"{stem}_strip.png", nrow=args.strip_n)
    checks = {}
    for set_name in SETS:
        by = {r["model"]: r for r in rows if r["set"] == set_name}
        if not {"srresnet", "control", "srgan"} <= set(by):
            continue
        for ref in ("srresnet", "control"):
            checks[f"{set_name}: {ref} PSNR > SRGAN PSNR"] = by[ref]["psnr"] > by["srgan"]["psnr"]
            checks[f"{set_name}: {ref} SSIM > SRGAN SSIM"] = by[ref]["ssim"] > by["srgan"]["ssim"]
            checks[f"{set_name}: SRGAN FID < {ref} FID"] = by["srgan"]["fid"] < by[ref]["fid"]
            checks[f"{set_name}: SRGAN KID < {ref} KID"] = by["srgan"]["kid_x1000"] < by[ref]["kid_x1000"]
        checks[f"{set_name}: SRResNet PSNR > bicubic PSNR"] = by["srresnet"]["psnr"] > by["bicubic"]["psnr"]
    md = [f"# x4 super-resolution: SRResNet vs SRGAN on held-out photos (trained on {args.train_on})", "",
          md_table(rows, ["set", "n", "model", "steps", "train_s", "psnr", "ssim", "l1", "fid", "kid_x1000",
                          "kid_std_x1000"]), "",
          "SRResNet val PSNR per chunk (first %d facades val images): " % args.val_n
          + ", ".join(f"{c['step']}: {c['val_psnr']:.2f}" for c in curve), "",
          "PSNR/SSIM: RGB, [0, 1] range, whole 256 px images. FID, KID: Inception features of the outputs vs the HR "
          f"photos of the same set. Strip ({path.name}, facades val): rows {', '.join(strip_rows)}; centre "
          f"{args.strip_crop} px crops.", ""]
    md += [f"- {k}: {'yes' if v else 'no'}" for k, v in checks.items()]
    write_results(stem, {"env": environment(), "args": vars(args), "rows": rows, "checks": checks,
                                 "srresnet_curve": curve}, "\n".join(md) + "\n")
    print("\n".join(md))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train-on", choices=("facades", "photos"), default="facades",
                    help="facades train photos, or those plus horse2zebra's train photos")
    ap.add_argument("--max-sr-steps", type=int, default=8000, help="SRResNet's steps at most")
    ap.add_argument("--check-every", type=int, default=1000, help="SRResNet steps between val PSNR checks")
    ap.add_argument("--plateau-db", type=float, default=0.05, help="a chunk gaining less val PSNR counts towards the plateau")
    ap.add_argument("--plateau-chunks", type=int, default=2, help="that many such chunks in a row end SRResNet")
    ap.add_argument("--val-n", type=int, default=25, help="facades val images of the plateau check")
    ap.add_argument("--gan-steps", type=int, default=2000, help="steps of SRGAN and of the control, each")
    ap.add_argument("--chunk", type=int, default=500, help="steps between the GAN stages' checkpoints")
    ap.add_argument("--crop", type=int, default=64, help="HR training crop (LR = crop / 4)")
    ap.add_argument("--ngf", type=int, default=32)
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--ndf", type=int, default=32)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3, help="SRResNet's Adam lr (the GAN stages keep srgan's 1e-4)")
    ap.add_argument("--adv-weight", type=float, default=DEFAULT_ADV_WEIGHT,
                    help="SRGAN's adversarial weight (the paper's 1e-3); another weight trains its own SRGAN run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=10_000, help="held-out images per split at most (all: 100 + 260)")
    ap.add_argument("--strip-n", type=int, default=6)
    ap.add_argument("--strip-crop", type=int, default=96)
    ap.add_argument("--set", dest="extra", action="append", default=[], help="extra config override (every run)")
    ap.add_argument("--table", action="store_true", help="only score the saved runs")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if not args.table:
        train_srresnet(args)
        train_gan_stage(args, "control", 0.0)
        train_gan_stage(args, "srgan", args.adv_weight)
    score(args)


if __name__ == "__main__":
    main()
