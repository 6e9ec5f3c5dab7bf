"""Small building blocks shared by several networks."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import GankitError


def activation(name: str) -> nn.Module:
    acts = {"relu": lambda: nn.ReLU(True), "leaky_relu": lambda: nn.LeakyReLU(0.2, True),
            "elu": lambda: nn.ELU(inplace=True), "tanh": nn.Tanh, "prelu": nn.PReLU, "none": nn.Identity}
    if name not in acts:
        raise GankitError(f"unknown activation '{name}'; choose one of: {', '.join(acts)}")
    return acts[name]()


class FlattenHWC(nn.Module):
    """Flatten feature maps in (H, W, C) order: a free view of a channels-last map (the default,
    ``train.channels_last``), whose gradient then comes back channels-last. nn.Flatten's (C, H, W)
    order hands the layer below an NCHW gradient for its channels-last output, and an activation's
    backward on such a mixed pair took ~20x longer (LeakyReLU: 1 ms against 50 us at batch 64 on 2
    CPU cores). The order is a fixed permutation of the next layer's inputs: the networks it can
    express are the same."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).flatten(1)


class Maxout(nn.Module):
    """Linear layer to ``pieces`` x ``out`` units, then the max over each unit's pieces (Goodfellow et al.
    2013). PacGAN's toy discriminators use it with 5 pieces."""

    def __init__(self, d_in: int, d_out: int, pieces: int = 5):
        super().__init__()
        self.pieces = pieces
        self.linear = nn.Linear(d_in, d_out * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).unflatten(1, (-1, self.pieces)).amax(2)


def maxout_pieces(act: str) -> int:
    """Pieces of a ``maxout`` / ``maxout:K`` activation name (5 by default), 0 for any other name."""
    name, _, k = act.partition(":")
    if name != "maxout":
        return 0
    if k and not (k.isdigit() and int(k) >= 2):
        raise GankitError(f"activation '{act}': maxout takes an integer number of pieces >= 2, e.g. maxout:5")
    return int(k) if k else 5


def norm1d(kind: str, n: int) -> nn.Module:
    kinds = {"batch": lambda: nn.BatchNorm1d(n), "layer": lambda: nn.LayerNorm(n), "none": nn.Identity}
    if kind not in kinds:
        raise GankitError(f"unknown norm '{kind}'; choose one of: {', '.join(kinds)}")
    return kinds[kind]()


class InstanceNorm2d(nn.InstanceNorm2d):
    """Instance norm that keeps a channels-last map channels-last and gets its gradient right.

    For one image, instance norm is batch norm with batch statistics (both normalise each channel
    over its H x W values), so that case runs F.batch_norm, whose CPU kernels keep the memory
    format. F.instance_norm instead turns a channels-last map into NCHW, so that every norm of a
    channels-last CycleGAN generator paid two layout copies (a quarter of the step went to copies),
    and in torch 2.14 its input gradient is wrong when the batch is one image and the incoming
    gradient is channels-last (max error 7 on unit-scale values; tests/test_translation.py checks
    ours against a float64 formula). A channels-last batch of several images is normalised image by
    image (as fast as F.instance_norm's one call, and without its two copies); NCHW batches keep it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or self.track_running_stats:
            return super().forward(x)
        if x.shape[0] == 1:
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            return torch.cat([self(x[i:i + 1]) for i in range(x.shape[0])])
        return super().forward(x)


class _ReflectionPadInDtype(torch.autograd.Function):
    """Reflection padding in the input's dtype, its gradient summed in float32 as autocast does."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, padding: tuple) -> torch.Tensor:
        ctx.padding, ctx.shape, ctx.dtype = padding, x.shape, x.dtype
        ctx.channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        with torch.autocast(x.device.type, enabled=False):
            return F.pad(x, padding, mode="reflect")

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        fmt = torch.channels_last if ctx.channels_last else torch.contiguous_format
        shape_of = torch.empty(ctx.shape, dtype=torch.float32, device=g.device, memory_format=fmt)
        return torch.ops.aten.reflection_pad2d_backward(g.float(), shape_of, ctx.padding).to(ctx.dtype), None


class ReflectionPad2d(nn.ReflectionPad2d):
    """Reflection padding that leaves a bfloat16 map bfloat16 under autocast. CPU autocast runs
    reflection_pad2d in float32, so each pad of a bf16 map cast it up, wrote twice the bytes, and
    the next convolution cast it back down (two copies per pad, ~8% of a CycleGAN step). Padding
    only moves values, so doing it in bfloat16 gives the same bits; the gradient is still summed
    in float32 and rounded once, as before."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32 or not torch.is_autocast_enabled(x.device.type):
            return super().forward(x)
        return _ReflectionPadInDtype.apply(x, tuple(self.padding))


def norm2d(kind: str, n: int) -> nn.Module:
    kinds = {"batch": lambda: nn.BatchNorm2d(n), "instance": lambda: InstanceNorm2d(n, affine=False),
             "none": nn.Identity}
    if kind not in kinds:
        raise GankitError(f"unknown norm '{kind}'; choose one of: {', '.join(kinds)}")
    return kinds[kind]()


def one_hot(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    return F.one_hot(y.long(), num_classes).float()


def check_cond(cond: str) -> str:
    if cond not in ("concat", "projection"):
        raise GankitError(f"config key 'model.d_cond' must be concat or projection, got {cond!r}")
    return cond


class LabelProjection(nn.Module):
    """The projection discriminator's class term (Miyato & Koyama 2018, eq. 3):
    D(x, y) = psi(phi(x)) + <embed(y), phi(x)>, added to the unconditional logit."""

    def __init__(self, num_classes: int, feature_dim: int):
        super().__init__()
        self.embed = nn.Embedding(num_classes, feature_dim)
        nn.init.zeros_(self.embed.weight)  # start as the unconditional D; the class term is learned

    def forward(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (self.embed(y.long()) * h).sum(1, keepdim=True)


class ConditionalHead(nn.Module):
    """Base of the discriminators whose logits are ``head(features(x, y))``, plus the projection term
    when ``project`` is set: subclasses define ``features``, ``head`` and ``project``."""

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x, y)
        out = self.head(h)
        if self.project is not None:
            out = out + self.project(h, y)
        return out.squeeze(1) if out.shape[1] == 1 else out
