"""The contract between a recipe (one GAN's algorithm) and the engine (the loop's mechanics)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn

from ..config import recipe_defaults, recipe_entry
from ..data import ImageData
from ..errors import GankitError
from ..losses import AdversarialTerms, loss_keys
from ..nets import init_weights
from ..nets.uses import draw_z, z_prior_of


@dataclass
class StepOut:
    """What one step of a recipe returns: a loss per player to minimise, numbers to log, the
    statistic that feeds r_t (E[sign(D(x_real) - boundary)] of this batch; None when D has no
    decision boundary or the phase judges no real batch), and tensors handed to the next phase,
    which receives them in its batch (CycleGAN's D judges the fakes its G step made)."""
    losses: dict[str, Tensor]
    logs: dict[str, Tensor | float] = field(default_factory=dict)
    rt: Tensor | float | None = None
    carry: dict[str, Tensor] = field(default_factory=dict)

    @classmethod
    def judged(cls, losses: dict[str, Tensor], logs: dict) -> "StepOut":
        """A D step's output whose logs hold metrics.d_stats' numbers: their d/sign_real feeds r_t."""
        return cls(losses, logs, rt=logs.get("d/sign_real"))


@dataclass
class Phase:
    """One kind of update in an iteration.

    repeat: the schedule key giving how many times it runs per iteration ("n_d" or "n_g").
    batch: "new" draws a fresh batch, "same" reuses the previous phase's batch (with the previous
    phase's ``carry`` added), "none" passes None.
    """
    name: str
    fn: Callable[[dict | None], StepOut]
    repeat: str = "n_d"
    batch: str = "new"


class Recipe:
    """Base class: holds config, data facts and device; subclasses build nets and define steps."""

    augments = False  # whether D's image inputs go through cfg.aug; a recipe that does not refuses --aug
    batch_labels = True  # whether the engine's batches carry the dataset's labels (SGAN draws its own labelled subset)
    def __init__(self, cfg, data: ImageData, device: torch.device):
        self.cfg, self.data, self.device = cfg, data, torch.device(device)
        # whether cfg.loss chooses its adversarial terms (--loss; the registry's loss_choice); one that does not refuses the keys
        self.offers_loss = recipe_entry(cfg.recipe)["loss_choice"]
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
        return AdversarialTerms(self.cfg.loss, recipe_defaults(self.cfg.recipe)["loss"], pack)

    def refuse_loss_choice(self) -> None:
        """A recipe with its own adversarial loss refuses every key that would choose another one."""
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
        return {"z": draw_z(n, self.generator().z_dim, z_prior_of(self.generator()), g, self.device)}

    def grid_nrow(self, fixed: dict) -> int | None:
        """Images per row of the sample grid of ``fixed`` (None: a square grid)."""
        return None

    def domain_classifier(self):
        """A function images -> classes for the collapse alarms' class coverage, or None: the digit
        classifier for digit datasets (the dataset says whether it is one)."""
        if self.data.kind != "image" or self.data.domain != "digits":
            return None
        from ..metrics.classifier import default_digit_classifier

        clf = default_digit_classifier(self.cfg.eval.classifier, self.device)
        return None if clf is None else (lambda x: clf.predict(x.to(self.device)).cpu())

    @torch.no_grad()
    def render(self, G: nn.Module, fixed: dict) -> Tensor:
        """Images in [-1, 1] (or points) for a sample grid."""
        return G(fixed["z"])

    @torch.no_grad()
    def sample(self, G: nn.Module, n: int, batch_size: int = 500) -> Tensor:
        """n unconditional samples on the CPU (for metrics and alarms)."""
        outs = []
        for i in range(0, n, batch_size):
            outs.append(G(draw_z(min(batch_size, n - i), G.z_dim, z_prior_of(G), device=self.device)).float().cpu())
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
    def player(self, player: str, net: nn.Module, *, key: str | None = None, init: str | None = None,
               meta: dict | None = None) -> nn.Module:
        """A network that ``player`` updates: initialised by ``init`` (a policy of nets/init.py),
        on the device, with its exported ``meta``, saved in checkpoints as ``key`` (the player's name)."""
        if init is not None:
            init_weights(net, init)
        if meta is not None:
            net.meta = meta
        self.nets[key or player] = net.to(self.device)
        self.players.setdefault(player, []).append(net)
        return net

    def noise(self, n: int) -> Tensor:
        """n codes from the run's latent prior (``model.z_prior``), on the device."""
        return draw_z(n, self.cfg.model.z_dim, self.cfg.model.get("z_prior", "normal"), device=self.device)

    def require_kind(self, *kinds: str) -> None:
        if self.data.kind not in kinds:
            raise GankitError(
                f"recipe '{self.cfg.recipe}' needs a dataset of kind {' or '.join(kinds)}, "
                f"but '{self.cfg.data.name}' is {self.data.kind}")

    def generator_meta(self, kind: str = "noise", **extra) -> dict:
        d = self.data
        meta = {"kind": kind, "recipe": self.cfg.recipe, "dataset": self.cfg.data.name,
                "image_size": d.image_size, "channels": d.channels}
        if "z_dim" in extra:  # a generator from noise: sampling after export draws from the same prior
            extra = {**extra, "z_prior": self.cfg.model.get("z_prior", "normal")}
        meta.update(extra)
        return meta
