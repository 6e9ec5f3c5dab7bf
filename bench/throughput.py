"""Training throughput of gankit's `gan` and `dcgan` against a plain reference loop on the same networks.

The reference is written the way most published GAN scripts are: torchvision MNIST through a
DataLoader with per-item PIL transforms, BCE on D's outputs, separate optimizer steps, G's loss
backpropagated through D's weights too. Both run the same G and D classes and the same batch size;
the figure is the ratio of training images per second. After a warm-up, both loops run in short
chunks, back to back, and the figure is the median of the chunk pairs' ratios: the machine's speed
moves by 20-30% from minute to minute here, and a pair sees the same speed on both sides.
Achieved GFLOP/s is counted with torch.utils.flop_counter and set against a 2048^2 float32 matmul
(and the bfloat16 one when gankit runs bf16: on an AVX2-only CPU bfloat16 is emulated and that
product alone takes a minute), measured right after each chunk pair: the share is the median of
the pairs' shares, so that it too compares numbers taken at the same machine speed. The machine
kind (ISA flags, native bf16) and the precision head the table and are in every row. gankit runs its default precision
(``train.precision=auto``: bf16 for images where the CPU multiplies bfloat16 natively); the
reference runs float32, as published scripts do. ``--set train.precision=fp32`` compares like with like.

    python bench/throughput.py [--pairs 9] [--mnist-root ../shared/data/mnist] [--set model.g_fc=0 ...]

``--set`` changes the networks (or anything else) of both contenders alike.
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
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import environment, kind_line, machine_kind, matmul_ceiling, md_table, torchvision_mnist_root, write_results  # noqa: E402

from gankit.config import load_config  # noqa: E402
from gankit.data import default_data_root  # noqa: E402
from gankit.api import trainer as build_trainer  # noqa: E402
from gankit.train import Trainer  # noqa: E402
from gankit.train.precision import resolve_precision  # noqa: E402

ITERS = {"gan": (60, 150), "dcgan": (10, 30)}  # (warm-up, per-chunk) iterations


SETS: list[str] = []  # --set overrides, applied to gankit's config and to the reference's networks


def gankit_config(recipe: str, batch: int, mnist_root: Path, steps: int, log_every: int):
    return load_config(recipe, overrides=[*SETS,
        "data.name=mnist", f"data.root={mnist_root}", f"train.batch_size={batch}", f"train.steps={steps}",
        f"train.log_every={log_every}", "train.sample_every=1000000", "train.ckpt_every=1000000",
        "train.report=false", "train.progress=false", "device=cpu"])


class GankitLoop:
    """A real gankit training run, continued chunk by chunk: each chunk is one ``fit`` to a later
    step, timed by the engine's own speed log (which leaves out the end-of-chunk checkpoint)."""

    def __init__(self, recipe: str, batch: int, mnist_root: Path, run_dir: Path):
        self.trainer = build_trainer(gankit_config(recipe, batch, mnist_root, 1, 1_000_000), run_dir)
        self.precision = self.trainer.cfg.train.precision

    def images_per_s(self, iters: int) -> float:
        tr = self.trainer
        tr.cfg.train.steps = tr.step + iters  # the one log line of the chunk comes at its last step
        _fit(tr)
        with open(tr.log_path) as f:
            return [json.loads(line) for line in f if "speed/img_per_s" in line][-1]["speed/img_per_s"]


def _fit(trainer: Trainer) -> None:
    """Run the engine's loop without its end-of-run outputs (export, report, printing)."""
    finish = trainer.finish
    trainer.finish = lambda: None
    try:
        trainer.fit()
    finally:
        trainer.finish = finish


def gankit_flops(recipe: str, batch: int, mnist_root: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        trainer = build_trainer(gankit_config(recipe, batch, mnist_root, 1, 1), Path(tmp) / "run")
        batch_data = next(trainer.batches)
        with FlopCounterMode(display=False) as fc:
            for phase in trainer.phases:
                trainer.run_phase(phase, None if phase.batch == "none" else batch_data, False)
        return fc.get_total_flops()


class ReferenceLoop:
    """A typical published training loop (G step first, then D), on gankit's networks."""

    def __init__(self, recipe: str, batch: int, tv_root: Path):
        import torchvision.transforms as T
        from torchvision.datasets import MNIST

        cfg = load_config(recipe, overrides=[*SETS, "data.name=mnist"])
        from gankit.data import ImageData
        from gankit.recipes import get_recipe_class

        fake_data = ImageData(x=torch.zeros(1, 1, 28, 28, dtype=torch.uint8), y=torch.zeros(1, dtype=torch.long),
                              class_names=[str(i) for i in range(10)])
        recipe_obj = get_recipe_class(recipe)(cfg, fake_data, "cpu")  # the same networks and init as gankit's
        self.G, self.D = recipe_obj.G, recipe_obj.D
        ds = MNIST(str(tv_root), train=True, download=True,
                   transform=T.Compose([T.ToTensor(), T.Normalize([0.5], [0.5])]))
        self.loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, drop_last=True)
        self.it = iter(self.loader)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.bce = nn.BCEWithLogitsLoss()
        self.z_dim = cfg.model.z_dim

    def next_images(self) -> torch.Tensor:
        try:
            return next(self.it)[0]
        except StopIteration:  # a new epoch, as a published script's outer loop starts one
            self.it = iter(self.loader)
            return next(self.it)[0]

    def step(self, imgs: torch.Tensor) -> None:
        G, D, bce = self.G, self.D, self.bce
        valid, fake = torch.ones(imgs.shape[0]), torch.zeros(imgs.shape[0])
        self.opt_g.zero_grad()
        gen = G(torch.randn(imgs.shape[0], self.z_dim))
        g_loss = bce(D(gen), valid)
        g_loss.backward()
        self.opt_g.step()
        self.opt_d.zero_grad()
        d_loss = (bce(D(imgs), valid) + bce(D(gen.detach()), fake)) / 2
        d_loss.backward()
        self.opt_d.step()

    def images_per_s(self, iters: int) -> float:
        t0 = time.perf_counter()
        for _ in range(iters):
            imgs = self.next_images()
            self.step(imgs)
        return iters * imgs.shape[0] / (time.perf_counter() - t0)

    def flops(self) -> float:
        imgs = self.next_images()
        with FlopCounterMode(display=False) as fc:
            self.step(imgs)
        return fc.get_total_flops()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=9, help="timed gankit/reference chunk pairs per row")
    ap.add_argument("--batches", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--recipes", nargs="+", default=["gan", "dcgan"])
    ap.add_argument("--mnist-root", type=Path, default=None)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override for both loops")
    args = ap.parse_args()
    SETS.extend(args.set)
    root = args.mnist_root or (default_data_root() or Path("missing")) / "mnist"
    if not (root / "train-images-idx3-ubyte.gz").is_file():
        sys.exit(f"MNIST IDX files not found in {root}; pass --mnist-root or set GANKIT_DATA")
    scratch = Path(tempfile.mkdtemp())
    tv_root = torchvision_mnist_root(root, scratch)
    precision = resolve_precision(load_config(args.recipes[0], overrides=SETS).train.precision, torch.device("cpu"), "images")
    bf16 = precision == "bf16"

    def ceilings_now(repeats: int) -> tuple[float, float | None]:
        return matmul_ceiling(repeats=repeats), matmul_ceiling(repeats=repeats, dtype=torch.bfloat16) if bf16 else None

    ceiling, ceiling_bf16 = ceilings_now(10)
    kind = machine_kind()["kind"]
    print(kind_line(precision))
    print(f"matmul ceiling at start: {ceiling:.1f} GFLOP/s float32" + (f", {ceiling_bf16:.1f} bfloat16" if bf16 else ""))
    rows = []
    for recipe in args.recipes:
        warm, chunk = ITERS[recipe]
        for batch in args.batches:
            with tempfile.TemporaryDirectory() as tmp:
                ours_loop, ref_loop = GankitLoop(recipe, batch, root, Path(tmp) / "run"), ReferenceLoop(recipe, batch, tv_root)
                ours_loop.images_per_s(warm)
                ref_loop.images_per_s(warm)
                ours, ref, ceilings = [], [], []
                for r in range(args.pairs):  # back to back, so that a change in machine speed hits both alike
                    ours.append(ours_loop.images_per_s(chunk))
                    ref.append(ref_loop.images_per_s(chunk))
                    ceilings.append(ceilings_now(5))
                    print(f"{recipe} b{batch} pair {r}: gankit {ours[-1]:.0f} img/s, reference {ref[-1]:.0f} img/s, "
                          f"ratio {ours[-1] / ref[-1]:.2f}, float32 matmul {ceilings[-1][0]:.0f} GFLOP/s")
                f_ref = ref_loop.flops()
            f_ours = gankit_flops(recipe, batch, root)
            ratios = [a / b for a, b in zip(ours, ref)]
            o, rf, ratio = statistics.median(ours), statistics.median(ref), statistics.median(ratios)
            q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratio, ratio, ratio]
            pct = [100 * f_ours / batch * v / 1e9 / c for v, (c, _) in zip(ours, ceilings)]
            pct_bf16 = [100 * f_ours / batch * v / 1e9 / c for v, (_, c) in zip(ours, ceilings)] if bf16 else None
            pq = statistics.quantiles(pct, n=4) if len(pct) > 1 else [pct[0]] * 3
            rows.append({
                "recipe": recipe, "batch": batch, "machine_kind": kind, "precision": ours_loop.precision, "gankit_img_s": o, "reference_img_s": rf,
                "ratio": ratio, "ratio_q1": q[0], "ratio_q3": q[2],
                "gankit_gflops": f_ours / batch * o / 1e9, "reference_gflops": f_ref / batch * rf / 1e9,
                "gankit_pct_of_matmul": statistics.median(pct), "pct_q1": pq[0], "pct_q3": pq[2],
                "gankit_pct_of_bf16_matmul": statistics.median(pct_bf16) if bf16 else None,
                "gankit_pairs": ours, "reference_pairs": ref, "pair_ratios": ratios, "pair_matmul_gflops": ceilings,
                "iters_per_chunk": chunk, "flops_per_iter_gankit": f_ours, "flops_per_iter_reference": f_ref})
            print(f"== {recipe} b{batch} ({ours_loop.precision}): ratio {ratio:.2f}x (quartiles {q[0]:.2f}-{q[2]:.2f}), "
                  f"gankit {rows[-1]['gankit_gflops']:.1f} GFLOP/s, {rows[-1]['gankit_pct_of_matmul']:.0f}% of the float32 "
                  f"matmul measured after each pair (quartiles {pq[0]:.0f}-{pq[2]:.0f}%)")
    cols = ["recipe", "batch", "machine_kind", "precision", "gankit_img_s", "reference_img_s", "ratio", "ratio_q1", "ratio_q3", "gankit_gflops", "reference_gflops",
            "gankit_pct_of_matmul", "pct_q1", "pct_q3"] + (["gankit_pct_of_bf16_matmul"] if bf16 else [])
    md = (kind_line(precision) + f"; matmul ceiling at start {ceiling:.1f} GFLOP/s float32"
          + (f", {ceiling_bf16:.1f} bfloat16" if bf16 else "") + "; the pct columns use the ceiling measured after each pair\n\n"
          + md_table(rows, cols))
    print(md)
    write_results("throughput", {"env": environment(), "matmul_gflops": ceiling, "matmul_gflops_bf16": ceiling_bf16,
                                 "overrides": SETS, "rows": rows}, md)


if __name__ == "__main__":
    main()
