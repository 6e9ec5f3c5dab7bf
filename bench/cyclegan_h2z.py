"""CycleGAN on horse2zebra for a CPU budget: does translating the test horses bring them closer to the
test zebras (FID) than leaving them as they are?

Trains the `cyclegan-horse2zebra-cpu.yaml` preset (6 residual blocks, ngf 16, ndf 32, batch 1; images
loaded at 1.117 x `--size` px and cropped to `--size`; the lr decays linearly to 0 over the second
half of `--steps`), then scores, on all test images at the generator's size (as `gankit eval` reads them):
- FID and KID of G(testA) against testB, and of the untranslated testA against testB at the same
  size (the bar: translation must bring the horses closer to the zebras), and the same for
  F(testB) against testA;
- a sample strip (`<results-dir>/strips/<key>.png`): rows testA, G(testA), testB, F(testB).

    python bench/cyclegan_h2z.py --steps 16000                  # ~95 min of one core (AVX512-BF16)
    python bench/cyclegan_h2z.py --size 64 --steps 200 --results-dir /tmp/h2z  # end-to-end check
    python bench/cyclegan_h2z.py --run runs/h2z                 # score a run trained elsewhere

The run resumes from its last checkpoint (every `--chunk` steps) and a scored run is cached in
`<results-dir>/rows/<key>.json`. Writes `<results-dir>/cyclegan_h2z.{json,md}`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import environment, kind_line, md_table, write_results  # noqa: E402
from paper_rows import results_dir, save_row, train_row, where  # noqa: E402

PRESET = Path(__file__).resolve().parents[1] / "src" / "gankit" / "configs" / "presets" / "cyclegan-horse2zebra-cpu.yaml"


def score(run: Path, root: Path, strip_path: Path, strip_n: int) -> dict:
    """FID/KID of each direction's translations and of the untranslated images against the other
    domain, every test image at the generator's size (read as `gankit eval` reads them)."""
    import gankit
    from gankit.data import save_grid, to_float
    from gankit.metrics import InceptionFeatures, fid_from_features, kid
    from gankit.translate import held_out, outputs_of

    G = gankit.load_generator(run / "generator").eval()
    horses, zebras, _, _ = held_out(G, {"name": "horse2zebra", "root": str(root)}, "test", 10_000)
    to_zebra, to_horse = outputs_of(G, horses, direction="AtoB"), outputs_of(G, zebras, direction="BtoA")
    h, z = to_float(horses), to_float(zebras)
    net = InceptionFeatures()
    feats = {name: net(x).numpy() for name, x in (("h", h), ("z", z), ("G(h)", to_zebra), ("F(z)", to_horse))}
    out = {"n_testA": len(h), "n_testB": len(z), "size": h.shape[-1]}
    for name, (real, fake) in {"G(testA) vs testB": ("z", "G(h)"), "testA vs testB (untranslated)": ("z", "h"),
                               "F(testB) vs testA": ("h", "F(z)"), "testB vs testA (untranslated)": ("h", "z")}.items():
        fr, ff = feats[real], feats[fake]
        k = kid(fr, ff, subsets=100, subset_size=min(100, len(fr), len(ff)))
        out[name] = {"fid": fid_from_features(fr, ff), "kid_x1000": 1000 * k["kid"], "kid_std_x1000": 1000 * k["kid_std"]}
        print(f"{name}: FID {out[name]['fid']:.1f}, KID x1000 {out[name]['kid_x1000']:.1f}", flush=True)
    strip_path.parent.mkdir(parents=True, exist_ok=True)
    k = slice(0, strip_n)
    save_grid(torch.cat([h[k], to_zebra[k].clamp(-1, 1), z[k], to_horse[k].clamp(-1, 1)]), strip_path, nrow=strip_n)
    return out


def bad_input(message: str) -> None:
    print(f"cyclegan_h2z: {message}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128, help="crop size in px (images loaded at 1.117x)")
    ap.add_argument("--steps", type=int, default=16000, help="iterations (batch 1)")
    ap.add_argument("--budget", type=float, default=None, help="seconds of training (checked every --chunk steps)")
    ap.add_argument("--chunk", type=int, default=1000, help="steps between checkpoints and budget checks")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--set", dest="extra", action="append", default=[], help="extra config override, KEY=VALUE")
    ap.add_argument("--run", type=Path, default=None, help="score this finished run instead of training one")
    ap.add_argument("--strip-n", type=int, default=6)
    ap.add_argument("--results-dir", type=Path, default=None, help="default bench/results/cyclegan_h2z")
    ap.add_argument("--data-root", type=Path, default=None, help="the horse2zebra folder (default $GANKIT_DATA/horse2zebra)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from gankit.data import default_data_root

    root = args.data_root or (default_data_root() or Path("../shared/data")) / "horse2zebra"
    if not (root / "testA").is_dir():
        bad_input(f"horse2zebra not found at {root}: pass --data-root or set GANKIT_DATA")
    if args.run is not None and not (args.run / "generator").is_dir():
        bad_input(f"--run {args.run}: not a finished gankit run (no generator/ in it); train one first")
    out_dir = results_dir(args.results_dir, "cyclegan_h2z")
    extra = "".join("_" + s.replace("=", "-").replace("/", "-") for s in args.extra)
    key = f"s{args.size}_n{args.steps}_seed{args.seed}{extra}" if args.run is None else f"run-{args.run.name}"
    spec = {"key": key, "size": args.size, "steps": args.steps, "seed": args.seed, "sets": args.extra,
            "rows_dir": str(out_dir / "rows"), "runs_dir": str(out_dir / "runs")}
    (out_dir / "rows").mkdir(parents=True, exist_ok=True)
    row_path = out_dir / "rows" / f"{key}.json"
    if row_path.is_file():
        row = json.loads(row_path.read_text())
        print(f"{key}: done before, skipped ({row_path})")
    else:
        if args.run is None:
            run = out_dir / "runs" / key
            over = [*args.extra, f"data.load_size={round(args.size * 143 / 128)}", f"data.crop_size={args.size}",
                    f"optim.decay_start={args.steps // 2}"]
            trained = train_row("cyclegan", None, "horse2zebra", over, args.seed, args.steps, args.budget, args.chunk,
                                args.device, run, str(root), config_file=PRESET)
        else:
            run = args.run
            logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if '"step"' in line]
            # the run's own clock: first to last logged row, one log interval short of the whole run
            trained = {"run": str(run), "steps": logged[-1]["step"],
                       "train_seconds": round(logged[-1]["time"] - logged[0]["time"], 1)}
        strip = out_dir / "strips" / f"{key}.png"
        row = save_row(spec, {**trained, **score(run, root, strip, args.strip_n), "strip": str(strip),
                              **where(args.device)})
    pairs = ["G(testA) vs testB", "testA vs testB (untranslated)", "F(testB) vs testA", "testB vs testA (untranslated)"]
    table = [{"images": p, "fid": row[p]["fid"], "kid_x1000": row[p]["kid_x1000"], "kid_std_x1000": row[p]["kid_std_x1000"]}
             for p in pairs]
    checks = {"G(testA) closer to testB than testA is (FID)": row[pairs[0]]["fid"] < row[pairs[1]]["fid"],
              "F(testB) closer to testA than testB is (FID)": row[pairs[2]]["fid"] < row[pairs[3]]["fid"]}
    md = (f"# CycleGAN on horse2zebra\n\n{kind_line('auto (the recipe default)')}; {row['size']} px, "
          f"{row.get('steps')} steps, seed {row['seed']}{''.join(' ' + s for s in row['sets'])}; "
          f"training {row.get('train_seconds', '?')} s. FID/KID: Inception features, all "
          f"{row['n_testA']} testA and {row['n_testB']} testB images at {row['size']} px. Strip: {row['strip']} "
          f"(rows testA, G(testA), testB, F(testB)).\n\n" + md_table(table, list(table[0])) + "\n\n"
          + "\n".join(f"- {k}: {'yes' if v else 'no'}" for k, v in checks.items()) + "\n")
    write_results("cyclegan_h2z", {"env": environment(), "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}, "row": row,
                                   "checks": checks}, md, folder=out_dir.parent if args.results_dir is None else out_dir)
    print(md)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
