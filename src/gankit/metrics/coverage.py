"""Mode coverage: toy 2-D mixtures (PacGAN protocol), digit classes, stacked MNIST."""
from __future__ import annotations

import math

import numpy as np
import torch

from ..data.toy import toy_spec


def kl_to_uniform(counts: torch.Tensor) -> float:
    """KL(q || uniform) of a histogram q over K bins (0 log 0 = 0); log K for a single bin."""
    q = counts.double() / counts.sum().clamp(min=1)
    nz = q > 0
    return float((q[nz] * (q[nz] * len(counts)).log()).sum())


def toy2d_coverage(points: torch.Tensor, dataset: str, min_count: int = 1) -> dict[str, float]:
    """PacGAN (Lin et al. 2018) protocol: a sample is high quality if within 3 std of its nearest
    mode; a mode is covered when it receives at least ``min_count`` high-quality samples; reverse
    KL = KL(generated mode histogram || uniform) over the high-quality samples."""
    centers, std = toy_spec(dataset)
    dist, mode = torch.cdist(points.float(), centers).min(1)
    hq = dist <= 3 * std
    counts = torch.bincount(mode[hq], minlength=len(centers))
    return {"modes": int((counts >= min_count).sum()), "modes_total": len(centers),
            "high_quality": float(hq.float().mean()), "reverse_kl": kl_to_uniform(counts) if hq.any() else math.inf,
            "n": len(points)}


def class_coverage(labels: torch.Tensor, num_classes: int = 10, min_share: float = 0.01) -> dict[str, float]:
    """Classes holding at least ``min_share`` of the predicted labels (so that a classifier's rare
    mistakes do not count as coverage) and KL(histogram || uniform)."""
    counts = torch.bincount(labels.long().flatten(), minlength=num_classes)
    return {"classes_covered": int((counts >= max(1, min_share * counts.sum())).sum()), "classes_total": num_classes,
            "kl_uniform": kl_to_uniform(counts), "histogram": counts.tolist()}


@torch.no_grad()
def stacked_coverage(images: torch.Tensor, classifier, batch_size: int = 2000) -> dict[str, float]:
    """Stacked MNIST (Metz et al. 2017): classify each of the 3 channels as a digit; the triple is
    one of 1,000 modes. Reports modes covered and KL(mode histogram || uniform), and where that KL
    comes from: ``channel_kl``, each channel's digit histogram against uniform, and ``kl_marginals``,
    the KL of the product of those histograms (their sum). The rest of kl_uniform is dependence
    between the channels plus the finite-sample floor (~999 / 2n: 0.019 at n = 26,000)."""
    digits = torch.cat([classifier.predict(images[i:i + batch_size].float().reshape(-1, 1, *images.shape[-2:]))
                        .view(-1, 3).cpu() for i in range(0, len(images), batch_size)])
    counts = torch.bincount(digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2], minlength=1000)
    channel_kl = [kl_to_uniform(torch.bincount(digits[:, c], minlength=10)) for c in range(3)]
    return {"modes": int((counts > 0).sum()), "modes_total": 1000, "kl_uniform": kl_to_uniform(counts),
            "channel_kl": channel_kl, "kl_marginals": sum(channel_kl),
            "channel_histograms": [torch.bincount(digits[:, c], minlength=10).tolist() for c in range(3)],
            "n": len(images)}


def histogram_entropy(labels: torch.Tensor, num_classes: int) -> float:
    """Entropy (nats) of the predicted-class histogram: a diversity measure."""
    p = torch.bincount(labels.long(), minlength=num_classes).double()
    p = p / p.sum()
    return float(-(p[p > 0] * p[p > 0].log()).sum()) + 0.0  # + 0.0: one class gives 0.0, not -0.0


def mean_pairwise_distance(f: torch.Tensor, max_n: int = 1000) -> float:
    """Mean L2 distance between two different samples (features, or images flattened) of the first
    ``max_n``: the sample diversity that mode collapse shrinks."""
    f = torch.as_tensor(np.asarray(f))[:max_n].flatten(1).double()
    n = len(f)
    return float(torch.cdist(f, f).sum() / (n * (n - 1))) if n > 1 else 0.0


def class_diversity(samples: torch.Tensor, labels: torch.Tensor, real: torch.Tensor, real_labels: torch.Tensor,
                    max_n: int = 256) -> float | None:
    """Mean over classes of (diversity of the samples asked for class c) / (diversity of real
    samples of class c): ~1 for a conditional G that uses z, near 0 for one that draws a single
    image per label. None when no class has two samples on both sides."""
    ratios = []
    for c in labels.unique().tolist():
        fake_c, real_c = samples[labels == c], real[real_labels == c]
        if len(fake_c) >= 2 and len(real_c) >= 2:
            d_real = mean_pairwise_distance(real_c, max_n)
            if d_real > 0:
                ratios.append(mean_pairwise_distance(fake_c, max_n) / d_real)
    return sum(ratios) / len(ratios) if ratios else None


def nearest_neighbour_ratio(samples: torch.Tensor, real: torch.Tensor, seed: int = 0) -> float | None:
    """How close samples lie to their nearest neighbour for their spread, against real data:
    (median nearest-neighbour distance / mean pairwise distance) of the samples, over the same for
    as many real examples (drawn at random with ``seed`` when ``real`` holds more). ~1 for a healthy
    G; near 0 when G draws a few images over and over, however much those few differ. Against the
    spread, an untrained G's samples, all alike, are not mistaken for copies. None below two samples
    or when either side has no spread (see :func:`mean_pairwise_distance` for that)."""
    n = min(len(samples), len(real))
    if n < 2:
        return None
    if len(real) > n:
        real = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))[:n]]

    def closeness(x: torch.Tensor) -> float | None:
        d = torch.cdist(*(2 * [x[:n].flatten(1).double()]))
        spread = float(d.sum()) / (n * (n - 1))
        return float(d.fill_diagonal_(float("inf")).min(1).values.median()) / spread if spread > 0 else None

    fake_c, real_c = closeness(samples), closeness(real)
    return None if fake_c is None or not real_c else fake_c / real_c
