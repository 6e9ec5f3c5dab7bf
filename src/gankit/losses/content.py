"""Content losses of super-resolution (Ledig et al. 2017, §2.2.1): pure functions of images or of
feature maps that the caller computes."""
from __future__ import annotations

from torch import Tensor

from .dtype import in_float32


@in_float32
def pixel_mse(sr: Tensor, hr: Tensor) -> Tensor:
    """Eq. 4, l_MSE = 1/(r²WH) Σ (I_HR - G(I_LR))²: the mean squared error over pixels (SRResNet's
    loss, and SRGAN-MSE's content loss)."""
    return ((hr - sr) ** 2).mean()


@in_float32
def feature_mse(f_sr: Tensor, f_hr: Tensor, rescale: float = 1 / 12.75) -> Tensor:
    """Eq. 5, l_VGG/i,j = 1/(W_ij H_ij) Σ (φ_ij(I_HR) - φ_ij(G(I_LR)))², on feature maps φ that the
    paper rescales by 1/12.75 so that the loss is on the scale of the pixel MSE."""
    return ((rescale * (f_hr - f_sr)) ** 2).mean()
