"""BEGAN: boundary equilibrium GAN (Berthelot et al. 2017; SPEC §8).

D is an auto-encoder and L(v) = mean |v - D(v)|. Per iteration, with one fake batch G(z):
  L_D = L(x) - k_t L(G(z))        (D: reconstruct reals well, fakes badly, weighted by k_t)
  L_G = L(G(z))                   (G: make images D reconstructs well)
  k_{t+1} = clip(k_t + λ_k (γ L(x) - L(G(z))), 0, 1),  k_0 = 0
  M_global = L(x) + |γ L(x) - L(G(z))|   (convergence measure, logged every step)
D and G are updated simultaneously (one phase carrying both losses); the learning rate is halved
when M_global's mean over ``model.lr_patience`` iterations stalls, as in the paper's setup.
"""
from __future__ import annotations

import torch

from ..losses import l1
from ..nets.began import BEGANDiscriminator, BEGANGenerator
from .base import Phase, Recipe, StepOut


class BEGAN(Recipe):
    def __init__(self, cfg, data, device):
        super().__init__(cfg, data, device)
        self.require_kind("image")
        m = cfg.model
        self.G = self.player("G", BEGANGenerator(m.z_dim, m.g_n, data.channels, data.image_size, m.skip), init=m.init,
                             meta=self.generator_meta("noise", z_dim=m.z_dim, num_classes=0, class_names=None))
        self.D = self.player("D", BEGANDiscriminator(m.h, m.d_n, data.channels, data.image_size, m.skip), init=m.init)
        self.k = 0.0
        self.lr_factor = 1.0
        self.prev_mean, self.window_sum, self.window_n = float("inf"), 0.0, 0

    def phases(self):
        return [Phase("D+G", self.step, repeat="n_d", batch="new")]

    def step(self, batch: dict) -> StepOut:
        m = self.cfg.model
        x = batch["x"]
        fake = self.G(self.noise(x.shape[0]))
        # one pass of D over reals and fakes together: the engine takes each player's loss gradient
        # with respect to its own weights only, so L(G(z)) serves as D's term and as G's loss
        rec_real, rec_fake = self.D(torch.cat([x, fake])).split(len(x))
        loss_real, loss_fake = l1(rec_real, x), l1(rec_fake, fake)
        loss_d = loss_real - self.k * loss_fake
        balance = m.gamma * loss_real.item() - loss_fake.item()
        m_global = loss_real.item() + abs(balance)
        self.k = min(max(self.k + m.lambda_k * balance, 0.0), 1.0)
        self._track(m_global)
        return StepOut({"D": loss_d, "G": loss_fake},
                       {"began/k": self.k, "began/M_global": m_global, "began/L_real": loss_real.item(),
                        "began/L_fake": loss_fake.item()})

    def _track(self, m_global: float) -> None:
        """Halve the learning rate when M_global stalls: every ``lr_patience`` iterations, when the
        window's mean M_global is not at least 1% below the previous window's. Means, not the best
        single value: one lucky batch would otherwise stand as the record and halve the rate early."""
        self.window_sum += m_global
        self.window_n += 1
        if self.window_n < self.cfg.model.lr_patience:
            return
        mean = self.window_sum / self.window_n
        if mean > 0.99 * self.prev_mean:
            self.lr_factor *= 0.5
        self.prev_mean, self.window_sum, self.window_n = mean, 0.0, 0

    def lr_scale(self, player: str) -> float:
        return self.lr_factor

    def state_dict(self) -> dict:
        return {"k": self.k, "lr_factor": self.lr_factor, "prev_mean": self.prev_mean, "window_sum": self.window_sum,
                "window_n": self.window_n}

    def load_state_dict(self, s: dict) -> None:
        self.k, self.lr_factor = float(s["k"]), float(s["lr_factor"])
        self.prev_mean, self.window_sum, self.window_n = float(s["prev_mean"]), float(s["window_sum"]), int(s["window_n"])
