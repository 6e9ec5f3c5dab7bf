"""Mixed precision for the forward passes of training steps."""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils import parametrize


def native_bf16(device: torch.device) -> bool:
    """Whether the hardware multiplies bfloat16 natively (CPU: AVX512-BF16 or AMX; CUDA: Ampere on);
    elsewhere bf16 is emulated and slower than fp32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return False


def resolve_precision(precision: str, device: torch.device, data_kind: str) -> str:
    """``auto`` is bf16 for image data on a CPU that multiplies bfloat16 natively, fp32 elsewhere.
    bfloat16's 8-bit mantissa matches an 8-bit image's resolution, while 2-D toy points with a 0.01
    spread need float32's. On a GPU these small networks are bound by kernel launches, which
    autocast's casts add to: on an H100, bf16 made the default dcgan step 7-13% slower and the
    gan step 1.8-2x slower, so there bf16 is for large networks that ask for it."""
    if precision != "auto":
        return precision
    return "bf16" if device.type == "cpu" and data_kind != "points" and native_bf16(device) else "fp32"


def step_autocast(precision: str, device: torch.device, verbose: bool = True) -> Callable[[], contextlib.AbstractContextManager]:
    """A context factory for a step's forward passes. With bf16, matrix products and convolutions run
    in bfloat16 while weights, gradients and optimizer state stay float32; autocast leaves the
    networks' outputs in bfloat16, so the losses upcast them (:func:`gankit.losses.dtype.in_float32`).
    bfloat16 keeps float32's exponent range, so unlike float16 it needs no loss scaling."""
    if precision == "fp32":
        return contextlib.nullcontext
    if verbose and not native_bf16(device):
        print(f"gankit: warning: train.precision=bf16 on {device.type}, which has no native bfloat16 "
              "arithmetic: it may be slower than fp32", file=sys.stderr)
    return lambda: torch.autocast(device.type, dtype=torch.bfloat16)


class ComputeCopies:
    """bf16 copies of the weights that autocast casts for every forward pass (those of nn.Linear and
    convolution layers), made once per optimizer update instead, with float32 masters kept for the
    update: mixed precision with master weights (Micikevicius et al. 2018).

    Inside :meth:`swapped` those parameters hold their copies, so matrix products read bf16 weights
    without a cast and write bf16 weight gradients. On leaving, a parameter that received a gradient
    gets its float32 value back and its gradient is copied into a float32 buffer kept from step to
    step; one that received none (a player not updated by this phase) keeps its copy until
    :meth:`release`, which the engine calls at the end of each iteration, before EMA, samples,
    checkpoints and rollbacks read the weights. The numbers are autocast's: the same bf16 weights
    enter the same products, and the same bf16 gradients are widened to float32 for the update.
    What changes is the memory traffic: autocast cast G's weights twice per iteration (D step,
    G step) and widened each gradient into freshly allocated memory. A copy is remade when its
    parameter's version counter moves (an optimizer step, weight clipping, a checkpoint load). The
    fused optimizers update parameters without moving that counter, so the engine also calls
    :meth:`invalidate` after each update.

    Keeping a copy in place across phases is also what lets a graph built in one phase be
    back-propagated in the next (pix2pix's G(x) from the D step serving the G step): assigning
    ``.data`` of another dtype gives a parameter a new grad accumulator, so had G's weights been
    swapped out and in again between the phases, ``backward(inputs=G's params)`` would not reach
    them (every conv weight without a gradient; only the norm layers learned)."""

    def __init__(self, nets, dtype: torch.dtype = torch.bfloat16):
        self.dtype = dtype
        layers = (nn.Linear, nn.modules.conv._ConvNd)
        seen: dict[int, nn.Parameter] = {}
        for net in nets:
            for m in net.modules():
                if isinstance(m, layers) and not parametrize.is_parametrized(m):
                    for p in m.parameters(recurse=False):
                        seen.setdefault(id(p), p)
        self.params = list(seen.values())
        self._copies: dict[int, tuple[int, torch.Tensor]] = {}
        self._grads: dict[int, torch.Tensor] = {}
        self._masters: dict[int, torch.Tensor] = {}  # float32 values of the parameters now holding copies

    def invalidate(self, params=None) -> None:
        """Forget the copies of ``params`` (all when None): they are remade at their next use."""
        if params is None:
            self._copies.clear()
        for p in params or ():
            self._copies.pop(id(p), None)

    @contextlib.contextmanager
    def swapped(self):
        for p in self.params:
            if id(p) in self._masters:
                continue
            version, copy = self._copies.get(id(p), (None, None))
            if version != p._version:
                copy = p.detach().to(self.dtype)
                self._copies[id(p)] = (p._version, copy)
            self._masters[id(p)] = p.data
            p.data = copy
        try:
            yield
        finally:
            for p in self.params:
                if p.grad is not None and p.grad.dtype == self.dtype:
                    self._restore(p)

    def release(self) -> None:
        """Give every parameter its float32 value back."""
        for p in self.params:
            if id(p) in self._masters:
                self._restore(p)

    def _restore(self, p: nn.Parameter) -> None:
        master = self._masters.pop(id(p))
        grad = p.grad
        if grad is None or grad.dtype == master.dtype:
            p.data = master
            return
        p.grad = None
        p.data = master
        buf = self._grads.get(id(p))
        if buf is None:
            buf = self._grads[id(p)] = torch.empty_like(master)
        p.grad = buf.copy_(grad)


class _NoCopies:
    """fp32: the weights are used as they are."""

    def swapped(self):
        return contextlib.nullcontext()

    def release(self) -> None:
        pass

    def invalidate(self, params=None) -> None:
        pass


def compute_copies(precision: str, nets) -> ComputeCopies | _NoCopies:
    """The weights a step's forward and backward passes use: bf16 copies with bf16, the float32 ones with fp32."""
    return ComputeCopies(nets) if precision == "bf16" else _NoCopies()
