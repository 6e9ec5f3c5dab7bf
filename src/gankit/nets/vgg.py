"""A frozen ImageNet VGG19 cut after one ReLU, as the feature network of SRGAN's content loss.

Weights come only from torchvision's file in the local torch hub cache
(``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth``, where ``torchvision.models.vgg19(weights=...)``
puts it): gankit never downloads them, so training and tests behave the same offline.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import GankitError

# Ledig et al. 2017: phi_{i,j} = the j-th conv (after its ReLU) before the i-th max-pool of VGG19
LAYERS = {"vgg22": 8, "vgg54": 35}  # index of that ReLU in torchvision's vgg19().features
_MEAN, _STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def vgg19_weights_file() -> Path:
    """Where torchvision keeps the ImageNet VGG19 weights once downloaded (checked, never fetched)."""
    from torchvision.models import VGG19_Weights

    return Path(torch.hub.get_dir()) / "checkpoints" / Path(VGG19_Weights.IMAGENET1K_V1.url).name


class VGGFeatures(nn.Module):
    """Images in [-1, 1] (1 or 3 channels) -> VGG19 feature maps at ``layer`` (vgg22 or vgg54), frozen.
    Inputs are mapped to [0, 1] and normalised with the ImageNet mean and std, as VGG was trained."""

    def __init__(self, layer: str = "vgg54", weights_file: str | Path | None = None):
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        if layer not in LAYERS:
            raise GankitError(f"unknown VGG layer '{layer}'; choose one of: {', '.join(LAYERS)}")
        path = Path(weights_file) if weights_file is not None else vgg19_weights_file()
        if not path.is_file():
            raise GankitError(f"VGG19 weights not found at {path} (gankit never downloads them)")
        self.net = make_layers(cfgs["E"])[:LAYERS[layer] + 1]
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            wanted = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
            self.net.load_state_dict({k: wanted[k] for k in self.net.state_dict()})
        except Exception as e:  # a truncated or foreign file: say which, in one line
            raise GankitError(f"cannot load VGG19 weights from {path} ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from None
        self.layer, self.path = layer, path
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)  # frozen; the cut has no dropout or BN, so train/eval modes agree

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return self.net(((x + 1) / 2 - self.mean) / self.std)
