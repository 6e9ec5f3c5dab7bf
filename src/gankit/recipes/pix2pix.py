"""pix2pix: paired image-to-image translation with a conditional GAN (Isola et al. 2017).

Algorithm, per iteration (x: input, y: target, both jittered alike):
  D step:  L_D = 1/2 L_D^adv(D(x, y), D(x, G(x))) + D's regularisers    (D sees (input, image) pairs)
  G step:  L_G = w_gan · L_G^adv(D(x, y), D(x, G(x))) + λ · ||y - G(x)||_1,  λ = 100
The adversarial terms are cfg.loss's family (the paper's: bce, non-saturating G; any other with --loss).
G's only noise is dropout, on at training and test time. Ablations: loss.gan_weight=0 (L1 only),
loss.l1_weight=0 (cGAN only), model.g_arch=encdec (no skips), model.d_layers=0/1/3/5 (1/16/70/286 px).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..data.translation import eval_split, jitter
from ..errors import GankitError
from ..losses import l1
from ..nets.translation import PatchDiscriminator, UNetGenerator
from ..metrics.d_stats import d_stats
from .base import Phase, Recipe, StepOut


class TranslationRecipe(Recipe):
    """What pix2pix and CycleGAN share: jittered batches, a held-out split for evaluation and
    sample strips (input row, output row, target row), and export as a "translate" generator."""

    kinds: tuple[str, ...] = ("paired",)

    def __init__(self, cfg, data, device):
        super().__init__(cfg, data, device)
        self.require_kind(*self.kinds)
        d = cfg.data
        if d.crop_size > d.load_size:
            raise GankitError(f"data.crop_size ({d.crop_size}) must be <= data.load_size ({d.load_size})")
        self._val = None

    def batch_transform(self):
        d = self.cfg.data
        return jitter(d.load_size, d.crop_size, d.flip)

    def val_data(self):
        """The held-out split at crop size (loaded once, on first use)."""
        if self._val is None:
            self._val = eval_split(self.cfg.data, self.cfg.seed)
        return self._val

    def val_batch(self, n: int, source: str = "x") -> Tensor:
        x = getattr(self.val_data(), source)[:n]
        return (x.float() / 127.5 - 1).to(self.device)

    def fixed_inputs(self, n: int) -> dict:
        n = min(n, 8, len(self.val_data()), self.val_data().x_b.shape[0])
        return {"x": self.val_batch(n), "x_b": self.val_batch(n, "x_b")}

    def grid_nrow(self, fixed: dict) -> int | None:
        return len(fixed["x"])  # one row each of inputs, outputs, targets

    @torch.no_grad()
    def translate(self, G: nn.Module, x: Tensor, batch_size: int = 16) -> Tensor:
        return torch.cat([G(x[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)])

    @torch.no_grad()
    def render(self, G, fixed: dict) -> Tensor:
        return torch.cat([fixed["x"], self.translate(G, fixed["x"]), fixed["x_b"]])

    @torch.no_grad()
    def sample(self, G, n: int, batch_size: int = 16) -> Tensor:
        """Translations of the first n held-out inputs (for FID against the target domain)."""
        return self.translate(G, self.val_batch(n), batch_size).float().cpu()

    def translate_meta(self, **extra) -> dict:
        d = self.cfg.data
        return self.generator_meta("translate", image_size=d.crop_size, direction=d.direction, **extra)


class Pix2Pix(TranslationRecipe):

    def __init__(self, cfg, data, device):
        super().__init__(cfg, data, device)
        m, c = cfg.model, data.channels
        num_downs = m.num_downs or int(math.log2(cfg.data.crop_size))
        if m.g_arch not in ("unet", "encdec"):
            raise GankitError(f"config key 'model.g_arch' must be unet or encdec, got {m.g_arch!r}")
        if m.d_layers < 0:
            raise GankitError(f"config key 'model.d_layers' must be >= 0 (0/1/3/5 = 1/16/70/286 px), got {m.d_layers}")
        self.G = self.player("G", UNetGenerator(c, data.x_b.shape[1], num_downs, m.ngf, m.norm, m.dropout,
                                                skips=m.g_arch == "unet"), init=m.init, meta=self.translate_meta(
            note="dropout stays active at test time (the paper's only noise source): outputs vary between runs"))
        self.D = self.player("D", PatchDiscriminator(c + data.x_b.shape[1], m.ndf, m.d_layers, m.norm), init=m.init)
        self.adv = self.adversarial_terms()
        self.gan_w, self.l1_w = cfg.loss.gan_weight, cfg.loss.l1_weight

    def phases(self):
        g = Phase("G", self.g_step, repeat="n_g", batch="same" if self.gan_w > 0 else "new")
        return [Phase("D", self.d_step, repeat="n_d", batch="new"), g] if self.gan_w > 0 else [g]

    def d_step(self, batch: dict) -> StepOut:
        """Also hands G's output, graph kept, to the G step that follows: one G forward per
        iteration, as the reference implementation's (G is not updated in between)."""
        x, y = batch["x"], batch["x_b"]
        fake = self.G(x)
        real_in, fake_in = torch.cat([x, y], 1), torch.cat([x, fake.detach()], 1)
        real_logits, fake_logits = self.D(real_in), self.D(fake_in)
        penalty, reg_logs = self.adv.penalty(self.D, real_in, fake_in)
        loss = 0.5 * self.adv.d(real_logits, fake_logits) + penalty  # halved: D learns slower than G (§3.3)
        out = StepOut.judged({"D": loss}, {**d_stats(real_logits, fake_logits, self.adv.boundary), **reg_logs})
        out.carry["fake"] = fake
        return out

    def g_step(self, batch: dict) -> StepOut:
        """Uses the D step's G(x) once; a repeat (train.n_g > 1), or a run without D, computes its own."""
        x, y = batch["x"], batch["x_b"]
        fake = batch.get("fake")
        if fake is None:
            fake = self.G(x)
        rec = l1(fake, y)
        loss = self.l1_w * rec
        logs = {"g/l1": rec.detach()}
        if self.gan_w > 0:
            real_logits = None
            if self.adv.g_sees_real:  # a constant of G's step
                with torch.no_grad():
                    real_logits = self.D(torch.cat([x, y], 1))
            adv = self.adv.g(real_logits, self.D(torch.cat([x, fake], 1)))
            loss = loss + self.gan_w * adv
            logs["g/gan"] = adv.detach()
        return StepOut({"G": loss}, logs, carry={"fake": None})  # spent: its graph is freed by this backward

    def after_update(self, player: str) -> None:
        self.adv.after_update(player, self.D)

    @torch.no_grad()
    def evaluate(self, G) -> dict[str, float]:
        """Mean L1 (in [-1, 1] units) between outputs and targets on the first eval.n held-out pairs."""
        n = min(self.cfg.eval.n, len(self.val_data()))
        return {"val_l1": float(l1(self.translate(G, self.val_batch(n)), self.val_batch(n, "x_b")))}
