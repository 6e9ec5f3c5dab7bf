"""Learning, measured: short real runs must reach stated bars (SPEC §2; issue: foundation)."""
import pytest
import torch

import gankit
from gankit.data.toy import toy_spec

# the PacGAN-protocol MLP (G 4x400 ReLU+BN, D 3x200, z 2-D, batch 100), lr decayed over the second half
RING = ["--data", "toy2d-ring", "--batch-size", "100", "--steps", "3000", "--set", "model.z_dim=2",
        "--set", "model.g_widths=[400,400,400,400]", "--set", "model.g_act=relu", "--set", "model.g_first_norm=true",
        "--set", "model.d_widths=[200,200,200]", "--set", "optim.decay_start=1500", "--set", "train.report=false", "--set", "eval.metric=toy2d-modes",
        "--set", "eval.every=250", "--set", "eval.n=2500",
        "--set", "train.progress=false"]


@pytest.mark.slow
def test_gan_covers_the_ring(tmp_path):
    from gankit.cli.main import main

    assert main(["train", "gan", "--out", str(tmp_path / "ring"), *RING]) == 0
    G = gankit.load_generator(tmp_path / "ring" / "generator")
    x = gankit.sample(G, 2500, seed=1)
    centers, std = toy_spec("toy2d-ring")
    dist, mode = torch.cdist(x, centers).min(1)
    hq = dist < 3 * std
    modes = torch.unique(mode[hq]).numel()
    assert modes >= 7, f"only {modes}/8 modes covered"
    # PacGAN reports 95.6% after far longer training; this 3,000-step run reaches 85-90% (measured)
    assert hq.float().mean() >= 0.80, f"only {hq.float().mean():.1%} high-quality samples"


@pytest.mark.slow
def test_dcgan_learns_mnist(tmp_path, mnist_root, digit_classifier):
    run = gankit.fit("dcgan", data="mnist", data_root=str(mnist_root), steps=900, out=tmp_path / "dcgan",
                       overrides=["train.report=false", "train.progress=false"])
    G = gankit.load_generator(run / "generator")
    x = gankit.sample(G, 1000, seed=0)
    with torch.no_grad():
        probs = digit_classifier(x).softmax(1)
    conf, pred = probs.max(1)
    confident = conf >= 0.9
    classes = torch.unique(pred[confident]).numel()
    assert classes >= 9, f"samples cover {classes}/10 classes"
    assert confident.float().mean() >= 0.80, f"only {confident.float().mean():.1%} classified at confidence >= 0.9"
