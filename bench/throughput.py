"""Training throughput of gankit's `gan` and `dcgan` against a plain reference loop on the same networks.

The reference is written the way most published GAN scripts are: torchvision MNIST through a
DataLoader with per-item PIL transforms, BCE on D's outputs, separate optimizer steps, G's loss
backpropagated through D's weights too. Both run the same G and D classes and the same batch size;
the figure is the ratio of training images per second (median of alternating rounds, after warm-up).
Achieved GFLOP/s is counted with torch.utils.flop_counter and set against a 2048^2 float32 matmul
measured in the same run (the bfloat16 one is reported too). gankit runs its default precision
(``train.precision=auto``: bf16 for images where the CPU multiplies bfloat16 natively); the
reference runs float32, as published scripts do. ``--set train.precision=fp32`` compares like with like.

    python bench/throughput.py [--rounds 3] [--mnist-root ../shared/data/mnist] [--set model.g_fc=0 ...]

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
from common import environment, matmul_ceiling, md_table, torchvision_mnist_root, write_results  # noqa: E402

from gankit.config import load_config  # noqa: E402
from gankit.data import default_data_root  # noqa: E402
from gankit.train import Trainer  # noqa: E402

ITERS = {"gan": (60, 300), "dcgan": (10, 40)}  # (warm-up, measured) iterations


SETS: list[str] = []  # --set overrides, applied to gankit's config and to the reference's networks


def gankit_config(recipe: str, batch: int, mnist_root: Path, steps: int, log_every: int):
    return load_config(recipe, overrides=[*SETS,
        "data.name=mnist", f"data.root={mnist_root}", f"train.batch_size={batch}", f"train.steps={steps}",
        f"train.log_every={log_every}", "train.sample_every=1000000", "train.ckpt_every=1000000",
        "train.report=false", "train.progress=false", "device=cpu"])


def gankit_run(recipe: str, batch: int, mnist_root: Path) -> tuple[float, str]:
    """Images/s of a real gankit training run (the engine's own speed log, median over the log
    intervals after the first (warm-up) one) and the precision it resolved to."""
    warm, measured = ITERS[recipe]
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(gankit_config(recipe, batch, mnist_root, warm + measured, warm), Path(tmp) / "run")
        _fit(trainer)
        lines = [json.loads(line) for line in open(trainer.log_path)]
    speed = statistics.median(line["speed/img_per_s"] for line in lines[1:] if "speed/img_per_s" in line)
    return speed, trainer.cfg.train.precision


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
        trainer = Trainer(gankit_config(recipe, batch, mnist_root, 1, 1), Path(tmp) / "run")
        batch_data = next(trainer.batches)
        with FlopCounterMode(display=False) as fc:
            for phase in trainer.phases:
                trainer.apply(phase.fn(None if phase.batch == "none" else batch_data), False)
        return fc.get_total_flops()


def reference_loop(recipe: str, batch: int, tv_root: Path, iters: int, warm: int, count_flops: bool = False):
    """A typical published training loop (G step first, then D), on gankit's networks."""
    import torchvision.transforms as T
    from torchvision.datasets import MNIST

    cfg = load_config(recipe, overrides=[*SETS, "data.name=mnist"])
    from gankit.data import ImageData
    from gankit.recipes import get_recipe_class

    fake_data = ImageData(x=torch.zeros(1, 1, 28, 28, dtype=torch.uint8), y=torch.zeros(1, dtype=torch.long),
                          class_names=[str(i) for i in range(10)])
    recipe_obj = get_recipe_class(recipe)(cfg, fake_data, "cpu")  # the same networks and init as gankit's
    G, D = recipe_obj.G, recipe_obj.D
    ds = MNIST(str(tv_root), train=True, download=True,
               transform=T.Compose([T.ToTensor(), T.Normalize([0.5], [0.5])]))
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, drop_last=True)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    z_dim = cfg.model.z_dim

    def step(imgs):
        valid, fake = torch.ones(imgs.shape[0]), torch.zeros(imgs.shape[0])
        opt_g.zero_grad()
        gen = G(torch.randn(imgs.shape[0], z_dim))
        g_loss = bce(D(gen), valid)
        g_loss.backward()
        opt_g.step()
        opt_d.zero_grad()
        d_loss = (bce(D(imgs), valid) + bce(D(gen.detach()), fake)) / 2
        d_loss.backward()
        opt_d.step()

    it = iter(loader)
    if count_flops:
        imgs, _ = next(it)
        with FlopCounterMode(display=False) as fc:
            step(imgs)
        return fc.get_total_flops()
    for _ in range(warm):
        step(next(it)[0])
    t0 = time.perf_counter()
    for _ in range(iters):
        step(next(it)[0])
    return iters * batch / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
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
    ceiling, ceiling_bf16 = matmul_ceiling(), matmul_ceiling(dtype=torch.bfloat16)
    print(f"matmul ceiling: {ceiling:.1f} GFLOP/s float32, {ceiling_bf16:.1f} bfloat16, threads {torch.get_num_threads()}")
    rows = []
    for recipe in args.recipes:
        warm, measured = ITERS[recipe]
        for batch in args.batches:
            ours, ref = [], []
            for r in range(args.rounds):  # alternate so that machine load hits both alike
                speed, precision = gankit_run(recipe, batch, root)
                ours.append(speed)
                ref.append(reference_loop(recipe, batch, tv_root, measured, warm))
                print(f"{recipe} b{batch} round {r}: gankit {ours[-1]:.0f} img/s, reference {ref[-1]:.0f} img/s")
            f_ours = gankit_flops(recipe, batch, root)
            f_ref = reference_loop(recipe, batch, tv_root, 0, 0, count_flops=True)
            o, rf = statistics.median(ours), statistics.median(ref)
            rows.append({
                "recipe": recipe, "batch": batch, "precision": precision, "gankit_img_s": o, "reference_img_s": rf, "ratio": o / rf,
                "gankit_gflops": f_ours / batch * o / 1e9, "reference_gflops": f_ref / batch * rf / 1e9,
                "gankit_pct_of_matmul": 100 * f_ours / batch * o / 1e9 / ceiling,
                "gankit_pct_of_bf16_matmul": 100 * f_ours / batch * o / 1e9 / ceiling_bf16,
                "gankit_rounds": ours, "reference_rounds": ref,
                "flops_per_iter_gankit": f_ours, "flops_per_iter_reference": f_ref})
            print(f"== {recipe} b{batch} ({precision}): ratio {o / rf:.2f}x, gankit {rows[-1]['gankit_gflops']:.1f} "
                  f"GFLOP/s ({rows[-1]['gankit_pct_of_matmul']:.0f}% of the float32 matmul)")
    cols = ["recipe", "batch", "precision", "gankit_img_s", "reference_img_s", "ratio", "gankit_gflops", "reference_gflops",
            "gankit_pct_of_matmul", "gankit_pct_of_bf16_matmul"]
    md = (f"matmul ceiling {ceiling:.1f} GFLOP/s float32, {ceiling_bf16:.1f} bfloat16, "
          f"{torch.get_num_threads()} threads\n\n" + md_table(rows, cols))
    print(md)
    write_results("throughput", {"env": environment(), "matmul_gflops": ceiling, "matmul_gflops_bf16": ceiling_bf16,
                                 "overrides": SETS, "rows": rows}, md)


if __name__ == "__main__":
    main()
