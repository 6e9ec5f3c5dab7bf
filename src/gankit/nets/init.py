"""Named weight-initialisation policies (``model.init``)."""
from __future__ import annotations

from typing import Callable

from torch import nn

from ..errors import GankitError

_CONV_LINEAR = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Conv1d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm, nn.LayerNorm)


def _dcgan(m: nn.Module) -> None:
    """Radford et al. 2016: conv/linear weights ~ N(0, 0.02); norm scales ~ N(1, 0.02), shifts 0."""
    if isinstance(m, _CONV_LINEAR):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, _NORMS) and getattr(m, "weight", None) is not None:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def _xavier(m: nn.Module) -> None:
    """Glorot & Bengio 2010 normal init; pix2pix/CycleGAN offer it as an option."""
    if isinstance(m, _CONV_LINEAR):
        nn.init.xavier_normal_(m.weight, gain=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def _glorot(m: nn.Module) -> None:
    """Glorot & Bengio 2010 uniform init at gain 1, TensorFlow's default (the BEGAN reference code's):
    deep plain ELU stacks keep their input's signal, where PyTorch's default shrinks it layer by layer."""
    if isinstance(m, _CONV_LINEAR):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def _kaiming(m: nn.Module) -> None:
    """He et al. 2015, for ReLU-family networks (SRResNet, BEGAN)."""
    if isinstance(m, _CONV_LINEAR):
        nn.init.kaiming_normal_(m.weight, a=0.2, nonlinearity="leaky_relu")
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def _orthogonal(m: nn.Module) -> None:
    """Saxe et al. 2014 (used by BigGAN-style code)."""
    if isinstance(m, _CONV_LINEAR):
        nn.init.orthogonal_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


INIT_POLICIES: dict[str, Callable[[nn.Module], None] | None] = {
    "dcgan": _dcgan, "xavier": _xavier, "glorot": _glorot, "kaiming": _kaiming, "orthogonal": _orthogonal,
    "default": None,  # PyTorch's own layer defaults
}


def init_weights(net: nn.Module, policy: str) -> nn.Module:
    if policy not in INIT_POLICIES:
        raise GankitError(f"unknown init policy '{policy}'; choose one of: {', '.join(INIT_POLICIES)}")
    fn = INIT_POLICIES[policy]
    if fn is not None:
        net.apply(fn)
    return net
