"""Differentiable augmentation and the ADA controller (SPEC §3)."""
import re

import pytest
import torch

import gankit
from gankit.augment import OPS, Augmenter, augment
from gankit.errors import GankitError
from gankit.train.checkpoint import latest_checkpoint, load_checkpoint


@pytest.mark.parametrize("op", OPS)
def test_each_op_is_differentiable_keeps_shape_and_p0_is_identity(op):
    torch.manual_seed(0)
    x = (torch.rand(8, 3, 16, 16) * 2 - 1).requires_grad_(True)
    y = augment(x, 1.0, (op,))
    assert y.shape == x.shape
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # the gradient reaches the input
    assert torch.equal(augment(x, 0.0, (op,)), x)
    if op != "color":  # geometric ops and cutout only move or zero pixels: the range is kept
        assert y.min() >= -1 - 1e-5 and y.max() <= 1 + 1e-5
    assert not torch.allclose(y, x)


def test_xflip_at_p1_flips_every_image():
    x = torch.arange(16.0).view(1, 1, 4, 4).repeat(3, 1, 1, 1) / 16
    assert torch.allclose(augment(x, 1.0, ("xflip",)), x.flip(3), atol=1e-5)


def test_ada_p_moves_toward_target_at_configured_speed():
    aug = Augmenter("ada", target=0.6, interval=4, kimg=500)
    overfit = torch.ones(64)  # every real logit positive: r_t = 1 > 0.6
    for _ in range(40):
        aug.observe(overfit)
    step = 64 * 4 / 500_000
    assert aug.p == pytest.approx(10 * step)  # 40 D steps = 10 adjustments up
    for _ in range(20):
        aug.observe(-overfit)  # r_t = -1 < 0.6
    assert aug.p == pytest.approx(5 * step)
    # speed: 0 -> 1 takes 500k images
    aug.p = 0.0
    for _ in range(500_000 // 64):
        aug.observe(overfit)
    assert aug.p == pytest.approx(1.0, abs=2 * step)


def test_ada_reads_verdicts_on_the_loss_familys_boundary():
    """Least-squares outputs near the real target b = 1 all sit above 0: read against 0 they would
    say D is sure of every real image. Against the boundary (a + b) / 2 half of these are on the
    fake side, so r_t = 0 < 0.6 and p goes down, not up."""
    outputs = torch.tensor([0.4, 0.45, 0.55, 0.6]).repeat(16)
    against_zero, against_boundary = Augmenter("ada", interval=1), Augmenter("ada", interval=1)
    against_zero.p = against_boundary.p = 0.5
    against_zero.observe(outputs)
    against_boundary.observe(outputs, boundary=0.5)
    assert against_zero.p > 0.5 > against_boundary.p


def test_ada_refuses_a_wasserstein_critic():
    from gankit.config import load_config
    from gankit.data import build_dataset
    from gankit.recipes.gan import AdversarialGAN

    for loss in ("wgan", "wgan-gp"):
        cfg = load_config("dcgan", overrides=[f"loss.name={loss}", "aug.mode=ada"])
        with pytest.raises(GankitError, match="needs a loss with a decision boundary"):
            AdversarialGAN(cfg, build_dataset(cfg.data), "cpu")
    cfg = load_config("dcgan", overrides=["loss.name=wgan-gp", "aug.mode=diffaug"])
    assert AdversarialGAN(cfg, build_dataset(cfg.data), "cpu").aug is not None


def test_modes_and_bad_mode():
    assert Augmenter("fixed:0.3").p == 0.3 and Augmenter("diffaug").p == 1.0
    with pytest.raises(GankitError, match="--aug must be none, ada, fixed:P or diffaug"):
        Augmenter("sometimes")
    with pytest.raises(GankitError, match="P in"):
        Augmenter("fixed:2")


def test_unknown_op_is_refused_before_training(tmp_path):
    """ADA starts at p = 0, where no op runs: a misspelt op must fail at start, not hundreds of steps in."""
    from gankit.cli.main import main

    with pytest.raises(GankitError, match="unknown augmentation 'flip' in aug.ops"):
        Augmenter("ada", ops=["translate", "flip"])
    assert main(["train", "dcgan", "--steps", "1", "--aug", "ada", "--set", "aug.ops=[flip]",
                 "--out", str(tmp_path / "run")]) == 2
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize("recipe, data, refused", [("began", "mnist-5k", "recipe 'began'"),
                                                   ("gan", "toy2d-ring", "points data ('toy2d-ring')")])
def test_aug_is_refused_where_nothing_would_be_augmented(tmp_path, recipe, data, refused):
    """--aug used to be ignored silently by recipes (and data) without augmentation."""
    with pytest.raises(GankitError, match=re.escape(f"--aug ada: {refused} has no augmentation")):
        gankit.fit(recipe, data=data, steps=1, aug="ada", out=tmp_path / "r")


def test_p_and_monitors_survive_resume(tmp_path):
    # fast p for the test; all-conv nets with DCGAN's rates: D leads early, so p rises within 10 steps
    over = ["model.g_width=8", "model.d_width=8", "model.g_fc=0", "model.d_fc=0", "optim.G.lr=2e-4",
            "data.limit=512", "train.report=false", "train.log_every=5", "aug.kimg=1"]
    gankit.fit("dcgan", steps=10, batch_size=16, aug="ada", out=tmp_path / "r", overrides=over)
    s10 = load_checkpoint(latest_checkpoint(tmp_path / "r" / "checkpoints"))
    p10 = s10["recipe"]["aug"]["p"]
    assert 0 < p10 <= 1 and len(s10["engine"]["rt"]["values"]) == 10
    gankit.fit(resume=tmp_path / "r", steps=20)
    gankit.fit("dcgan", steps=20, batch_size=16, aug="ada", out=tmp_path / "straight", overrides=over)
    a = load_checkpoint(latest_checkpoint(tmp_path / "r" / "checkpoints"))
    b = load_checkpoint(latest_checkpoint(tmp_path / "straight" / "checkpoints"))
    assert a["recipe"]["aug"] == b["recipe"]["aug"] and a["engine"]["rt"] == b["engine"]["rt"]
    assert all(torch.equal(v, b["nets"]["G"][k]) for k, v in a["nets"]["G"].items())
