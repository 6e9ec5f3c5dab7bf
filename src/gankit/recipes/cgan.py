"""Conditional GAN (Mirza & Osindero 2014; SPEC §5).

The algorithm is the adversarial one of ``recipes/gan.py`` with the label y as a condition:
G(z, y) takes z concatenated with one-hot y (e.g. 100 + 10 = 110 inputs); D(x, y) receives y with
every image, real or fake (one-hot features for the MLP, constant one-hot channels for the conv
D). Fake labels are drawn uniformly; sampling "a 7" is G(z, 7).
"""
from __future__ import annotations

from .gan import AdversarialGAN


class CGAN(AdversarialGAN):
    conditional = True
