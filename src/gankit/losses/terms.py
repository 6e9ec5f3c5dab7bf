"""The adversarial terms of a run, built from ``cfg.loss``: one loss family plus D's regularisers.

A recipe asks this object for D's and G's terms and never looks at the loss's name:
    loss.name   the family (losses/adversarial.py), with its parameters (e.g. loss.ls_a)
    loss.reg    regularisers added to D's loss, any family (losses/regularisers.py), e.g. [gp]
"""
from __future__ import annotations

from typing import Callable

from torch import Tensor, nn

from ..errors import GankitError
from .adversarial import LOSSES, get_loss
from .regularisers import REGULARISERS


def loss_keys() -> list[str]:
    """Every ``cfg.loss`` key the adversarial terms may read."""
    keys = ["name", "reg"] + [k for f in LOSSES.values() for k in f.keys] + [r.weight_key for r in REGULARISERS.values()]
    return list(dict.fromkeys(keys))


class AdversarialTerms:
    """D's loss, G's loss, D's regularisers and the after-update hook of one loss family."""

    def __init__(self, cfg_loss, defaults: dict | None = None, pack: int = 1):
        family = get_loss(cfg_loss.name)
        regs = list(cfg_loss.get("reg", []))
        for r in regs:
            if r not in REGULARISERS:
                raise GankitError(f"config key 'loss.reg' lists unknown regulariser '{r}'; choose from: "
                                  f"{', '.join(REGULARISERS)}")
        self.family = family(**{k: cfg_loss[k] for k in family.keys})
        self.regs = [REGULARISERS[r] for r in dict.fromkeys([*family.regs, *regs])]
        self.weights = {r.name: cfg_loss[r.weight_key] for r in self.regs}
        self.pack = pack
        if defaults is not None:
            self._refuse_unread(cfg_loss, defaults)

    def _refuse_unread(self, cfg_loss, defaults: dict) -> None:
        """A loss key this run would not read, changed from its default, is a mistake (loss.clip with lsgan)."""
        read = set(self.family.keys) | {r.weight_key for r in self.regs}
        for f in LOSSES.values():
            for k in f.keys:
                if k not in read and cfg_loss.get(k) != defaults.get(k):
                    raise GankitError(f"config key 'loss.{k}' is used only with loss.name = {f.name}, not "
                                      f"{self.family.name}; got {cfg_loss[k]!r} (leave it at its default)")
        for r in REGULARISERS.values():
            if r.weight_key not in read and cfg_loss.get(r.weight_key) != defaults.get(r.weight_key):
                adds = "".join(f" or loss.name = {f.name}" for f in LOSSES.values() if r.name in f.regs)
                raise GankitError(f"config key 'loss.{r.weight_key}' is used only with {r.name} in loss.reg{adds}, not "
                                  f"{self.family.name} alone; got {cfg_loss[r.weight_key]!r} (add it: --set loss.reg=[{r.name}])")

    @property
    def boundary(self) -> float | None:
        return self.family.boundary

    @property
    def g_sees_real(self) -> bool:
        return self.family.g_sees_real

    def d(self, real: Tensor, fake: Tensor) -> Tensor:
        """D's loss on its logits for a real and a fake batch."""
        return self.family.d(real, fake)

    def g(self, real: Tensor | None, fake: Tensor) -> Tensor:
        """G's loss on D's logits for a fake batch (and a real one, when ``g_sees_real``)."""
        return self.family.g(real, fake)

    def penalty(self, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> tuple[Tensor | float, dict]:
        """The weighted sum of D's regularisers on D's inputs, and each one unweighted for the log."""
        total, logs = 0.0, {}
        for r in self.regs:
            value = r.fn(critic, real, fake, self.pack)
            total = total + self.weights[r.name] * value
            logs[f"d/{r.log}"] = value.detach()
        return total, logs

    def after_update(self, player: str, D: nn.Module) -> None:
        if player == "D":
            self.family.after_d_update(D)
