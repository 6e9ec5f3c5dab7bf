"""Each loss family's paper defaults (optimizer, learning rate, schedule), applied with ``--loss``."""
from __future__ import annotations

from .adversarial import get_loss

PRESETS: dict[str, list[str]] = {
    # Goodfellow et al. 2014 / Radford et al. 2016: Adam(2e-4, beta1 0.5), one D step per G step
    "bce": [],
    "bce-saturating": [],
    # Mao et al. 2017 trained with Adam(2e-4, beta1 0.5) as DCGAN does
    "lsgan": [],
    # Arjovsky et al. 2017, Alg. 1: RMSprop 5e-5, clip 0.01, n_critic 5
    "wgan": ["optim.D.name=rmsprop", "optim.G.name=rmsprop", "optim.D.lr=5e-5", "optim.G.lr=5e-5",
             "train.n_d=5", "loss.clip=0.01"],
    # Gulrajani et al. 2017, Alg. 1: Adam(1e-4, 0, 0.9), λ 10, n_critic 5, no batch norm in the critic
    "wgan-gp": ["optim.D.lr=1e-4", "optim.G.lr=1e-4", "optim.D.betas=[0.0, 0.9]", "optim.G.betas=[0.0, 0.9]",
                "train.n_d=5", "loss.gp_weight=10.0", "model.d_norm=none"],
    # Miyato et al. 2018 (hinge with DCGAN-style nets): Adam(2e-4, 0.5, 0.999)
    "hinge": [],
}


def preset_overrides(recipe: str, loss: str) -> list[str]:
    """``--set`` strings that give ``loss`` its paper's training settings, then select it."""
    get_loss(loss)  # one-line error for an unknown name
    return PRESETS[loss] + [f"loss.name={loss}"]
