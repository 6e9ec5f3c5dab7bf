"""The CycleGAN paper's ablation (Zhu et al. 2017, Table 4), on facades used as unpaired data: which
terms of the objective make labels <-> photos work?

Data: `--data facades-unpaired`: domain A = the photos of a seeded half of the 400 train pairs,
domain B = the label maps of the other half, so no photo's own label map is ever seen. The 100 val
pairs, held back, score the result as the paper scores labels <-> photos:
- photo -> labels, G(photo): per-pixel accuracy, per-class accuracy and class IoU after snapping each
  output pixel to the nearest of the 12 facade label colours (`gankit.metrics.labels`);
- labels -> photo, F(labels): L1, PSNR and SSIM against the true photo;
- collapse: the outputs' mean pairwise pixel distance over the val inputs, as a ratio to the true
  targets' (1 = as varied as the target domain; near 0 = one output for every input).

Rows: adversarial only (λ = 0), cycle only (no adversarial term), the full objective without and with
the identity term, and pix2pix trained on the (paired) train split in each direction, the paired
upper bound. Beside them, a chance row: each val input given the true target of another val input.
Networks: the CPU preset's (CycleGAN: 6 residual blocks, ngf 16, ndf 32, batch 1; pix2pix: U-Net,
ngf = ndf = 32, batch 4), at `--size` px crops of 1.117 x `--size` px images; the learning rate
decays linearly to 0 over the second half of `--steps`.

    python bench/cyclegan_ablation.py --size 64 --steps 8000 --jobs 2      # rows side by side, one thread each
    python bench/cyclegan_ablation.py --size 128 --steps 40000 --rows full full+idt
    python bench/cyclegan_ablation.py --size 32 --steps 20 --results-dir /tmp/cga   # end-to-end check
    python bench/cyclegan_ablation.py --size 128 --steps 8000 --rows adv full+idt --rescore   # new scores, old runs

Rows are cached in `<results-dir>/rows/<key>.json` and skipped when done; runs resume from their
last checkpoint (every `--chunk` steps). Writes `<results-dir>/cyclegan_ablation.{json,md}` and a
sample strip per row (`strips/<key>.png`: val photos, G(photo), true labels, F(labels), true photos).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import environment, kind_line, md_table, write_results  # noqa: E402
from paper_rows import mean_std, results_dir, run_rows, save_row, train_row, where  # noqa: E402

CYCLE_NETS = ["model.ngf=16", "model.ndf=32", "model.n_blocks=6", "train.batch_size=1"]
PIX2PIX_NETS = ["model.ngf=32", "model.ndf=32", "train.batch_size=4"]
# key: (label, recipe, overrides)
ROWS = {
    "adv": ("adversarial only", "cyclegan", [*CYCLE_NETS, "loss.cycle_weight=0"]),
    "cycle": ("cycle only", "cyclegan", [*CYCLE_NETS, "loss.gan_weight=0", "loss.identity_weight=0"]),
    "full": ("adversarial + cycle", "cyclegan", [*CYCLE_NETS, "loss.identity_weight=0"]),
    "full+idt": ("adversarial + cycle + identity", "cyclegan", CYCLE_NETS),
    "pix2pix": ("pix2pix, paired (upper bound)", "pix2pix", PIX2PIX_NETS),
}


def val_pairs(root: Path, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(photos, label maps) of the 100 val pairs at ``size`` px, uint8."""
    from gankit.data.translation import load_paired

    return load_paired(root, "val", "AtoB", size)


def spread_ratio(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    from gankit.metrics import mean_pairwise_distance

    return mean_pairwise_distance(outputs.flatten(1)) / mean_pairwise_distance(targets.flatten(1))


def scores(to_labels: torch.Tensor, to_photos: torch.Tensor, photos: torch.Tensor, labels: torch.Tensor) -> dict:
    """The row's numbers from its val outputs (float, [-1, 1]) and the true pairs (uint8)."""
    from gankit.data import to_float
    from gankit.metrics import paired_metrics
    from gankit.metrics.labels import label_palette, label_scores

    lab = label_scores(to_labels, labels, label_palette(labels))
    pm = paired_metrics(to_photos, to_float(photos))
    return {"pixel_acc": lab["pixel_accuracy"], "class_acc": lab["class_accuracy"], "class_iou": lab["class_iou"],
            "matched_acc": lab["matched_pixel_accuracy"],
            "photo_l1": pm["l1"], "photo_psnr": pm["psnr"], "photo_ssim": pm["ssim"],
            "labels_spread": spread_ratio(to_labels, to_float(labels)),
            "photos_spread": spread_ratio(to_photos, to_float(photos))}


def translate_val(spec: dict, photos: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(G(photo), F(labels)) of the val pairs by the row's trained generator(s)."""
    import gankit
    from gankit.translate import outputs_of

    runs = Path(spec["runs_dir"]) / spec["key"]
    if spec["recipe"] == "cyclegan":
        G = gankit.load_generator(runs / "generator", spec["device"]).eval()
        return outputs_of(G, photos, direction="AtoB"), outputs_of(G, labels, direction="BtoA")
    outs = []
    for direction, inputs in (("AtoB", photos), ("BtoA", labels)):
        torch.manual_seed(0)  # pix2pix's test-time dropout
        outs.append(outputs_of(gankit.load_generator(runs / direction / "generator", spec["device"]).eval(), inputs))
    return outs[0], outs[1]


def run_row(spec: dict) -> dict:
    """Train one row (both directions for pix2pix), translate the val pairs, score; saves the row."""
    from gankit.data import save_grid, to_float

    torch.set_num_threads(spec["threads"])
    runs = Path(spec["runs_dir"]) / spec["key"]
    size, common = spec["size"], [f"data.load_size={round(spec['size'] * 143 / 128)}", f"data.crop_size={spec['size']}",
                                  f"optim.decay_start={spec['steps'] // 2}"]
    photos, labels = val_pairs(Path(spec["data_root"]), size)
    if spec["recipe"] == "cyclegan":
        trained = train_row("cyclegan", None, "facades-unpaired", [*spec["overrides"], *common], spec["seed"],
                            spec["steps"], spec["budget"], spec["chunk"], spec["device"], runs, spec["data_root"])
    else:  # pix2pix: one run per direction, each on the paired train split
        trained = {"train_seconds": 0.0}
        for direction in ("AtoB", "BtoA"):
            t = train_row("pix2pix", None, "facades", [*spec["overrides"], *common, f"data.direction={direction}"],
                          spec["seed"], spec["steps"], spec["budget"], spec["chunk"], spec["device"],
                          runs / direction, spec["data_root"])
            trained = {**t, "train_seconds": trained["train_seconds"] + t["train_seconds"]}
    to_labels, to_photos = translate_val(spec, photos, labels)
    strip = Path(spec["rows_dir"]).parent / "strips" / f"{spec['key']}.png"
    strip.parent.mkdir(parents=True, exist_ok=True)
    pick = slice(0, 8)
    save_grid(torch.cat([to_float(photos[pick]), to_labels[pick].clamp(-1, 1), to_float(labels[pick]),
                         to_photos[pick].clamp(-1, 1), to_float(photos[pick])]), strip, nrow=8)
    row = save_row(spec, {**trained, **scores(to_labels, to_photos, photos, labels), "strip": str(strip),
                          **where(spec["device"])})
    print(f"{spec['label']} seed {spec['seed']}: pixel acc {row['pixel_acc']:.3f}, photo L1 {row['photo_l1']:.3f}, "
          f"spread labels {row['labels_spread']:.2f} / photos {row['photos_spread']:.2f} "
          f"({trained['train_seconds']:.0f} s training)", flush=True)
    return row


def rescore(spec: dict) -> None:
    """Score a finished row again from its saved generator(s), when the scores have changed since."""
    path = Path(spec["rows_dir"]) / f"{spec['key']}.json"
    if not path.is_file():
        return
    photos, labels = val_pairs(Path(spec["data_root"]), spec["size"])
    row = json.loads(path.read_text())
    row.update(scores(*translate_val(spec, photos, labels), photos, labels))
    path.write_text(json.dumps(row, indent=1))
    print(f"{spec['key']}: rescored", flush=True)


def chance_row(root: Path, size: int) -> dict:
    """Each val input answered with the true target of another val input (a fixed derangement)."""
    from gankit.data import to_float

    photos, labels = val_pairs(root, size)
    other = torch.roll(torch.arange(len(photos)), 1)
    return {"label": "chance: another input's true target", **scores(to_float(labels[other]), to_float(photos[other]),
                                                                      photos, labels)}


def markdown(rows: list[dict], chance: dict, args) -> str:
    cols = ["pixel_acc", "class_acc", "class_iou", "matched_acc", "photo_l1", "photo_psnr", "photo_ssim", "labels_spread", "photos_spread"]
    summary = []
    for key, (label, _, _) in ROWS.items():
        mine = [r for r in rows if r["row"] == key]
        if mine:
            summary.append({"row": label, **{c: mean_std([r[c] for r in mine if c in r]) for c in cols},
                            "seeds": len(mine),
                            "steps": "/".join(str(r["steps"]) for r in mine),
                            "train s": "/".join(f"{r['train_seconds']:.0f}" for r in mine)})
    summary.append({"row": chance["label"], **{c: f"{chance[c]:.4g}" for c in cols}})
    return (f"# CycleGAN ablation on unpaired facades\n\n{kind_line('auto (the recipe default)')}; {args.size} px, "
            f"device {args.device}{''.join(' ' + o for o in args.extra)}. Photo -> labels: pixel / class accuracy, class IoU (12 label colours), pixel accuracy after the best "
            f"one-to-one renaming of the predicted colours (matched); labels -> "
            f"photo: L1, PSNR, SSIM; spread: outputs' mean pairwise distance / the true targets' (100 val pairs).\n\n"
            + md_table(summary, list(summary[0])))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--size", type=int, default=64, help="crop size in px (images loaded at 1.117x)")
    ap.add_argument("--steps", type=int, default=8000, help="iterations per run")
    ap.add_argument("--budget", type=float, default=None, help="seconds of training per run (checked every --chunk steps)")
    ap.add_argument("--chunk", type=int, default=1000, help="steps between checkpoints and budget checks")
    ap.add_argument("--jobs", type=int, default=1, help="rows side by side, one process and one thread each")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per row")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rescore", action="store_true", help="score finished rows again from their saved generators")
    ap.add_argument("--set", dest="extra", action="append", default=[],
                    help="extra config override of every row, also in its key (e.g. model.d_layers=2)")
    ap.add_argument("--results-dir", type=Path, default=None, help="default bench/results/cyclegan_ablation")
    ap.add_argument("--data-root", type=Path, default=None, help="the facades folder (default $GANKIT_DATA/facades)")
    args = ap.parse_args()
    from gankit.data import default_data_root

    root = args.data_root or (default_data_root() or Path("missing")) / "facades"
    if not (root / "val").is_dir():
        raise SystemExit(f"facades not found in {root}; pass --data-root or set GANKIT_DATA")
    if args.size % 4 or args.size < 32 or args.steps < 2 or args.seeds < 1:
        ap.error("--size must be a multiple of 4 and >= 32, --steps >= 2, --seeds >= 1")
    folder = results_dir(args.results_dir, "cyclegan_ablation")
    tag = f"px{args.size}-steps{args.steps}-budget{args.budget or 'none'}-{args.device.replace(':', '')}"
    tag += "".join("_" + o.replace("=", "-") for o in args.extra)
    specs = [{"key": f"{key}-seed{s}-{tag}", "row": key, "label": ROWS[key][0], "recipe": ROWS[key][1],
              "overrides": [*ROWS[key][2], *args.extra], "seed": s, "size": args.size, "steps": args.steps, "budget": args.budget,
              "chunk": args.chunk, "threads": args.threads, "device": args.device, "data_root": str(root),
              "rows_dir": str(folder / "rows"), "runs_dir": str(folder / "runs")}
             for key in args.rows for s in range(args.seeds)]
    t0 = time.perf_counter()
    if args.rescore:
        for spec in specs:
            rescore(spec)
    rows = run_rows(run_row, specs, folder / "rows", args.jobs)
    chance = chance_row(root, args.size)
    md = markdown(rows, chance, args)
    print(md)
    write_results("cyclegan_ablation", {"rows": rows, "chance": chance, "size": args.size,
                                        "wall_seconds_this_call": round(time.perf_counter() - t0, 1),
                                        "environment": environment()}, md, folder)


if __name__ == "__main__":
    main()
