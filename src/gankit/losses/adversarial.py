"""Adversarial losses as pure functions of discriminator logits (or critic values), and the registry
of loss families built on them (:class:`LossFamily`). The functions return scalar means.
Conventions follow each paper; logits are never passed through a sigmoid first, so BCE uses
the numerically stable ``softplus`` form: -log sigmoid(t) = softplus(-t).
"""
from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import GankitError
from .dtype import in_float32


@in_float32
def d_bce(real: Tensor, fake: Tensor) -> Tensor:
    """Goodfellow et al. 2014, D maximises E[log D(x)] + E[log(1 - D(G(z)))]:
    L_D = E[softplus(-D_logit(x))] + E[softplus(D_logit(G(z)))]."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


@in_float32
def g_bce_saturating(fake: Tensor) -> Tensor:
    """The minimax G loss, L_G = E[log(1 - D(G(z)))] = -E[softplus(D_logit(G(z)))].
    Its gradient vanishes when D(G(z)) ~ 0, i.e. early in training (Goodfellow et al. 2014, §3)."""
    return -F.softplus(fake).mean()


@in_float32
def g_bce_nonsaturating(fake: Tensor) -> Tensor:
    """The non-saturating G loss, L_G = -E[log D(G(z))] = E[softplus(-D_logit(G(z)))]:
    same fixed point, strong gradients when D rejects the samples (Goodfellow et al. 2014, §3)."""
    return F.softplus(-fake).mean()


@in_float32
def d_lsgan(real: Tensor, fake: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Mao et al. 2017, eq. 2: L_D = 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2], on raw outputs."""
    return 0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean()


@in_float32
def g_lsgan(fake: Tensor, c: float = 1.0) -> Tensor:
    """Mao et al. 2017, eq. 2: L_G = 1/2 E[(D(G(z)) - c)^2]."""
    return 0.5 * ((fake - c) ** 2).mean()


@in_float32
def d_wasserstein(real: Tensor, fake: Tensor) -> Tensor:
    """Arjovsky et al. 2017: the critic maximises E[f(x)] - E[f(G(z))]; L_D = E[f(G(z))] - E[f(x)].
    Lipschitz continuity comes from weight clipping (WGAN) or a gradient penalty (WGAN-GP)."""
    return fake.mean() - real.mean()


@in_float32
def g_wasserstein(fake: Tensor) -> Tensor:
    """Arjovsky et al. 2017: L_G = -E[f(G(z))]."""
    return -fake.mean()


@in_float32
def d_hinge(real: Tensor, fake: Tensor) -> Tensor:
    """Lim & Ye 2017; Miyato et al. 2018: L_D = E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


@in_float32
def g_hinge(fake: Tensor) -> Tensor:
    """Lim & Ye 2017: L_G = -E[D(G(z))]."""
    return -fake.mean()


@in_float32
def d_ragan(real: Tensor, fake: Tensor) -> Tensor:
    """Jolicoeur-Martineau 2018, RaSGAN: D judges each real sample against the average fake and vice versa,
    L_D = -E[log σ(C(x_r) - E C(x_f))] - E[log(1 - σ(C(x_f) - E C(x_r)))]
        = E[softplus(E C(x_f) - C(x_r))] + E[softplus(C(x_f) - E C(x_r))]."""
    return d_bce(real - fake.mean(), fake - real.mean())


@in_float32
def g_ragan(real: Tensor, fake: Tensor) -> Tensor:
    """RaSGAN's G loss, D's with the roles of real and fake swapped:
    L_G = -E[log σ(C(x_f) - E C(x_r))] - E[log(1 - σ(C(x_r) - E C(x_f)))]. G's gradient reaches it through
    both terms (E C(x_f) enters the real one), which the non-relativistic G loss lacks."""
    return d_bce(fake - real.mean(), real - fake.mean())


def clip_weights(net: nn.Module, c: float) -> None:
    """Arjovsky et al. 2017, Alg. 1 line 7: clip every weight of the critic to [-c, c] after its update."""
    with torch.no_grad():
        for p in net.parameters():
            p.clamp_(-c, c)


class LossFamily:
    """One adversarial loss and what goes with it, with its ``cfg.loss`` parameters (``keys``) bound.

    ``d`` and ``g`` are D's and G's terms on D's logits for a real and a fake batch; G's term sees the
    real logits too, so relativistic losses fit (``g_sees_real`` says whether it reads them).
    ``boundary`` is D's output between its verdicts "fake" and "real", for accuracy, r_t and ADA; None
    for a critic whose scores shift freely by a constant. ``regs`` are regularisers the family always
    adds (WGAN-GP's penalty); ``after_d_update`` runs after each D update (WGAN's clipping). Its
    paper's optimizer preset is ``configs/losses/<name>.yaml``."""
    name: str
    paper: str
    keys: tuple[str, ...] = ()
    regs: tuple[str, ...] = ()
    g_sees_real = False
    boundary: float | None = 0.0

    def __init__(self, **params):
        self.params = {k: params[k] for k in self.keys}

    def d(self, real: Tensor, fake: Tensor) -> Tensor:
        raise NotImplementedError

    def g(self, real: Tensor | None, fake: Tensor) -> Tensor:
        raise NotImplementedError

    def after_d_update(self, D: nn.Module) -> None:
        pass


class BCE(LossFamily):
    name, paper = "bce", "Goodfellow et al. 2014 (non-saturating G)"

    def d(self, real, fake):
        return d_bce(real, fake)

    def g(self, real, fake):
        return g_bce_nonsaturating(fake)


class BCESaturating(BCE):
    name, paper = "bce-saturating", "Goodfellow et al. 2014 (minimax G)"

    def g(self, real, fake):
        return g_bce_saturating(fake)


class LSGAN(LossFamily):
    name, paper, keys = "lsgan", "Mao et al. 2017", ("ls_a", "ls_b", "ls_c")

    def __init__(self, **params):
        super().__init__(**params)
        self.boundary = (params["ls_a"] + params["ls_b"]) / 2  # the midpoint of the fake and real targets

    def d(self, real, fake):
        return d_lsgan(real, fake, self.params["ls_a"], self.params["ls_b"])

    def g(self, real, fake):
        return g_lsgan(fake, self.params["ls_c"])


class WGANGP(LossFamily):
    name, paper, regs, boundary = "wgan-gp", "Gulrajani et al. 2017", ("gp",), None

    def d(self, real, fake):
        return d_wasserstein(real, fake)

    def g(self, real, fake):
        return g_wasserstein(fake)


class WGAN(WGANGP):
    name, paper, keys, regs = "wgan", "Arjovsky et al. 2017", ("clip",), ()

    def after_d_update(self, D):
        clip_weights(D, self.params["clip"])


class Hinge(LossFamily):
    name, paper = "hinge", "Lim & Ye 2017; Miyato et al. 2018"

    def d(self, real, fake):
        return d_hinge(real, fake)

    def g(self, real, fake):
        return g_hinge(fake)


class RaGAN(LossFamily):
    """Relativistic average GAN; its critic's scores shift freely by a constant (only differences enter),
    so it has no decision boundary (no accuracy, r_t or ADA)."""
    name, paper, boundary, g_sees_real = "ragan", "Jolicoeur-Martineau 2018 (RaSGAN)", None, True

    def d(self, real, fake):
        return d_ragan(real, fake)

    def g(self, real, fake):
        return g_ragan(real, fake)


LOSSES: dict[str, type[LossFamily]] = {f.name: f for f in (BCE, BCESaturating, LSGAN, WGAN, WGANGP, Hinge, RaGAN)}


def get_loss(name: str) -> type[LossFamily]:
    if name not in LOSSES:
        raise GankitError(f"unknown loss '{name}'; choose one of: {', '.join(LOSSES)}")
    return LOSSES[name]
