"""Losses compute in float32 whatever precision the networks ran in."""
from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import Tensor


_LOW = (torch.bfloat16, torch.float16)


def in_float32(loss: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """Cast a loss's half-precision tensor arguments to float32 (float32 and float64 ones pass as
    they are). Under bf16 autocast the networks return bfloat16, whose 8-bit mantissa would round
    the loss, the logged number and the gradient that starts backpropagation."""
    @functools.wraps(loss)
    def wrapped(*args, **kwargs):
        return loss(*(a.float() if isinstance(a, Tensor) and a.dtype in _LOW else a for a in args), **kwargs)
    return wrapped
