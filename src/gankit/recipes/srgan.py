"""SRResNet and SRGAN: x4 single-image super-resolution (Ledig et al. 2017).

Data: random HR crops of any image dataset; LR inputs = bicubic (antialiased) downscaling by
``model.scale`` (``gankit.data.sr``). Held-out numbers use whole images of ``data.eval_split``.

SRResNet, per iteration:   L_G = l_MSE = mean (I_HR - G(I_LR))²                              (eq. 4)
SRGAN, per iteration (G initialised from a trained SRResNet, ``model.init_from``):
  D step:  L_D = -log D(I_HR) - log(1 - D(G(I_LR)))
  G step:  L_G = l_content + 10⁻³ · (-log D(G(I_LR)))                              (eq. 3, non-saturating)
  l_content = feature MSE of a frozen ImageNet VGG19 (VGG54, eq. 5) when torchvision's weights are in
  the local torch hub cache, else pixel MSE: the paper's own SRGAN-MSE variant (Table 2). gankit never
  downloads weights. The FID Inception network is not used as a fallback feature space because FID
  is how SRGAN is judged here: a G trained to match those features would be graded by its own loss.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from ..data.sr import bicubic_up, sr_crops, sr_pairs
from ..errors import GankitError
from ..losses import d_bce, g_bce_nonsaturating
from ..losses.content import feature_mse, pixel_mse
from ..metrics.paired import paired_metrics
from ..nets import init_weights, load_pretrained
from ..nets import sr as srnets
from ..nets.vgg import LAYERS, VGGFeatures, vgg19_weights_file
from ..metrics.d_stats import d_stats
from .base import Phase, Recipe, StepOut

CONTENT_CHOICES = ("auto", "mse", *LAYERS)


def content_network(choice: str) -> tuple[nn.Module | None, str]:
    """The content loss's feature network (None: pixel MSE) and a label saying which was chosen.
    ``auto`` takes VGG54 when the VGG19 weights file is present locally, else pixel MSE, with a warning."""
    if choice not in CONTENT_CHOICES:
        raise GankitError(f"config key 'loss.content' must be one of {', '.join(CONTENT_CHOICES)}, got {choice!r}")
    if choice == "mse":
        return None, "pixel MSE (SRGAN-MSE)"
    path = vgg19_weights_file()
    if choice == "auto":
        if not path.is_file():
            warnings.warn(f"VGG19 weights not found at {path}: SRGAN's content loss is pixel MSE (the paper's "
                          "SRGAN-MSE). Put torchvision's vgg19-dcbb9e9d.pth there for VGG54.", stacklevel=2)
            return None, "pixel MSE (SRGAN-MSE; VGG19 weights absent)"
        choice = "vgg54"
    if not path.is_file():
        raise GankitError(f"loss.content={choice} needs torchvision's VGG19 weights at {path} (gankit never "
                          "downloads them); place the file there or set loss.content=mse")
    return VGGFeatures(choice, path), f"{choice.upper()} (VGG19 features, {path.name})"


def resolve_generator_dir(path: str | Path) -> Path:
    """A run directory (its ``generator/``) or an exported generator directory."""
    p = Path(path)
    if (p / "config.yaml").is_file() and (p / "generator" / "config.json").is_file():
        return p / "generator"
    if (p / "config.json").is_file():
        return p
    raise GankitError(f"model.init_from={path}: not an exported generator directory nor a run directory "
                      "with generator/ (train `srresnet` first, or `gankit export RUN DIR`)")


class SRRecipe(Recipe):
    """What SRResNet and SRGAN share: HR crops -> LR batches, held-out whole images for evaluation and
    sample strips (bicubic, output, HR), and export as an "upscale" generator."""

    def __init__(self, cfg, data, device):
        super().__init__(cfg, data, device)
        self.require_kind("image", "paired", "unpaired")
        self.scale, d = cfg.model.scale, cfg.data
        h, w = data.x.shape[-2:]
        if d.crop_size > min(h, w):
            raise GankitError(f"config key 'data.crop_size' ({d.crop_size}) exceeds the images ({w}x{h} px)")
        self.transform = sr_crops(d.crop_size, self.scale, d.flip)  # validates crop_size vs scale
        self._val: tuple[Tensor, Tensor] | None = None
        self._bicubic: dict[str, float] | None = None

    def new_generator(self) -> nn.Module:
        m = self.cfg.model
        return init_weights(srnets.SRResNet(self.data.channels, m.ngf, m.n_blocks, self.scale), m.init)

    def upscale_meta(self, **extra) -> dict:
        d = self.cfg.data
        return self.generator_meta("upscale", scale=self.scale, image_size=d.crop_size // self.scale,
                                   hr_crop_size=d.crop_size, load_size=d.get("load_size"), **extra)

    def batch_transform(self):
        return self.transform

    def val_pairs(self) -> tuple[Tensor, Tensor]:
        """(LR, HR) of the held-out split's whole images, float [-1, 1] on the CPU (loaded once)."""
        if self._val is None:
            from ..config import Config
            from ..data import build_dataset, to_float

            d = self.cfg.data.to_dict()
            if d.get("eval_root"):
                d["root"] = d["eval_root"]
            elif d["name"] == "image-folder":
                warnings.warn("image-folder has no held-out split: SR evaluation uses the training images; "
                              "set data.eval_root to a folder of other images", stacklevel=2)
            d.update(split=d["eval_split"], limit=None)
            lr, hr = sr_pairs(build_dataset(Config.wrap(d), self.cfg.seed).x, self.scale)
            self._val = to_float(lr), to_float(hr)
        return self._val

    @torch.no_grad()
    def upscale(self, G: nn.Module, lr: Tensor, batch_size: int = 8) -> Tensor:
        return torch.cat([G(lr[i:i + batch_size].to(self.device)).float().cpu() for i in range(0, len(lr), batch_size)])

    def fixed_inputs(self, n: int) -> dict:
        lr, hr = self.val_pairs()
        n = min(n, 8, len(lr))
        return {"x": lr[:n], "x_b": hr[:n]}

    def grid_nrow(self, fixed: dict) -> int | None:
        return len(fixed["x"])  # one row each of bicubic inputs, outputs, targets

    @torch.no_grad()
    def render(self, G, fixed: dict) -> Tensor:
        """Rows: bicubic upscaling of the LR input, G's output, the HR image."""
        return torch.cat([bicubic_up(fixed["x"], self.scale), self.upscale(G, fixed["x"]), fixed["x_b"]])

    @torch.no_grad()
    def sample(self, G, n: int, batch_size: int = 8) -> Tensor:
        """G's outputs for the first n held-out LR images (for FID against HR images)."""
        return self.upscale(G, self.val_pairs()[0][:n], batch_size)

    @torch.no_grad()
    def evaluate(self, G) -> dict[str, float]:
        """PSNR/SSIM (RGB, [0, 1] range, whole images) of G and of bicubic upscaling on the first
        eval.n held-out images."""
        lr, hr = self.val_pairs()
        n = min(self.cfg.eval.n, len(lr))
        if self._bicubic is None or self._bicubic["n"] != n:
            self._bicubic = {"n": n, **paired_metrics(bicubic_up(lr[:n], self.scale), hr[:n])}
        got = paired_metrics(self.upscale(G, lr[:n]), hr[:n])
        return {"val_psnr": got["psnr"], "val_ssim": got["ssim"],
                "bicubic_psnr": self._bicubic["psnr"], "bicubic_ssim": self._bicubic["ssim"]}


def _psnr(mse: Tensor) -> float:
    """PSNR in dB of an MSE measured on [-1, 1] images (peak-to-peak 2)."""
    return 10 * math.log10(4 / max(float(mse), 1e-12))


class SRResNet(SRRecipe):
    def __init__(self, cfg, data, device):
        super().__init__(cfg, data, device)
        self.G = self.player("G", self.new_generator(), meta=self.upscale_meta(loss="pixel MSE"))

    def phases(self):
        return [Phase("G", self.g_step, repeat="n_g", batch="new")]

    def g_step(self, batch: dict) -> StepOut:
        mse = pixel_mse(self.G(batch["x"]), batch["x_b"])
        return StepOut({"G": mse}, {"g/mse": mse.detach(), "g/psnr": _psnr(mse.detach())})


class SRGAN(SRRecipe):
    def __init__(self, cfg, data, device):
        super().__init__(cfg, data, device)
        m, lo = cfg.model, cfg.loss
        G, init_note = self._initial_generator(m.get("init_from"))
        self.D = self.player("D", srnets.SRGANDiscriminator(data.channels, m.ndf), init=m.init)
        content_net, label = content_network(lo.content)
        self.content_net = content_net.to(self.device) if content_net is not None else None
        self.adv_w, self.rescale = lo.adv_weight, lo.feature_rescale
        self.G = self.player("G", G, meta=self.upscale_meta(loss=f"{label} + {self.adv_w:g} x adversarial",
                                                            init_from=init_note))

    def _initial_generator(self, init_from) -> tuple[nn.Module, str | None]:
        """G starts from a trained SRResNet (its architecture included) when ``model.init_from`` names
        one; otherwise from scratch, with a warning: the paper initialises from SRResNet to avoid
        undesired local optima, and a practitioner who forgot the key should hear about it."""
        if not init_from:
            warnings.warn("SRGAN: model.init_from is not set, so G trains from scratch; Ledig et al. start from a "
                          "trained SRResNet (train `srresnet`, then --set model.init_from=RUN_DIR)", stacklevel=3)
            return self.new_generator(), None
        src = resolve_generator_dir(init_from)
        G = load_pretrained(src, expect=srnets.SRResNet)
        if G.scale != self.scale or G.channels != self.data.channels:
            raise GankitError(f"model.init_from={init_from}: that generator is x{G.scale} with {G.channels} channels; "
                              f"this run needs x{self.scale} with {self.data.channels}")
        return G.train(), str(src)

    def phases(self):
        return [Phase("D", self.d_step, repeat="n_d", batch="new"), Phase("G", self.g_step, repeat="n_g", batch="same")]

    def d_step(self, batch: dict) -> StepOut:
        with torch.no_grad():
            sr = self.G(batch["x"])
        real, fake = self.D(batch["x_b"]), self.D(sr)
        return StepOut.judged({"D": d_bce(real, fake)}, d_stats(real, fake))

    def content(self, sr: Tensor, hr: Tensor) -> Tensor:
        if self.content_net is None:
            return pixel_mse(sr, hr)
        return feature_mse(self.content_net(sr), self.content_net(hr), self.rescale)

    def g_step(self, batch: dict) -> StepOut:
        sr, hr = self.G(batch["x"]), batch["x_b"]
        content, adv = self.content(sr, hr), g_bce_nonsaturating(self.D(sr))
        mse = pixel_mse(sr.detach(), hr)
        return StepOut({"G": content + self.adv_w * adv},
                       {"g/content": content.detach(), "g/adv": adv.detach(), "g/psnr": _psnr(mse)})
