"""CycleGAN: unpaired translation with cycle consistency (Zhu et al. 2017).

Algorithm, per iteration (a from domain A, b from domain B, drawn independently):
  G step (G: A->B and F: B->A together):
      L = (D_B(G(a)) - 1)^2 + (D_A(F(b)) - 1)^2                          least-squares adversarial (eq. 1)
        + λ (||F(G(a)) - a||_1 + ||G(F(b)) - b||_1)                       cycle consistency, λ = 10 (eq. 2)
        + w_idt λ (||F(a) - a||_1 + ||G(b) - b||_1)                       identity, w_idt = 0.5 (§5.2)
  D step: D_B on b vs. a history pool of 50 G(a); D_A on a vs. a pool of 50 F(b);
      L_D = 1/2 (D(real) - 1)^2 + 1/2 D(fake)^2                           (Shrivastava et al. 2017 pool)
Learning rate constant for optim.decay_start iterations, then linearly to 0.
Ablations: loss.cycle_weight=0 (adversarial only), loss.gan_weight=0 (cycle only), loss.identity_weight=0.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ..errors import GankitError
from ..losses import cycle_loss, d_lsgan, g_lsgan, identity_loss, l1
from ..nets.translation import CycleGANPair, PatchDiscriminator
from ..metrics.d_stats import d_stats
from .base import Phase, StepOut
from .pix2pix import TranslationRecipe


class ImagePool:
    """A history of generated images (Shrivastava et al. 2017). Until full, each new image is stored
    and returned; then with probability 1/2 a random stored image is returned and replaced by the new
    one, else the new image is returned. D thus also sees older generators' output."""

    def __init__(self, size: int):
        self.size = size
        self.images: list[Tensor] = []

    def query(self, batch: Tensor) -> Tensor:
        if self.size == 0:
            return batch
        out = []
        for img in batch.detach():
            if len(self.images) < self.size:
                self.images.append(img)
                out.append(img)
            elif float(torch.rand(())) < 0.5:
                k = int(torch.randint(self.size, ()))
                out.append(self.images[k])
                self.images[k] = img
            else:
                out.append(img)
        return torch.stack(out)

    def state_dict(self) -> dict:
        return {"images": [i.cpu() for i in self.images]}

    def load_state_dict(self, s: dict, device) -> None:
        self.images = [i.to(device) for i in s["images"]]


class CycleGAN(TranslationRecipe):
    kinds = ("unpaired", "paired")

    def __init__(self, cfg, data, device):
        super().__init__(cfg, data, device)
        m, c = cfg.model, data.channels
        if data.x_b.shape[1] != c:
            raise GankitError(f"CycleGAN needs both domains with the same channels ({c} vs {data.x_b.shape[1]})")
        self.pair = self.player("G", CycleGANPair(c, m.ngf, m.n_blocks, m.norm), init=m.init,
                                meta=self.translate_meta(directions=["AtoB", "BtoA"]))
        self.G, self.F = self.pair.G, self.pair.F
        self.D_A, self.D_B = (self.player("D", PatchDiscriminator(c, m.ndf, m.d_layers, m.norm), key=key, init=m.init)
                              for key in ("D_A", "D_B"))
        lo = cfg.loss
        self.lam, self.gan_w, self.idt_w = lo.cycle_weight, lo.gan_weight, lo.identity_weight
        self.pool_a, self.pool_b = ImagePool(m.pool_size), ImagePool(m.pool_size)

    def generator(self):
        return self.pair

    def phases(self):
        g = Phase("G", self.g_step, repeat="n_g", batch="new")
        return [g, Phase("D", self.d_step, repeat="n_d", batch="same")] if self.gan_w > 0 else [g]

    def g_step(self, batch: dict) -> StepOut:
        a, b = batch["x"], batch["x_b"]
        fake_b, fake_a = self.G(a), self.F(b)
        rec_a, rec_b = self.F(fake_b), self.G(fake_a)
        cyc = cycle_loss(a, rec_a, b, rec_b)
        loss = self.lam * cyc
        logs = {"cycle/l1": cyc.detach() / 2}
        if self.gan_w > 0:
            # Zhu et al. write (D(G(x)) - 1)^2 without LSGAN's 1/2: hence 2 * g_lsgan
            adv = 2 * (g_lsgan(self.D_B(fake_b)) + g_lsgan(self.D_A(fake_a)))
            loss = loss + self.gan_w * adv
            logs["g/gan"] = adv.detach()
        if self.idt_w > 0:
            idt = identity_loss(a, self.F(a), b, self.G(b))
            loss = loss + self.idt_w * self.lam * idt
            logs["g/identity"] = idt.detach()
        return StepOut({"G": loss}, logs, carry={"fake_a": fake_a.detach(), "fake_b": fake_b.detach()})

    def d_step(self, batch: dict) -> StepOut:
        a, b = batch["x"], batch["x_b"]
        fake_a, fake_b = self.pool_a.query(batch["fake_a"]), self.pool_b.query(batch["fake_b"])
        real_b, fake_b_logits = self.D_B(b), self.D_B(fake_b)
        real_a, fake_a_logits = self.D_A(a), self.D_A(fake_a)
        loss = d_lsgan(real_b, fake_b_logits) + d_lsgan(real_a, fake_a_logits)
        # LSGAN targets 0 (fake) and 1 (real): a verdict is the nearer target
        logs = d_stats(torch.cat([real_a, real_b]), torch.cat([fake_a_logits, fake_b_logits]), boundary=0.5)
        return StepOut.judged({"D": loss}, logs)

    # --- evaluation and samples: A -> B on held-out images -------------------------------------
    @torch.no_grad()
    def render(self, G, fixed: dict) -> Tensor:
        """Rows: A, G(A), F(G(A)), B, F(B), G(F(B))."""
        fa, fb = G(fixed["x"], "AtoB"), G(fixed["x_b"], "BtoA")
        return torch.cat([fixed["x"], fa, G(fa, "BtoA"), fixed["x_b"], fb, G(fb, "AtoB")])

    @torch.no_grad()
    def translate(self, G, x: Tensor, batch_size: int = 16, direction: str = "AtoB") -> Tensor:
        return torch.cat([G(x[i:i + batch_size], direction) for i in range(0, x.shape[0], batch_size)])

    @torch.no_grad()
    def evaluate(self, G) -> dict[str, float]:
        """Cycle-reconstruction L1 on held-out images of both domains (lower is better)."""
        v = self.val_data()
        n = min(self.cfg.eval.n, len(v), v.x_b.shape[0])
        a, b = self.val_batch(n), self.val_batch(n, "x_b")
        rec_a = self.translate(G, self.translate(G, a), direction="BtoA")
        rec_b = self.translate(G, self.translate(G, b, direction="BtoA"))
        return {"val_cycle_l1": float(l1(rec_a, a) + l1(rec_b, b)) / 2}

    def state_dict(self) -> dict:
        return {"pool_a": self.pool_a.state_dict(), "pool_b": self.pool_b.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if "pool_a" in state:
            self.pool_a.load_state_dict(state["pool_a"], self.device)
            self.pool_b.load_state_dict(state["pool_b"], self.device)
