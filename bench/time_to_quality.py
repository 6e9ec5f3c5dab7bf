"""How long until good digits: wall-clock training time for gankit's default `dcgan` configuration
(on full MNIST) to reach a fixed sample quality, against a plain reference loop with a well-known
public DCGAN script's 32 px network and settings (upsample+conv G, strided-conv D with dropout,
sigmoid + BCE, Adam 2e-4/0.5, batch 64, torchvision MNIST resized to 32 px through a DataLoader).

Quality: FID in the feature space of a digit classifier trained by this bench (MNIST-FID), 2,000
samples against the test split; 32 px samples are resized to 28 px for the classifier. Only training
time counts (evaluation pauses the clock).

    python bench/time_to_quality.py [--budget 600] [--target 5.0] [--eval-every 30]
    python bench/time_to_quality.py --rescore bench/results/time_to_quality.json   # summary only
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import environment, md_table, torchvision_mnist_root, write_results  # noqa: E402
from throughput import _fit  # noqa: E402

from gankit.config import load_config  # noqa: E402
from gankit.data import default_data_root, load_mnist, to_float  # noqa: E402
from gankit.metrics import fid_from_features, train_digit_classifier  # noqa: E402
from gankit.api import trainer as build_trainer  # noqa: E402


class RefGenerator(nn.Module):
    """The public script's 32 px generator: linear to 128x8x8, two (upsample, 3x3 conv, BN, LeakyReLU) stages."""

    def __init__(self, z_dim=100):
        super().__init__()
        self.fc = nn.Linear(z_dim, 128 * 8 * 8)
        self.net = nn.Sequential(
            nn.BatchNorm2d(128), nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 128, 3, 1, 1), nn.BatchNorm2d(128, 0.8), nn.LeakyReLU(0.2, True), nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 64, 3, 1, 1), nn.BatchNorm2d(64, 0.8), nn.LeakyReLU(0.2, True),
            nn.Conv2d(64, 1, 3, 1, 1), nn.Tanh())

    def forward(self, z):
        return self.net(self.fc(z).view(-1, 128, 8, 8))


class RefDiscriminator(nn.Module):
    """Four stride-2 3x3 conv blocks (16, 32, 64, 128) with LeakyReLU, Dropout2d(0.25), BN after the first; sigmoid."""

    def __init__(self):
        super().__init__()
        layers, c = [], 1
        for i, w in enumerate((16, 32, 64, 128)):
            layers += [nn.Conv2d(c, w, 3, 2, 1), nn.LeakyReLU(0.2, True), nn.Dropout2d(0.25)]
            if i:
                layers.append(nn.BatchNorm2d(w, 0.8))
            c = w
        self.net = nn.Sequential(*layers)
        self.fc = nn.Sequential(nn.Linear(128 * 2 * 2, 1), nn.Sigmoid())

    def forward(self, x):
        return self.fc(self.net(x).flatten(1))


def _init(m):
    if isinstance(m, nn.Conv2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class Quality:
    def __init__(self, clf, n: int, mnist_root: Path):
        self.clf, self.n = clf.eval(), n
        xt, _ = load_mnist(mnist_root, "test")
        self.real = self.features(to_float(xt))

    @torch.no_grad()
    def features(self, x):
        if x.shape[-1] != 28:
            x = F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
        return torch.cat([self.clf.features(x[i:i + 1000]).double() for i in range(0, len(x), 1000)]).numpy()

    @torch.no_grad()
    def __call__(self, G) -> float:
        was = G.training
        G.eval()
        with torch.random.fork_rng():
            torch.manual_seed(123)
            x = G(torch.randn(self.n, 100))
        G.train(was)
        return fid_from_features(self.real, self.features(x))


class GankitContender:
    """gankit's default dcgan configuration on full MNIST, trained in chunks by the real engine."""
    name = "gankit dcgan (default config)"

    def __init__(self, mnist_root):
        self.tmp = tempfile.TemporaryDirectory()
        cfg = load_config("dcgan", overrides=["data.name=mnist", f"data.root={mnist_root}", "train.report=false",
                                                "train.progress=false", "train.steps=1000000", "train.sample_every=1000000",
                                                "train.ckpt_every=1000000", "device=cpu"])
        self.trainer = build_trainer(cfg, Path(self.tmp.name) / "run")
        self.chunk = 20

    def train_for(self, seconds: float) -> float:
        t0 = time.perf_counter()
        self.trainer.cfg.train.steps = self.trainer.step + self.chunk
        _fit(self.trainer)
        dt = time.perf_counter() - t0
        self.chunk = max(5, int(self.chunk * seconds / dt))
        return dt

    @property
    def steps(self):
        return self.trainer.step

    def generator(self):
        return self.trainer.generator_for_eval()


class ReferenceContender:
    """The public script's loop: G step first (BCE through D), then D step; per-item PIL transforms."""
    name = "reference loop (public 32 px DCGAN)"

    def __init__(self, tv_root):
        import torchvision.transforms as T
        from torchvision.datasets import MNIST

        torch.manual_seed(0)
        self.G, self.D = RefGenerator(), RefDiscriminator()
        self.G.apply(_init)
        self.D.apply(_init)
        ds = MNIST(str(tv_root), train=True, download=True,
                   transform=T.Compose([T.Resize(32), T.ToTensor(), T.Normalize([0.5], [0.5])]))
        self.loader = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True)
        self.it = iter(self.loader)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.bce = nn.BCELoss()
        self.steps = 0

    def train_for(self, seconds: float) -> float:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            try:
                imgs, _ = next(self.it)
            except StopIteration:
                self.it = iter(self.loader)
                imgs, _ = next(self.it)
            valid, fake = torch.ones(imgs.shape[0], 1), torch.zeros(imgs.shape[0], 1)
            self.opt_g.zero_grad()
            gen = self.G(torch.randn(imgs.shape[0], 100))
            self.bce(self.D(gen), valid).backward()
            self.opt_g.step()
            self.opt_d.zero_grad()
            ((self.bce(self.D(imgs), valid) + self.bce(self.D(gen.detach()), fake)) / 2).backward()
            self.opt_d.step()
            self.steps += 1
        return time.perf_counter() - t0

    def generator(self):
        return self.G


def race(contenders, quality, budget, eval_every, target):
    """Alternate training chunks so that changes in machine load hit every contender alike."""
    curves = {c.name: [] for c in contenders}
    trained = {c.name: 0.0 for c in contenders}
    active = list(contenders)
    while active:
        for c in list(active):
            trained[c.name] += c.train_for(eval_every)
            q = quality(c.generator())
            curves[c.name].append((trained[c.name], c.steps, q))
            print(f"{c.name:40s} {trained[c.name]:7.1f}s step {c.steps:6d}  MNIST-FID {q:.3f}", flush=True)
            if q <= target or trained[c.name] >= budget:
                active.remove(c)
    return curves


def time_to(curve, target):
    return next((t for t, _, q in curve if q <= target), None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=900, help="training seconds per contender")
    ap.add_argument("--target", type=float, default=5.0, help="MNIST-FID to reach")
    ap.add_argument("--eval-every", type=float, default=30, help="training seconds between evaluations")
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--mnist-root", type=Path, default=None)
    ap.add_argument("--rescore", type=Path, default=None, metavar="JSON",
                    help="recompute the summary from the curves of a saved results file instead of training")
    args = ap.parse_args()
    if args.rescore:
        saved = json.loads(args.rescore.read_text())
        acc, curves = saved["classifier_accuracy"], saved["curves"]
        args.budget, args.n, env = saved.get("budget", args.budget), saved.get("n", args.n), saved["env"]
        names = list(curves)
        steps = {name: curves[name][-1][1] for name in names}
    else:
        root = args.mnist_root or (default_data_root() or Path("missing")) / "mnist"
        if not (root / "train-images-idx3-ubyte.gz").is_file():
            sys.exit(f"MNIST IDX files not found in {root}; pass --mnist-root or set GANKIT_DATA")
        clf, acc = train_digit_classifier(root, epochs=1, width=16)
        print(f"bench classifier test accuracy {acc:.4f}")
        quality = Quality(clf, args.n, root)
        tv_root = torchvision_mnist_root(root, Path(tempfile.mkdtemp()))
        ours, ref = GankitContender(root), ReferenceContender(tv_root)
        curves = race([ours, ref], quality, args.budget, args.eval_every, args.target)
        names, steps = [ours.name, ref.name], {ours.name: ours.steps, ref.name: ref.steps}
        env = environment()
    report(curves, names, steps, acc, env, args)


def report(curves, names, steps, acc, env, args):
    """Speed-up to the fixed target, and (the target being out of reach) to the reference's own best."""
    ours, ref = names
    rows = [{"contender": n, "seconds_to_target": time_to(curves[n], args.target),
             "best_fid": min(q for *_, q in curves[n]), "steps": steps[n]} for n in names]
    t_ours, t_ref = rows[0]["seconds_to_target"], rows[1]["seconds_to_target"]
    speedup = (t_ref / t_ours) if t_ours and t_ref else None
    ref_best = rows[1]["best_fid"]
    t_ref_best, t_ours_at = time_to(curves[ref], ref_best), time_to(curves[ours], ref_best)
    speedup_at_ref_best = (t_ref_best / t_ours_at) if t_ours_at else None
    fmt = lambda x: x if x is None else round(x, 2)
    md = (f"target MNIST-FID {args.target} ({args.n} samples vs MNIST test; classifier acc {acc:.4f}); "
          f"budget {args.budget:.0f} s each\n\n" + md_table(rows, ["contender", "seconds_to_target", "best_fid", "steps"]) +
          f"\nspeed-up to the target: {fmt(speedup)}\n"
          f"speed-up to the reference's best MNIST-FID {ref_best:.2f} (reference {t_ref_best:.0f} s, "
          f"gankit {fmt(t_ours_at)} s): {fmt(speedup_at_ref_best)}\n")
    print(md)
    write_results("time_to_quality", {"env": env, "target": args.target, "budget": args.budget,
                                      "n": args.n, "classifier_accuracy": acc,
                                      "curves": curves, "speedup": speedup, "reference_best_fid": ref_best,
                                      "speedup_at_reference_best": speedup_at_ref_best, "rows": rows}, md)


if __name__ == "__main__":
    main()
