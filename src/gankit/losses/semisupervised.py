"""Semi-supervised GAN losses (Salimans et al. 2016, §5; Odena 2016) as pure functions of logits.

D outputs K class logits l_1..l_K; the logit of class K+1 ("fake") is fixed at 0, which loses nothing
because softmax is invariant to subtracting a constant from all K+1 logits. With Z(x) = Σ_k exp(l_k(x)):
    p(y = k | x, real) = softmax(l)_k            D(x) = p(real | x) = Z / (Z + 1) = sigmoid(lse(l))
so log D(x) = lse - softplus(lse) and log(1 - D(x)) = -softplus(lse), lse = log Σ_k exp(l_k).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .dtype import in_float32


@in_float32
def sgan_supervised(logits: Tensor, labels: Tensor) -> Tensor:
    """L_supervised = -E_{x,y ~ labelled} log p(y | x, y < K+1) = E[lse(l(x)) - l_y(x)]:
    cross-entropy over the K real classes only (the "fake" logit does not enter)."""
    return F.cross_entropy(logits, labels)


@in_float32
def sgan_d_unsupervised(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """L_unsupervised = -E_x log D(x) - E_z log(1 - D(G(z)))
                      = E[softplus(lse(l(x))) - lse(l(x))] + E[softplus(lse(l(G(z))))]."""
    lse_real, lse_fake = torch.logsumexp(real_logits, 1), torch.logsumexp(fake_logits, 1)
    return (F.softplus(lse_real) - lse_real).mean() + F.softplus(lse_fake).mean()


@in_float32
def sgan_g_nonsaturating(fake_logits: Tensor) -> Tensor:
    """The non-saturating G loss on the K+1-way D: -E_z log D(G(z)) = E[softplus(lse) - lse]."""
    lse = torch.logsumexp(fake_logits, 1)
    return (F.softplus(lse) - lse).mean()


@in_float32
def feature_matching(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """Salimans et al. 2016, §3.1: L_G = ||E_x f(x) - E_z f(G(z))||²₂ over D's last hidden layer f,
    divided by its width d (the mean over features, as in the authors' code; Adam does not see the
    constant). The real statistics are a target: no gradient flows into D through them."""
    return (real_features.detach().mean(0) - fake_features.mean(0)).pow(2).mean()

