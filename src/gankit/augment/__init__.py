"""Differentiable augmentation of everything D sees, and the ADA controller (Karras et al. 2020).

Each op is applied per sample with probability p; geometric ops (x-flip, 90° rotations, integer
translation, isotropic scaling, arbitrary rotation) compose into one affine warp per sample sampled
with reflection padding, so gradients flow to the input (and so to G). At p = 0 the pipeline is
the identity. ADA moves p every ``interval`` D steps toward the overfitting target:
p += sign(r_t - target) * (batch * interval) / (kimg * 1000), r_t = E[sign(D(x_real))].
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import GankitError

OPS = ("xflip", "rotate90", "translate", "scale", "rotate", "color", "cutout")
DIFFAUG_OPS = ("translate", "color", "cutout")  # DiffAugment's "color,translation,cutout" policy


def _bern(n: int, p: float, device) -> Tensor:
    return (torch.rand(n, device=device) < p).float()


def check_ops(ops) -> tuple[str, ...]:
    """``ops`` as a tuple, or a one-line error naming the first unknown op (config key aug.ops)."""
    unknown = [o for o in ops if o not in OPS]
    if unknown:
        raise GankitError(f"unknown augmentation '{unknown[0]}' in aug.ops; choose from: {', '.join(OPS)}")
    return tuple(ops)


def augment(x: Tensor, p: float, ops=OPS) -> Tensor:
    """Apply each op in ``ops`` with probability p per sample (differentiable w.r.t. x)."""
    if p <= 0:
        return x
    check_ops(ops)
    n, dev = x.shape[0], x.device
    eye = torch.eye(3, device=dev).expand(n, 3, 3)
    mat = eye.clone()
    if "xflip" in ops:
        s = 1 - 2 * _bern(n, p, dev)
        mat = mat @ _diag(s, torch.ones_like(s))
    if "rotate90" in ops:
        k = torch.randint(0, 4, (n,), device=dev) * _bern(n, p, dev)
        mat = mat @ _rot(k * math.pi / 2)
    if "translate" in ops:  # integer pixel shifts of up to 1/8 of the size (in [-1, 1] coordinates: 2/size per px)
        h, w = x.shape[-2:]
        on = _bern(n, p, dev)
        tx = torch.round((torch.rand(n, device=dev) * 2 - 1) * w / 8) * 2 / w * on
        ty = torch.round((torch.rand(n, device=dev) * 2 - 1) * h / 8) * 2 / h * on
        mat = mat @ _shift(tx, ty)
    if "scale" in ops:
        s = torch.exp2(torch.randn(n, device=dev) * 0.2 * _bern(n, p, dev))
        mat = mat @ _diag(s, s)
    if "rotate" in ops:
        mat = mat @ _rot((torch.rand(n, device=dev) * 2 - 1) * math.pi * _bern(n, p, dev))
    if not torch.equal(mat, eye):
        grid = F.affine_grid(mat[:, :2, :], list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="reflection", align_corners=False)
    if "color" in ops:
        shape = (n, 1, 1, 1)
        x = x + torch.randn(shape, device=dev) * 0.2 * _bern(n, p, dev).view(shape)            # brightness
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        c = torch.exp2(torch.randn(shape, device=dev) * 0.5 * _bern(n, p, dev).view(shape))     # contrast
        x = (x - mean) * c + mean
        if x.shape[1] == 3:                                                                         # saturation
            luma = x.mean(1, keepdim=True)
            sat = torch.exp2(torch.randn(shape, device=dev) * _bern(n, p, dev).view(shape))
            x = (x - luma) * sat + luma
    if "cutout" in ops:
        h, w = x.shape[-2:]
        cy, cx = torch.rand(n, 1, 1, device=dev) * h, torch.rand(n, 1, 1, device=dev) * w
        yy = torch.arange(h, device=dev).view(1, h, 1)
        xx = torch.arange(w, device=dev).view(1, 1, w)
        hole = ((yy - cy).abs() < h / 4) & ((xx - cx).abs() < w / 4) & _bern(n, p, dev).bool().view(n, 1, 1)
        x = x * (~hole).unsqueeze(1).to(x.dtype)
    return x


def _diag(sx: Tensor, sy: Tensor) -> Tensor:
    m = torch.zeros(len(sx), 3, 3, device=sx.device)
    m[:, 0, 0], m[:, 1, 1], m[:, 2, 2] = sx, sy, 1
    return m


def _rot(a: Tensor) -> Tensor:
    m = torch.zeros(len(a), 3, 3, device=a.device)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1], m[:, 2, 2] = a.cos(), -a.sin(), a.sin(), a.cos(), 1
    return m


def _shift(tx: Tensor, ty: Tensor) -> Tensor:
    m = torch.eye(3, device=tx.device).repeat(len(tx), 1, 1)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


class Augmenter:
    """The augmentation a recipe applies to every real and fake image D sees.

    mode: ``ada`` (p adapted from r_t), ``fixed:P`` (constant p), ``diffaug`` (always on: p = 1 with
    DiffAugment's colour/translation/cutout).
    """

    def __init__(self, mode: str, ops=OPS, target: float = 0.6, interval: int = 4, kimg: float = 500):
        self.mode, self.target, self.interval, self.kimg = mode, target, interval, kimg
        self.ops = check_ops(ops)  # at start, not at the first step where ADA's p leaves 0
        self.p = 0.0
        if mode == "diffaug":
            self.p, self.ops = 1.0, DIFFAUG_OPS
        elif mode.startswith("fixed:"):
            try:
                self.p = float(mode.split(":", 1)[1])
            except ValueError:
                self.p = -1.0
            if not 0.0 <= self.p <= 1.0:
                raise GankitError(f"--aug {mode}: fixed:P needs P in [0, 1]")
        elif mode != "ada":
            raise GankitError(f"--aug must be none, ada, fixed:P or diffaug, got '{mode}'")
        self.sign_sum, self.count, self.steps = 0.0, 0, 0

    def __call__(self, x: Tensor) -> Tensor:
        return augment(x, self.p, self.ops)

    def observe(self, real_logits: Tensor, boundary: float = 0.0) -> None:
        """After each D step: accumulate sign(D(x_real) - boundary), the side of D's verdict (0 for
        logits, (a + b) / 2 for least squares); every ``interval`` steps, move p."""
        if self.mode != "ada":
            return
        logits = real_logits.detach().flatten()
        self.sign_sum += float((logits - boundary).sign().sum())
        self.count += logits.numel()
        self.steps += 1
        if self.steps % self.interval == 0:
            r_t = self.sign_sum / max(1, self.count)
            batch = real_logits.shape[0]
            step = batch * self.interval / (self.kimg * 1000)
            self.p = min(max(self.p + math.copysign(step, r_t - self.target), 0.0), 1.0)
            self.sign_sum, self.count = 0.0, 0

    def state_dict(self) -> dict:
        return {"p": self.p, "sign_sum": self.sign_sum, "count": self.count, "steps": self.steps}

    def load_state_dict(self, s: dict) -> None:
        self.p, self.sign_sum = float(s["p"]), float(s["sign_sum"])
        self.count, self.steps = int(s["count"]), int(s["steps"])


def build_augment(cfg_aug, channels: int) -> Augmenter:
    return Augmenter(cfg_aug.mode, cfg_aug.ops, cfg_aug.target, cfg_aug.interval, cfg_aug.kimg)
