"""BEGAN: boundary equilibrium GAN (Berthelot et al. 2017; SPEC §8).

D is an auto-encoder and L(v) = mean |v - D(v)|. Per iteration, with one fake batch G(z):
  L_D = L(x) - k_t L(G(z))        (D: reconstruct reals well, fakes badly, weighted by k_t)
  L_G = L(G(z))                   (G: make images D reconstructs well)
  k_{t+1} = clip(k_t + λ_k (γ L(x) - L(G(z))), 0, 1),  k_0 = 0
  M_global = L(x) + |γ L(x) - L(G(z))|   (convergence measure, logged every step)
D and G are updated simultaneously (one phase carrying both losses); the learning rate is halved
when M_global has not improved for ``model.lr_patience`` iterations.
"""
from __future__ import annotations

import torch

from ..losses import l1
from ..nets import init_weights
from ..nets.began import BEGANDiscriminator, BEGANGenerator
from .base import Phase, Recipe, StepOut


class BEGAN(Recipe):
    def __init__(self, cfg, data, device):
        super().__init__(cfg, data, device)
        self.require_kind("image")
        m = cfg.model
        self.G = init_weights(BEGANGenerator(m.z_dim, m.g_n, data.channels, data.image_size), m.init).to(self.device)
        self.D = init_weights(BEGANDiscriminator(m.h, m.d_n, data.channels, data.image_size), m.init).to(self.device)
        self.G.meta = self.generator_meta("noise", z_dim=m.z_dim, num_classes=0, class_names=None)
        self.nets = {"G": self.G, "D": self.D}
        self.players = {"D": [self.D], "G": [self.G]}
        self.k = 0.0
        self.lr_factor = 1.0
        self.best_m, self.since_best = float("inf"), 0

    def phases(self):
        return [Phase("D+G", self.step, repeat="n_d", batch="new")]

    @staticmethod
    def reconstruction_loss(D, v: torch.Tensor) -> torch.Tensor:
        """L(v) = mean |v - D(v)|."""
        return l1(D(v), v)

    def step(self, batch: dict) -> StepOut:
        m = self.cfg.model
        x = batch["x"]
        fake = self.G(self.noise(x.shape[0]))
        loss_real = self.reconstruction_loss(self.D, x)
        loss_fake_d = self.reconstruction_loss(self.D, fake.detach())
        loss_fake_g = self.reconstruction_loss(self.D, fake)
        loss_d = loss_real - self.k * loss_fake_d
        balance = m.gamma * loss_real.item() - loss_fake_g.item()
        m_global = loss_real.item() + abs(balance)
        self.k = min(max(self.k + m.lambda_k * balance, 0.0), 1.0)
        self._track(m_global)
        return StepOut({"D": loss_d, "G": loss_fake_g},
                       {"began/k": self.k, "began/M_global": m_global, "began/L_real": loss_real.item(),
                        "began/L_fake": loss_fake_g.item()})

    def _track(self, m_global: float) -> None:
        """Halve the learning rate when M_global has stalled for lr_patience iterations."""
        if m_global < self.best_m:
            self.best_m, self.since_best = m_global, 0
            return
        self.since_best += 1
        if self.since_best >= self.cfg.model.lr_patience:
            self.lr_factor *= 0.5
            self.best_m, self.since_best = m_global, 0

    def lr_scale(self, player: str) -> float:
        return self.lr_factor

    def state_dict(self) -> dict:
        return {"k": self.k, "lr_factor": self.lr_factor, "best_m": self.best_m, "since_best": self.since_best}

    def load_state_dict(self, s: dict) -> None:
        self.k, self.lr_factor = float(s["k"]), float(s["lr_factor"])
        self.best_m, self.since_best = float(s["best_m"]), int(s["since_best"])
