"""Mixed precision for the forward passes of training steps."""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

import torch


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
