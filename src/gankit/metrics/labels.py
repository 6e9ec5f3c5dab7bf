"""Scoring generated label maps (photo -> labels translation) the way the CycleGAN paper scores its
labels <-> photos task: each output pixel is snapped to the nearest label colour, then compared with
the true label map: per-pixel accuracy, per-class accuracy and class IoU (Zhu et al. 2017, Table 2).

The label colours are read from label maps themselves (``label_palette``): facades' maps are JPEGs,
so region boundaries hold blended colours; pixels whose neighbourhood is uniform are the pure ones,
and each colour that a share of them takes is a class.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ..errors import GankitError


def _as_255(x: Tensor) -> Tensor:
    """N x 3 x H x W images, uint8 or float in [-1, 1], as float 0..255."""
    if x.ndim != 4 or x.shape[1] != 3:
        raise GankitError(f"label maps must be N x 3 x H x W colour images, got shape {tuple(x.shape)}")
    if x.dtype == torch.uint8:
        return x.float()
    return (x.float().clamp(-1, 1) + 1) * 127.5


def label_palette(maps: Tensor, min_share: float = 1e-4, separation: float = 40.0,
                  uniform_within: float = 24.0) -> Tensor:
    """The label colours (K x 3, 0..255) used by ``maps``: modes of the colours of pure pixels (no
    neighbour within 2 px differs by more than ``uniform_within`` in any channel), in order of
    frequency, each at least ``separation`` from a more frequent one in some channel and taken by at
    least ``min_share`` of the pure pixels; each colour is the mean of the pure pixels near its mode.
    Sorted by colour, so that maps of the same classes give the same order."""
    x = _as_255(maps)
    spread = torch.zeros(x.shape[0], *x.shape[2:])
    for shift in ((1, 0), (-1, 0), (0, 1), (0, -1), (2, 0), (-2, 0), (0, 2), (0, -2)):
        spread = torch.maximum(spread, (x - x.roll(shift, (2, 3))).abs().amax(1))
    pure = x.permute(0, 2, 3, 1)[spread < uniform_within]
    if len(pure) == 0:
        raise GankitError("no uniform region in the label maps: they are not flat-coloured label images")
    q = (pure // 8).long()
    codes, counts = torch.unique(q[:, 0] * 1024 + q[:, 1] * 32 + q[:, 2], return_counts=True)
    bins = torch.stack([codes // 1024, codes // 32 % 32, codes % 32], 1).float() * 8 + 4
    modes: list[Tensor] = []
    for i in counts.argsort(descending=True).tolist():
        if counts[i] < min_share * len(pure):
            break
        if all((bins[i] - m).abs().max() > separation for m in modes):
            modes.append(bins[i])
    centres = torch.stack(modes)
    near = torch.cdist(pure, centres).argmin(1)
    close = (pure - centres[near]).abs().amax(1) <= 12  # within 1.5 histogram bins of its mode
    colours = torch.stack([pure[close & (near == k)].mean(0) for k in range(len(centres))])
    return colours[sorted(range(len(colours)), key=lambda k: colours[k].round().tolist())]


def snap_to_palette(maps: Tensor, palette: Tensor) -> Tensor:
    """N x H x W class indices: each pixel's nearest palette colour (Euclidean, in RGB 0..255)."""
    x = _as_255(maps).permute(0, 2, 3, 1)
    return torch.cdist(x.reshape(-1, 3), palette.float()).argmin(1).reshape(x.shape[:3])


def _confusion(pred: Tensor, target: Tensor, palette: Tensor) -> Tensor:
    """K x K pixel counts of both maps snapped to ``palette``; rows: true class, columns: predicted."""
    if pred.shape != target.shape:
        raise GankitError(f"label scores need equal shapes, got {tuple(pred.shape)} and {tuple(target.shape)}")
    p, t = snap_to_palette(pred, palette).flatten(), snap_to_palette(target, palette).flatten()
    k = len(palette)
    return torch.bincount(t * k + p, minlength=k * k).reshape(k, k)


def _matched(confusion: Tensor) -> float:
    """Per-pixel accuracy after the best one-to-one renaming of the predicted classes (the Hungarian
    assignment on the confusion matrix). An unpaired translator may draw every region where the photo
    has it but give windows the colour of another class: this tells that apart from maps that do not
    line up with the photo at all. A diagnostic beside the paper's score, not a replacement."""
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError:
        raise GankitError("matched pixel accuracy needs scipy: pip install 'gankit[eval]'") from None
    rows, cols = linear_sum_assignment(confusion.numpy(), maximize=True)
    return float(confusion[torch.as_tensor(rows), torch.as_tensor(cols)].sum() / confusion.sum())


def label_scores(pred: Tensor, target: Tensor, palette: Tensor) -> dict[str, float]:
    """Per-pixel accuracy, mean per-class accuracy and mean class IoU of ``pred`` against ``target``,
    both snapped to ``palette`` (classes absent from every target are left out of the means), and
    the pixel accuracy after the best renaming of the predicted classes (see :func:`_matched`), all
    from one confusion matrix."""
    confusion = _confusion(pred, target, palette).double()
    true_n, pred_n, hit = confusion.sum(1), confusion.sum(0), confusion.diag()
    present = true_n > 0
    return {"pixel_accuracy": float(hit.sum() / confusion.sum()),
            "class_accuracy": float((hit[present] / true_n[present]).mean()),
            "class_iou": float((hit[present] / (true_n + pred_n - hit)[present]).mean()),
            "matched_pixel_accuracy": _matched(confusion), "label_colours": len(palette)}
