"""The digit classifier network (28x28 grey digits -> 10 classes): metrics train and use it."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import GankitError
from .base import register


@register
class DigitClassifier(nn.Module):
    """28x28 grey digits in [-1, 1] -> 10 logits. ``features`` is the 128-d penultimate layer."""

    def __init__(self, width: int = 32, feature_dim: int = 128, num_classes: int = 10):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(True),
            nn.Conv2d(w, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(True),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(2 * w * 7 * 7, feature_dim), nn.BatchNorm1d(feature_dim), nn.ReLU(True))
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(feature_dim, num_classes))

    def _check(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
            raise GankitError(f"the digit classifier takes N x 1 x 28 x 28 images, got {tuple(x.shape)}")
        return x

    def features(self, x: Tensor) -> Tensor:
        return self.body(self._check(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))

    @torch.no_grad()
    def predict(self, x: Tensor, batch_size: int = 1000) -> Tensor:
        was = self.training
        self.eval()
        out = torch.cat([self(x[i:i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)])
        self.train(was)
        return out
