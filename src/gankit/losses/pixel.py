"""Reconstruction losses used beside the adversarial ones."""
from __future__ import annotations

from torch import Tensor

from .dtype import in_float32


@in_float32
def l1(a: Tensor, b: Tensor) -> Tensor:
    """Mean absolute error, E|a - b| (pix2pix's L1 term, BEGAN's L(v))."""
    return (a - b).abs().mean()


def cycle_loss(a: Tensor, a_rec: Tensor, b: Tensor, b_rec: Tensor) -> Tensor:
    """Zhu et al. 2017, eq. 2: ||F(G(x)) - x||_1 + ||G(F(y)) - y||_1 (means over pixels)."""
    return l1(a_rec, a) + l1(b_rec, b)


def identity_loss(a: Tensor, f_a: Tensor, b: Tensor, g_b: Tensor) -> Tensor:
    """Zhu et al. 2017, §5.2 (Taigman et al. 2017): ||F(x) - x||_1 + ||G(y) - y||_1."""
    return l1(f_a, a) + l1(g_b, b)
