"""Losses: pure functions of logits, the loss families and D's regularisers built on them
(:class:`AdversarialTerms`), and pixel-space terms."""
from .adversarial import (LOSSES, LossFamily, d_bce, d_hinge, d_lsgan, d_wasserstein, g_bce_nonsaturating,
                          g_bce_saturating, g_hinge, g_lsgan, g_wasserstein, get_loss)
from .pixel import cycle_loss, identity_loss, l1
from .regularisers import REGULARISERS, gradient_penalty
from .semisupervised import feature_matching, sgan_d_unsupervised, sgan_g_nonsaturating, sgan_supervised
from .terms import AdversarialTerms, loss_keys

__all__ = ["LOSSES", "LossFamily", "get_loss", "AdversarialTerms", "loss_keys", "REGULARISERS", "d_bce",
           "g_bce_saturating", "g_bce_nonsaturating", "d_lsgan", "g_lsgan", "d_wasserstein", "g_wasserstein", "d_hinge",
           "g_hinge", "gradient_penalty", "l1", "cycle_loss", "identity_loss", "sgan_supervised", "sgan_d_unsupervised",
           "sgan_g_nonsaturating", "feature_matching"]
