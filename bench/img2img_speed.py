"""Step time of gankit's pix2pix, CycleGAN and SRResNet training against loops written like
junyanz/pytorch-CycleGAN-and-pix2pix, on the same networks.

The reference loops follow that code's structure: a torch Dataset that opens each file with PIL per
item and applies torchvision transforms (resize to load_size, random crop, flip, ToTensor,
Normalize), a DataLoader (``num_workers=0``: loading runs in the timed thread, as on a one-core
budget; the original defaults to 4 worker processes), float32 NCHW tensors, Adam as constructed
there, ``set_requires_grad`` toggles and a backward pass and optimizer step per network as its
``optimize_parameters`` does (pix2pix: one G forward shared by the D and G updates; CycleGAN: G_A and
G_B updated together, then D_A and D_B with separate backward passes, an image pool per D).
SRResNet has no model in that repository; its reference is the same style applied to a pixel-MSE
super-resolution step (PIL crop, PIL bicubic downscale, one backward, one step). The networks and
their initial weights come from gankit's recipes, so only the loop differs.

gankit runs its engine (``Trainer.fit``) at its defaults: ``train.precision=auto`` (bf16 where the CPU
multiplies bfloat16 natively, else fp32) and, as a second row, ``train.precision=fp32`` when auto
chose bf16. After a warm-up, chunks of each contender run back to back (gankit auto, gankit fp32,
reference), so a change in machine speed hits all alike; a figure is the median of the chunks'
ratios. Step time = seconds per training iteration (one batch through every phase).

    python bench/img2img_speed.py [--recipes pix2pix cyclegan srresnet] [--pairs 5] [--set KEY=VALUE ...]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import environment, machine_kind, md_table, write_results  # noqa: E402

from gankit.config import load_config  # noqa: E402
from gankit.data import ImageData, default_data_root  # noqa: E402
from gankit.data.io import list_images  # noqa: E402
from gankit.recipes import get_recipe_class  # noqa: E402
from gankit.api import trainer as build_trainer  # noqa: E402

PRESETS = Path(__file__).resolve().parents[1] / "src" / "gankit" / "configs" / "presets"
# recipe -> (CPU preset, overrides that make the 128 px, batch 1-4 setting, (warm-up, chunk) iterations)
ROWS = {
    "pix2pix": ("pix2pix-facades-cpu.yaml", [], (3, 6)),
    "cyclegan": ("cyclegan-horse2zebra-cpu.yaml", [], (3, 6)),
    "srresnet": ("srresnet-facades-cpu.yaml", ["data.crop_size=128", "train.batch_size=4", "model.n_blocks=8"], (3, 12)),
}
SETS: list[str] = []


def config(recipe: str, extra: list[str]):
    preset, sets, _ = ROWS[recipe]
    return load_config(recipe, PRESETS / preset, overrides=[
        *sets, *SETS, *extra, "train.steps=1", "train.log_every=1000000", "train.sample_every=1000000",
        "train.ckpt_every=1000000", "train.report=false", "train.progress=false", "eval.metric=null", "device=cpu"])


class GankitLoop:
    """A gankit training run continued chunk by chunk; a chunk's time is the engine's own speed log
    (which leaves out the end-of-chunk checkpoint and sample grid)."""

    def __init__(self, recipe: str, precision: str, run_dir: Path):
        self.trainer = build_trainer(config(recipe, [f"train.precision={precision}"]), run_dir)
        self.precision = self.trainer.cfg.train.precision
        self.channels_last = bool(self.trainer.cfg.train.channels_last)

    def step_time(self, iters: int) -> float:
        import json

        tr = self.trainer
        tr.cfg.train.steps = tr.step + iters
        tr.cfg.train.log_every = iters
        finish, tr.finish = tr.finish, lambda: None
        try:
            tr.fit()
        finally:
            tr.finish = finish
        with open(tr.log_path) as f:
            speed = [json.loads(line) for line in f if "speed/img_per_s" in line][-1]["speed/img_per_s"]
        return tr.cfg.train.batch_size / speed  # one batch per iteration in each of these recipes


# --- the reference: pytorch-CycleGAN-and-pix2pix's data and update structure ------------------------
def _transform(load_size: int, crop: int, flip: bool):
    """get_transform(opt, params): resize (bicubic), crop at params, flip at params, ToTensor, Normalize."""
    import torchvision.transforms.functional as TF
    from PIL import Image

    def fn(img, params):
        img = img.resize((load_size, load_size), Image.BICUBIC)
        x, y = params["crop_pos"]
        img = img.crop((x, y, x + crop, y + crop))
        if flip and params["flip"]:
            img = TF.hflip(img)
        return TF.normalize(TF.to_tensor(img), (0.5,) * 3, (0.5,) * 3)

    return fn


def _params(load_size: int, crop: int) -> dict:
    return {"crop_pos": (random.randint(0, load_size - crop), random.randint(0, load_size - crop)),
            "flip": random.random() > 0.5}


class AlignedDataset(torch.utils.data.Dataset):
    """AB side-by-side files, split per item; the same crop and flip for A and B."""

    def __init__(self, folder: Path, load_size: int, crop: int, direction: str):
        self.files, self.load, self.crop, self.direction = list_images(folder), load_size, crop, direction
        self.tf = _transform(load_size, crop, True)

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        from PIL import Image

        ab = Image.open(self.files[i]).convert("RGB")
        w, h = ab.size
        a, b = ab.crop((0, 0, w // 2, h)), ab.crop((w // 2, 0, w, h))
        p = _params(self.load, self.crop)
        a, b = self.tf(a, p), self.tf(b, p)
        return {"A": a, "B": b} if self.direction == "AtoB" else {"A": b, "B": a}


class UnalignedDataset(torch.utils.data.Dataset):
    """trainA/ and trainB/; B drawn at random per item, each image with its own crop and flip."""

    def __init__(self, root: Path, load_size: int, crop: int):
        self.a, self.b = list_images(root / "trainA"), list_images(root / "trainB")
        self.load, self.crop, self.tf = load_size, crop, _transform(load_size, crop, True)

    def __len__(self):
        return max(len(self.a), len(self.b))

    def __getitem__(self, i):
        from PIL import Image

        a = Image.open(self.a[i % len(self.a)]).convert("RGB")
        b = Image.open(self.b[random.randint(0, len(self.b) - 1)]).convert("RGB")
        return {"A": self.tf(a, _params(self.load, self.crop)), "B": self.tf(b, _params(self.load, self.crop))}


class SRDataset(torch.utils.data.Dataset):
    """HR = a random crop of the photo half of each facades file; LR = its PIL bicubic downscale."""

    def __init__(self, folder: Path, crop: int, scale: int):
        self.files, self.crop, self.scale = list_images(folder), crop, scale

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        import torchvision.transforms.functional as TF
        from PIL import Image

        ab = Image.open(self.files[i]).convert("RGB")
        w, h = ab.size
        hr = ab.crop((0, 0, w // 2, h))
        x, y = random.randint(0, w // 2 - self.crop), random.randint(0, h - self.crop)
        hr = hr.crop((x, y, x + self.crop, y + self.crop))
        if random.random() > 0.5:
            hr = TF.hflip(hr)
        lr = hr.resize((self.crop // self.scale,) * 2, Image.BICUBIC)
        norm = lambda im: TF.normalize(TF.to_tensor(im), (0.5,) * 3, (0.5,) * 3)  # noqa: E731
        return {"A": norm(lr), "B": norm(hr)}


def set_requires_grad(nets, flag: bool) -> None:
    for net in nets:
        for p in net.parameters():
            p.requires_grad = flag


class RefImagePool:
    """The history buffer of Shrivastava et al. as that code keeps it: a list, one image at a time."""

    def __init__(self, size: int):
        self.size, self.images = size, []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        out = []
        for img in images:
            img = img.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(img)
                out.append(img)
            elif random.uniform(0, 1) > 0.5:
                k = random.randint(0, self.size - 1)
                out.append(self.images[k].clone())
                self.images[k] = img
            else:
                out.append(img)
        return torch.cat(out, 0)


class ReferenceLoop:
    def __init__(self, recipe: str):
        cfg = config(recipe, ["train.precision=fp32"])
        self.recipe, self.cfg = recipe, cfg
        d, root = cfg.data, (default_data_root() or Path("missing")) / cfg.data.name
        c = 3
        fake = {"pix2pix": ImageData(x=torch.zeros(1, c, 8, 8, dtype=torch.uint8), x_b=torch.zeros(1, c, 8, 8, dtype=torch.uint8), kind="paired"),
                "cyclegan": ImageData(x=torch.zeros(1, c, 8, 8, dtype=torch.uint8), x_b=torch.zeros(1, c, 8, 8, dtype=torch.uint8), kind="unpaired"),
                "srresnet": ImageData(x=torch.zeros(1, c, 256, 256, dtype=torch.uint8), kind="image")}[recipe]
        torch.manual_seed(cfg.seed)
        self.nets = get_recipe_class(recipe)(cfg, fake, "cpu")  # gankit's networks and initialisation
        if recipe == "pix2pix":
            ds = AlignedDataset(root / "train", d.load_size, d.crop_size, d.direction)
        elif recipe == "cyclegan":
            ds = UnalignedDataset(root, d.load_size, d.crop_size)
        else:
            ds = SRDataset(root / "train", d.crop_size, cfg.model.scale)
        self.loader = torch.utils.data.DataLoader(ds, batch_size=cfg.train.batch_size, shuffle=True, num_workers=0,
                                                  drop_last=True)
        self.it = iter(self.loader)
        adam = lambda params, o: torch.optim.Adam(params, lr=o.lr, betas=tuple(o.betas))  # noqa: E731
        r = self.nets
        if recipe == "pix2pix":
            self.opt_g, self.opt_d = adam(r.G.parameters(), cfg.optim.G), adam(r.D.parameters(), cfg.optim.D)
            self.bce = nn.BCEWithLogitsLoss()
        elif recipe == "cyclegan":
            self.opt_g = adam(list(r.G.parameters()) + list(r.F.parameters()), cfg.optim.G)
            self.opt_d = adam(list(r.D_A.parameters()) + list(r.D_B.parameters()), cfg.optim.D)
            self.pool_a, self.pool_b = RefImagePool(cfg.model.pool_size), RefImagePool(cfg.model.pool_size)
        else:
            self.opt_g = adam(r.G.parameters(), cfg.optim.G)

    def next_batch(self) -> dict:
        try:
            return next(self.it)
        except StopIteration:
            self.it = iter(self.loader)
            return next(self.it)

    def pix2pix_step(self, a, b) -> None:
        G, D = self.nets.G, self.nets.D
        gan = lambda pred, real: self.bce(pred, torch.full_like(pred, 1.0 if real else 0.0))  # noqa: E731
        fake_b = G(a)
        set_requires_grad([D], True)
        self.opt_d.zero_grad()
        loss_d = 0.5 * (gan(D(torch.cat([a, fake_b], 1).detach()), False) + gan(D(torch.cat([a, b], 1)), True))
        loss_d.backward()
        self.opt_d.step()
        set_requires_grad([D], False)
        self.opt_g.zero_grad()
        loss_g = gan(D(torch.cat([a, fake_b], 1)), True) + F.l1_loss(fake_b, b) * self.cfg.loss.l1_weight
        loss_g.backward()
        self.opt_g.step()

    def cyclegan_step(self, a, b) -> None:
        r, lam, idt = self.nets, self.cfg.loss.cycle_weight, self.cfg.loss.identity_weight
        mse = lambda pred, real: F.mse_loss(pred, torch.full_like(pred, 1.0 if real else 0.0))  # noqa: E731
        fake_b = r.G(a)
        rec_a = r.F(fake_b)
        fake_a = r.F(b)
        rec_b = r.G(fake_a)
        set_requires_grad([r.D_A, r.D_B], False)
        self.opt_g.zero_grad()
        loss_idt = (F.l1_loss(r.G(b), b) + F.l1_loss(r.F(a), a)) * lam * idt
        loss_g = (mse(r.D_B(fake_b), True) + mse(r.D_A(fake_a), True) + F.l1_loss(rec_a, a) * lam
                  + F.l1_loss(rec_b, b) * lam + loss_idt)
        loss_g.backward()
        self.opt_g.step()
        set_requires_grad([r.D_A, r.D_B], True)
        self.opt_d.zero_grad()
        for D, real, pool, fake in ((r.D_B, b, self.pool_b, fake_b), (r.D_A, a, self.pool_a, fake_a)):
            f = pool.query(fake)
            loss_d = 0.5 * (mse(D(real), True) + mse(D(f.detach()), False))
            loss_d.backward()
        self.opt_d.step()

    def srresnet_step(self, lr, hr) -> None:
        self.opt_g.zero_grad()
        loss = F.mse_loss(self.nets.G(lr), hr)
        loss.backward()
        self.opt_g.step()

    def step_time(self, iters: int) -> float:
        step = getattr(self, f"{self.recipe}_step")
        t0 = time.perf_counter()
        for _ in range(iters):
            batch = self.next_batch()
            step(batch["A"], batch["B"])
        return (time.perf_counter() - t0) / iters


def bench_recipe(recipe: str, pairs: int, tmp: Path) -> list[dict]:
    warm, chunk = ROWS[recipe][2]
    ours = {"auto": GankitLoop(recipe, "auto", tmp / f"{recipe}-auto")}
    if ours["auto"].precision != "fp32":
        ours["fp32"] = GankitLoop(recipe, "fp32", tmp / f"{recipe}-fp32")
    ref = ReferenceLoop(recipe)
    for loop in (*ours.values(), ref):
        loop.step_time(warm)
    times = {k: [] for k in ours}
    ref_times = []
    for p in range(pairs):  # back to back: gankit (each precision), then the reference
        for k, loop in ours.items():
            times[k].append(loop.step_time(chunk))
        ref_times.append(ref.step_time(chunk))
        print(f"{recipe} chunk {p}: " + ", ".join(f"gankit {ours[k].precision} {1000 * v[-1]:.0f} ms" for k, v in times.items())
              + f", reference fp32 {1000 * ref_times[-1]:.0f} ms", flush=True)
    rows = []
    cfg = ours["auto"].trainer.cfg
    for k, loop in ours.items():
        ratios = [r / o for o, r in zip(times[k], ref_times)]
        q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        rows.append({"recipe": recipe, "px": cfg.data.crop_size, "batch": cfg.train.batch_size,
                     "precision": loop.precision, "channels_last": loop.channels_last,
                     "gankit_ms": 1000 * statistics.median(times[k]), "reference_ms": 1000 * statistics.median(ref_times),
                     "speedup": statistics.median(ratios), "speedup_q1": q[0], "speedup_q3": q[2],
                     "gankit_chunks_ms": [1000 * t for t in times[k]], "reference_chunks_ms": [1000 * t for t in ref_times],
                     "iters_per_chunk": chunk})
        print(f"== {recipe} {cfg.data.crop_size} px b{cfg.train.batch_size} gankit {loop.precision}: "
              f"{rows[-1]['speedup']:.2f}x the reference (quartiles {q[0]:.2f}-{q[2]:.2f})", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", nargs="+", default=list(ROWS), choices=list(ROWS))
    ap.add_argument("--pairs", type=int, default=5, help="timed chunk groups per recipe")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override for every loop")
    args = ap.parse_args()
    SETS.extend(args.set)
    root = default_data_root()
    for recipe in args.recipes:
        name = load_config(recipe, PRESETS / ROWS[recipe][0]).data.name
        if root is None or not (root / name).is_dir():
            sys.exit(f"dataset folder {name}/ not found under GANKIT_DATA ({root}); set GANKIT_DATA")
    kind = machine_kind()
    print(f"machine: {kind}", flush=True)
    t0 = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for recipe in args.recipes:
            rows += bench_recipe(recipe, args.pairs, Path(tmp))
    cols = ["recipe", "px", "batch", "precision", "channels_last", "gankit_ms", "reference_ms", "speedup",
            "speedup_q1", "speedup_q3"]
    md = (f"machine kind {kind['kind']} ({kind['cpu_model']}; {', '.join(kind['isa'])}), {torch.get_num_threads()} threads; "
          f"reference loop float32 NCHW; step = one iteration; median of {args.pairs} chunk ratios; "
          f"wall {time.time() - t0:.0f} s\n\n" + md_table(rows, cols))
    print(md)
    write_results("img2img_speed", {"env": environment(), "machine": kind, "overrides": SETS, "rows": rows}, md)


if __name__ == "__main__":
    main()
