"""Adversarial GANs with one G and one D: the vanilla GAN, DCGAN, and their loss variants
(LSGAN, WGAN, WGAN-GP, hinge, ...). The loss family is a config choice (losses/terms.py); the algorithm
is the same.

Algorithm (Goodfellow et al. 2014, Alg. 1), per iteration:
  for n_d steps:  x ~ data, z ~ N(0, I);  D <- D - lr * grad_D [L_D(D(aug(x)), D(aug(G(z)))) + D's regularisers]
                  then the family's after-update hook (WGAN: weights clipped to ±c)          [G frozen]
  for n_g steps:  z ~ N(0, I);            G <- G - lr * grad_G L_G(D(aug(x)), D(aug(G(z))))   [D frozen]
                  (D(aug(x)) on a fresh real batch only for a family whose G term reads it: RaGAN)
A conditional model (cgan) feeds the one-hot label y to both G and D; fake labels are drawn uniformly.
With ``model.pack`` = m > 1 (PacGAN, Lin et al. 2018) D judges m samples at once, concatenated along
channels (features for points), all real or all fake: D(aug(x_1) ⊕ ... ⊕ aug(x_m)).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import GankitError
from ..nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ..nets.mlp import MLPDiscriminator, MLPGenerator
from ..nets.uses import draw_z, z_prior_of
from ..metrics.d_stats import d_stats
from .base import Phase, Recipe, StepOut


def build_augment(cfg, channels: int):
    """The augmentation applied to every image D sees (None when off)."""
    if cfg.aug.mode == "none":
        return None
    from ..augment import build_augment as build

    return build(cfg.aug, channels)


# keys read only for one network family (see Recipe.refuse_unused; the loss family owns its own keys)
KEY_GATES = {**{f"model.{k}": ("model.arch", ("mlp",)) for k in ("g_widths", "g_act", "g_first_norm", "d_widths", "d_act")},
             **{f"model.{k}": ("model.arch", ("dcgan",)) for k in ("g_width", "d_width", "g_fc", "d_fc")}}


class AdversarialGAN(Recipe):
    conditional = False
    augments = True

    def __init__(self, cfg, data, device):
        super().__init__(cfg, data, device)
        m = cfg.model
        self.num_classes = data.num_classes if self.conditional else 0
        if self.conditional and (data.y is None or not self.num_classes):
            raise GankitError(f"recipe '{cfg.recipe}' needs labels; dataset '{cfg.data.name}' has none "
                              "(use class subfolders with image-folder)")
        self.refuse_unused(KEY_GATES)
        self.pack = m.pack
        if self.pack < 1 or cfg.train.batch_size % self.pack:
            raise GankitError(f"config key 'model.pack' must be >= 1 and divide train.batch_size "
                              f"({cfg.train.batch_size}), got {self.pack}")
        if self.pack > 1 and self.conditional:
            raise GankitError(f"model.pack={self.pack}: packing is for unconditional recipes, not '{cfg.recipe}'")
        G, D = self.build_nets(m)
        self.G = self.player("G", G, init=m.init, meta=self.generator_meta(
            "points" if data.kind == "points" else "noise", z_dim=m.z_dim, num_classes=self.num_classes,
            class_names=data.class_names if self.num_classes else None))
        self.D = self.player("D", D, init=m.init)
        self.adv = self.adversarial_terms(self.pack)
        self.boundary = self.adv.boundary
        if cfg.aug.mode == "ada" and self.boundary is None:
            raise GankitError(f"--aug ada steers p by r_t = E[sign(D(x_real))], which needs a loss with a decision "
                              f"boundary (bce, hinge, lsgan); a {cfg.loss.name} critic's scores shift freely by a "
                              "constant: use --aug fixed:P or --aug diffaug")
        self.aug = build_augment(cfg, data.channels)
        self.batch_size = cfg.train.batch_size
        self.d_uses_batch_stats = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.D.modules())

    def build_nets(self, m):
        d, k = self.data, self.num_classes
        if m.arch == "mlp":
            shape = (2,) if d.kind == "points" else (d.channels, d.image_size, d.image_size)
            out_act = "none" if d.kind == "points" else "tanh"
            G = MLPGenerator(m.z_dim, shape, m.g_widths, m.g_norm, m.g_first_norm, m.g_act, out_act, k)
            D = MLPDiscriminator((shape[0] * self.pack, *shape[1:]), m.d_widths, m.d_act, m.d_norm, 0.0, k, cond=m.d_cond)
        elif m.arch == "dcgan":
            self.require_kind("image")
            for key in ("g_fc", "d_fc"):
                if m[key] < 0:
                    raise GankitError(f"config key 'model.{key}' must be >= 0 (0 = no hidden FC layer), got {m[key]}")
            G = DCGANGenerator(m.z_dim, d.channels, d.image_size, m.g_width, k, m.g_norm, m.g_fc)
            D = DCGANDiscriminator(d.channels * self.pack, d.image_size, m.d_width, k, 1, m.d_norm, cond=m.d_cond, fc=m.d_fc)
        else:
            raise GankitError(f"config key 'model.arch' must be mlp or dcgan, got {m.arch!r}")
        return G, D

    # --- the algorithm -----------------------------------------------------------------------
    def phases(self):
        g_batch = "new" if self.conditional or self.adv.g_sees_real else "none"
        return [Phase("D", self.d_step, repeat="n_d", batch="new"), Phase("G", self.g_step, repeat="n_g", batch=g_batch)]

    def judge(self, x: Tensor, y: Tensor | None) -> Tensor:
        """D's logits on a batch: each sample augmented, then every m consecutive samples packed
        into one input (m = model.pack; one logit per pack)."""
        x = self.aug(x) if self.aug is not None else x
        if self.pack > 1:
            x = x.reshape(x.shape[0] // self.pack, x.shape[1] * self.pack, *x.shape[2:])
        return self.D(x, y)

    def fake_labels(self, n: int) -> Tensor | None:
        return torch.randint(self.num_classes, (n,), device=self.device) if self.num_classes else None

    def d_step(self, batch: dict) -> StepOut:
        real = batch["x"]
        y = batch["y"] if self.num_classes else None
        with torch.no_grad():
            fake = self.G(self.noise(real.shape[0]), y)
        real_logits, fake_logits = self.score_real_fake(real, fake, y)
        penalty, reg_logs = self.adv.penalty(lambda v: self.judge(v, y), real, fake)
        loss = self.adv.d(real_logits, fake_logits) + penalty
        logs = {**d_stats(real_logits, fake_logits, self.boundary), **reg_logs}
        if self.aug is not None:
            self.aug.observe(real_logits, self.boundary or 0.0)
            logs["aug/p"] = self.aug.p
        return StepOut.judged({"D": loss}, logs)

    def score_real_fake(self, real: Tensor, fake: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor]:
        """D's logits on a real and a fake batch. A D without batch statistics gives the same
        numbers for one concatenated batch, and one larger matrix product is faster."""
        if self.d_uses_batch_stats:
            return self.judge(real, y), self.judge(fake, y)
        both = self.judge(torch.cat([real, fake]), None if y is None else torch.cat([y, y]))
        return both.chunk(2)

    def g_step(self, batch: dict | None) -> StepOut:
        n = self.batch_size
        y = self.fake_labels(n) if batch is None else batch.get("y") if self.num_classes else None
        fake = self.G(self.noise(n), y)
        real_logits = None
        if self.adv.g_sees_real:  # a constant of G's step: no gradient flows through D(x_real)
            with torch.no_grad():
                real_logits = self.judge(batch["x"], y)
        return StepOut({"G": self.adv.g(real_logits, self.judge(fake, y))})

    def after_update(self, player: str) -> None:
        self.adv.after_update(player, self.D)

    # --- sampling ----------------------------------------------------------------------------
    def fixed_inputs(self, n: int) -> dict:
        fixed = super().fixed_inputs(n)
        if self.num_classes:  # classes 0..K-1 along each row
            fixed["y"] = (torch.arange(n) % self.num_classes).to(self.device)
        return fixed

    def grid_nrow(self, fixed: dict) -> int | None:
        return self.num_classes or None  # a conditional grid: one column per class

    @torch.no_grad()
    def render(self, G, fixed: dict) -> Tensor:
        return G(fixed["z"], fixed.get("y"))

    @torch.no_grad()
    def sample(self, G, n: int, batch_size: int = 500) -> Tensor:
        outs = []
        for i in range(0, n, batch_size):
            b = min(batch_size, n - i)
            y = torch.arange(i, i + b, device=self.device) % self.num_classes if self.num_classes else None
            outs.append(G(draw_z(b, G.z_dim, z_prior_of(G), device=self.device), y).float().cpu())
        return torch.cat(outs)

    def state_dict(self) -> dict:
        return {"aug": self.aug.state_dict()} if self.aug is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.aug is not None and "aug" in state:
            self.aug.load_state_dict(state["aug"])
