"""One module per GAN. A recipe registers here with its class and its YAML defaults."""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from ..errors import GankitError


@dataclass(frozen=True)
class RecipeEntry:
    target: str   # "module:Class" under gankit.recipes
    config: str   # YAML in gankit/configs
    help: str


RECIPES: dict[str, RecipeEntry] = {
    "gan": RecipeEntry("gan:AdversarialGAN", "gan", "vanilla MLP GAN of Goodfellow et al. (2014), BCE on logits"),
    "dcgan": RecipeEntry("gan:AdversarialGAN", "dcgan", "DCGAN (Radford et al. 2016), 28/32/64 px, with InfoGAN's hidden FC layers; the default"),
    "lsgan": RecipeEntry("gan:AdversarialGAN", "lsgan", "least-squares GAN (Mao et al. 2017) on DCGAN networks"),
    "wgan": RecipeEntry("gan:AdversarialGAN", "wgan", "Wasserstein GAN with weight clipping (Arjovsky et al. 2017)"),
    "wgan-gp": RecipeEntry("gan:AdversarialGAN", "wgan-gp", "WGAN with gradient penalty (Gulrajani et al. 2017)"),
    "hinge": RecipeEntry("gan:AdversarialGAN", "hinge", "hinge loss (Lim & Ye 2017) on DCGAN networks"),
    "began": RecipeEntry("began:BEGAN", "began", "boundary equilibrium GAN (Berthelot et al. 2017)"),
    "cgan": RecipeEntry("cgan:CGAN", "cgan", "conditional GAN (Mirza & Osindero 2014): ask for a class"),
    "sgan": RecipeEntry("sgan:SGAN", "sgan", "semi-supervised GAN (Odena 2016; Salimans et al. 2016)"),
    "pix2pix": RecipeEntry("pix2pix:Pix2Pix", "pix2pix", "paired translation (Isola et al. 2017)"),
    "cyclegan": RecipeEntry("cyclegan:CycleGAN", "cyclegan", "unpaired translation (Zhu et al. 2017)"),
    "srresnet": RecipeEntry("srgan:SRResNet", "srresnet", "x4 super-resolution with pixel loss (Ledig et al. 2017)"),
    "srgan": RecipeEntry("srgan:SRGAN", "srgan", "x4 super-resolution, content + adversarial loss (Ledig et al. 2017)"),
}


def loss_preset(recipe: str, loss: str) -> list[str]:
    """``--loss``: the family's paper preset as ``--set`` strings, for a recipe that offers a choice."""
    from ..config import recipe_defaults
    from ..losses.presets import preset_overrides

    schema = recipe_defaults(recipe)
    if not get_recipe_class(recipe).offers_loss:
        own = schema.get("loss", {}).get("name")
        raise GankitError(f"--loss {loss}: recipe '{recipe}' " + (f"has its own adversarial loss ({own})" if own else
                          "has no adversarial loss to choose") + "; --loss is for "
                          + ", ".join(r for r in RECIPES if get_recipe_class(r).offers_loss))
    return preset_overrides(loss, schema)


def get_recipe_class(name: str):
    if name not in RECIPES:
        raise GankitError(f"unknown recipe '{name}'; choose one of: {', '.join(sorted(RECIPES))}")
    module, cls = RECIPES[name].target.split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)
