"""Learning, measured: short real runs must reach stated bars (SPEC §2; issue: foundation)."""
import pytest
import torch

import gankit
from gankit.data import load_mnist, to_float
from gankit.data.toy import toy_spec
from gankit.metrics import class_diversity

@pytest.mark.slow
def test_the_readme_ring_command_covers_the_ring(tmp_path, one_thread):
    """`gankit train gan --data toy2d-ring` as the README writes it (its defaults: configs/data/
    toy2d-ring.yaml, PacGAN's networks, 20,000 steps), last checkpoint, PacGAN's scoring."""
    from gankit.cli.main import main

    assert main(["train", "gan", "--data", "toy2d-ring", "--out", str(tmp_path / "ring"),
                 "--set", "train.report=false", "--set", "train.progress=false"]) == 0
    G = gankit.load_generator(tmp_path / "ring" / "generator")
    x = gankit.sample(G, 2500, seed=1)
    centers, std = toy_spec("toy2d-ring")
    dist, mode = torch.cdist(x, centers).min(1)
    hq = dist < 3 * std
    modes = torch.unique(mode[hq]).numel()
    assert modes >= 7, f"only {modes}/8 modes covered"
    # measured 92.9% / 92.8% with 8/8 modes, seeds 0 / 1 (bench/toy_defaults.py; PacGAN's GAN row: 6.3 modes, 98.2%)
    assert hq.float().mean() >= 0.90, f"only {hq.float().mean():.1%} high-quality samples"


@pytest.mark.slow
def test_dcgan_learns_mnist(tmp_path, mnist_root, digit_classifier):
    """The default dcgan (FC hidden layers, G at 1e-3, EMA samples) on MNIST: the issue's bar."""
    run = gankit.fit("dcgan", data="mnist", data_root=str(mnist_root), steps=2500, out=tmp_path / "dcgan",
                     overrides=["train.report=false", "train.progress=false"])
    G = gankit.load_generator(run / "generator")
    x = gankit.sample(G, 1000, seed=0)
    with torch.no_grad():
        probs = digit_classifier(x).softmax(1)
    conf, pred = probs.max(1)
    confident = conf >= 0.9
    classes = torch.unique(pred[confident]).numel()
    assert classes >= 9, f"samples cover {classes}/10 classes"
    # 97% of real test digits clear 0.9 with this classifier. Measured on CPU in float32, seeds 0 / 1:
    # 80.6 / - after 1,500 steps, 82.6 / 80.8 after 2,000, 84.0 / 82.7 after 2,500, 83.4 / 84.2 after
    # 3,000; in bf16 (train.precision=auto on a CPU with AVX512-BF16) 83.3 / 84.6 after 2,500
    # (docs/benchmarks.md)
    assert confident.float().mean() >= 0.80, f"only {confident.float().mean():.1%} classified at confidence >= 0.9"
    # and not a few prototypes per class: the confident samples of each predicted class vary as much as
    # real test digits of that class do (1.01 measured in bf16, seed 0; a G drawing one image per class: ~0)
    x_real, y_real = load_mnist(mnist_root, "test")
    keep = torch.cat([torch.nonzero(y_real == c).flatten()[:100] for c in range(10)])
    spread = class_diversity(x[confident], pred[confident], to_float(x_real[keep]), y_real[keep])
    assert spread >= 0.6, f"within-class diversity is {spread:.2f} of real digits'"


# A bounded ring run for every loss family, each with its paper preset: G 3x128 ReLU+BN, D 2x128, z 2-D,
# batch 100, 600 steps with lr decayed over the second half, the best checkpoint by toy2d-modes.
# WGAN-GP takes λ = 0.1 here, the value of the WGAN-GP authors' own toy-data code: the image
# setting λ = 10 reached only 3-4/8 modes in this budget (seeds 0, 1) and 3.5/8 with the PacGAN nets
# at 1,000 steps (bench/losses_toy2d.py).
# Measured modes of 8, seeds 0 / 1 / 2: bce 8/8/8, bce-saturating 8/8/8, lsgan 8/8/8, wgan 8/8/6,
# wgan-gp 8/8/8, hinge 8/7/6, ragan 8/-/- (12% high quality; seed 0 is the one tested). CPU seconds per run: ~5 (bce, bce-saturating,
# lsgan, hinge), ~15 (wgan), ~20 (wgan-gp): ~55 s for all six on one thread.
SMALL_RING = ["model.z_dim=2", "model.g_widths=[128,128,128]", "model.g_act=relu", "model.g_first_norm=true",
              "model.d_widths=[128,128]", "optim.decay_start=300", "eval.metric=toy2d-modes", "eval.every=100",
              "eval.n=2500", "train.report=false", "train.progress=false", "train.sample_every=600",
              "train.ckpt_every=600", "train.log_every=100"]
TOY_EXTRA = {"wgan-gp": ["loss.gp_weight=0.1"]}


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["bce", "bce-saturating", "lsgan", "wgan", "wgan-gp", "hinge", "ragan"])
def test_every_loss_covers_the_ring(tmp_path, loss):
    from gankit.metrics.coverage import toy2d_coverage

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # nets this small run no faster on two threads, and far slower on a busy machine
    try:
        run = gankit.fit("gan", data="toy2d-ring", loss=loss, steps=600, batch_size=100, seed=0, out=tmp_path / loss,
                         overrides=SMALL_RING + TOY_EXTRA.get(loss, []))
    finally:
        torch.set_num_threads(threads)
    cov = toy2d_coverage(gankit.sample(gankit.load_generator(run / "generator"), 2500, seed=1), "toy2d-ring")
    assert cov["modes"] >= 6, f"{loss}: only {cov['modes']}/8 modes covered"
