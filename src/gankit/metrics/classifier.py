"""A small CNN digit classifier: the domain feature extractor for MNIST-family metrics
(fast "MNIST-FID", class histograms, mode coverage) and for the mode-collapse alarm."""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import cache_dir
from ..nets.classifier import DigitClassifier


def _shift(x: Tensor, g: torch.Generator) -> Tensor:
    """Random translation by up to 2 px (cheap augmentation for >99% test accuracy)."""
    pad = F.pad(x, (2, 2, 2, 2), value=-1.0)
    i, j = torch.randint(0, 5, (2,), generator=g).tolist()
    return pad[:, :, i:i + 28, j:j + 28]


def train_digit_classifier(mnist_root=None, epochs: int = 2, seed: int = 0, device: str = "cpu",
                           out_dir: str | Path | None = None, batch_size: int = 128, width: int = 32,
                           label_smoothing: float = 0.05) -> tuple[DigitClassifier, float]:
    """Train on the MNIST train split, report accuracy on the test split; save to ``out_dir``.

    ``label_smoothing`` caps the softmax near 1 - 0.9 * smoothing: use 0 when confidences are
    thresholded (a 0.9 bar would otherwise reject many real digits)."""
    from ..data import load_mnist, to_float

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    x, y = load_mnist(mnist_root, "train")
    xt, yt = load_mnist(mnist_root, "test")
    # NHWC: oneDNN's CPU convolutions run ~1.6x faster on it (an epoch at width 16: 26 s vs 43 s)
    clf = DigitClassifier(width=width).to(device, memory_format=torch.channels_last)
    steps = epochs * (len(x) // batch_size)
    opt = torch.optim.Adam(clf.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    clf.train()
    for step in range(steps):
        if step % (len(x) // batch_size) == 0:
            perm = torch.randperm(len(x), generator=g)
        idx = perm[(step % (len(x) // batch_size)) * batch_size:][:batch_size]
        xb = _shift(to_float(x[idx]), g).to(device).contiguous(memory_format=torch.channels_last)
        loss = F.cross_entropy(clf(xb), y[idx].to(device), label_smoothing=label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    clf.eval()
    acc = float((clf.predict(to_float(xt).to(device)).cpu() == yt).float().mean())
    clf.meta = {"kind": "classifier", "dataset": "mnist", "test_accuracy": acc, "class_names": [str(i) for i in range(10)]}
    if out_dir is not None:
        clf.save_pretrained(out_dir)
    return clf, acc


def weights_sha256(module: nn.Module) -> str:
    """Digest of a network's weights. Cached real-data features are keyed by it, so a classifier
    retrained into the same folder never meets the features of its predecessor."""
    h = hashlib.sha256()
    for name, t in module.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def default_digit_classifier(path=None, device="cpu") -> DigitClassifier | None:
    """The classifier at ``path``, else the one `gankit train-classifier` cached, else None."""
    from ..nets import load_pretrained

    if path is not None:
        return load_pretrained(path, device)
    cached = cache_dir() / "classifiers" / "mnist"
    return load_pretrained(cached, device) if (cached / "config.json").is_file() else None
