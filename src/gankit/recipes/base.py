"""The contract between a recipe (one GAN's algorithm) and the engine (the loop's mechanics)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn

from ..data import ImageData
from ..errors import GankitError
from ..losses import AdversarialTerms, loss_keys


@dataclass
class StepOut:
    """What one step of a recipe returns: a loss per player to minimise, and numbers to log."""
    losses: dict[str, Tensor]
    logs: dict[str, Tensor | float] = field(default_factory=dict)


@dataclass
class Phase:
    """One kind of update in an iteration.

    repeat: the schedule key giving how many times it runs per iteration ("n_d" or "n_g").
    batch: "new" draws a fresh batch, "same" reuses the previous phase's batch, "none" passes None.
    """
    name: str
    fn: Callable[[dict | None], StepOut]
    repeat: str = "n_d"
    batch: str = "new"


class Recipe:
    """Base class: holds config, data facts and device; subclasses build nets and define steps."""

    augments = False  # whether D's image inputs go through cfg.aug; a recipe that does not refuses --aug
    offers_loss = False  # whether cfg.loss chooses its adversarial terms (--loss); one that does not refuses the keys

    def __init__(self, cfg, data: ImageData, device: torch.device):
        self.cfg, self.data, self.device = cfg, data, torch.device(device)
        if cfg.aug.mode != "none" and not (self.augments and data.kind == "image"):
            from . import RECIPES, get_recipe_class

            what = f"recipe '{cfg.recipe}'" if not self.augments else f"{data.kind} data ('{cfg.data.name}')"
            users = ", ".join(r for r in RECIPES if get_recipe_class(r).augments)
            raise GankitError(f"--aug {cfg.aug.mode}: {what} has no augmentation of D's inputs; it is for images with "
                              f"{users} (use --aug none)")
        self.players: dict[str, list[nn.Module]] = {}
        self.nets: dict[str, nn.Module] = {}
        if not self.offers_loss:
            self.refuse_loss_choice()

    def refuse_unused(self, rules: dict[str, tuple[str, tuple]]) -> None:
        """Refuse a key this run would silently ignore. ``rules`` maps a dotted key to (gate key,
        values): the key is read only while the gate holds one of the values, so a change from the
        recipe's default while the gate is closed is a mistake (``model.g_widths`` on a dcgan)."""
        from ..config import recipe_defaults

        def get(tree, dotted):
            for part in dotted.split("."):
                tree = tree[part]
            return tree

        defaults = recipe_defaults(self.cfg.recipe)
        for key, (gate, values) in rules.items():
            if get(self.cfg, gate) not in values and get(self.cfg, key) != get(defaults, key):
                raise GankitError(f"config key '{key}' is used only with {gate} = {' or '.join(values)}, "
                                  f"not {get(self.cfg, gate)}; got {get(self.cfg, key)!r} (leave it at its default)")

    def adversarial_terms(self, pack: int = 1) -> AdversarialTerms:
        """The loss family and D's regularisers that cfg.loss names (for a recipe that offers --loss)."""
        from ..config import recipe_defaults

        return AdversarialTerms(self.cfg.loss, recipe_defaults(self.cfg.recipe)["loss"], pack)

    def refuse_loss_choice(self) -> None:
        """A recipe with its own adversarial loss refuses every key that would choose another one."""
        from ..config import recipe_defaults

        defaults = recipe_defaults(self.cfg.recipe).get("loss", {})
        for key in loss_keys():
            if key in defaults and self.cfg.loss[key] != defaults[key]:
                raise GankitError(f"config key 'loss.{key}': recipe '{self.cfg.recipe}' has its own adversarial loss"
                                  + (f" ({defaults['name']})" if "name" in defaults else "")
                                  + f" and does not read it; got {self.cfg.loss[key]!r} (leave it at its default)")

    # --- what the engine calls -------------------------------------------------------------
    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def generator(self) -> nn.Module:
        return self.nets["G"]

    def fixed_inputs(self, n: int) -> dict:
        """Inputs for the periodic sample grid, fixed for the whole run (own RNG, not the global one)."""
        g = torch.Generator().manual_seed(self.cfg.seed + 12345)
        return {"z": torch.randn(n, self.generator().z_dim, generator=g).to(self.device)}

    @torch.no_grad()
    def render(self, G: nn.Module, fixed: dict) -> Tensor:
        """Images in [-1, 1] (or points) for a sample grid."""
        return G(fixed["z"])

    @torch.no_grad()
    def sample(self, G: nn.Module, n: int, batch_size: int = 500) -> Tensor:
        """n unconditional samples on the CPU (for metrics and alarms)."""
        outs = []
        for i in range(0, n, batch_size):
            z = torch.randn(min(batch_size, n - i), G.z_dim, device=self.device)
            outs.append(G(z).float().cpu())
        return torch.cat(outs)

    def lr_scale(self, player: str) -> float:
        return 1.0

    def after_update(self, player: str) -> None:
        pass

    def evaluate(self, G: nn.Module) -> dict[str, float]:
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def run_files(self) -> dict[str, str]:
        """Files (name -> text) the recipe adds to the run directory when training starts (SGAN's labelled subset)."""
        return {}

    def batch_transform(self):
        return None

    def export(self, G: nn.Module, out_dir: str | Path) -> Path:
        return G.save_pretrained(out_dir)

    # --- helpers for subclasses ------------------------------------------------------------
    def noise(self, n: int) -> Tensor:
        return torch.randn(n, self.cfg.model.z_dim, device=self.device)

    def require_kind(self, *kinds: str) -> None:
        if self.data.kind not in kinds:
            raise GankitError(
                f"recipe '{self.cfg.recipe}' needs a dataset of kind {' or '.join(kinds)}, "
                f"but '{self.cfg.data.name}' is {self.data.kind}")

    def generator_meta(self, kind: str = "noise", **extra) -> dict:
        d = self.data
        meta = {"kind": kind, "recipe": self.cfg.recipe, "dataset": self.cfg.data.name,
                "image_size": d.image_size, "channels": d.channels}
        meta.update(extra)
        return meta
