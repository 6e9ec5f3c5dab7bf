"""Translation building blocks: PatchGAN receptive fields, U-Net skips, test-time dropout, the
image pool, cycle/identity losses, paired data and jitter, and `gankit translate`."""
from __future__ import annotations

import pytest
import torch
from PIL import Image

from gankit.cli.main import main
from gankit.data.translation import jitter, load_paired, load_unpaired
from gankit.errors import GankitError
from gankit.losses import cycle_loss, identity_loss
from gankit.nets import load_pretrained
from gankit.nets.translation import CycleGANPair, PatchDiscriminator, ResnetGenerator, UNetGenerator
from gankit.recipes.cyclegan import ImagePool


def receptive_field(D: PatchDiscriminator, size: int) -> int:
    """Width of the input region that the centre output logit depends on (from its gradient)."""
    x = torch.randn(1, D.net[0].in_channels, size, size, requires_grad=True)
    out = D(x)
    out[0, out.shape[1] // 2, out.shape[2] // 2].backward()
    cols = x.grad.abs().sum((0, 1, 2)).nonzero().flatten()
    return int(cols.max() - cols.min() + 1)


@pytest.mark.parametrize("n_layers,rf", [(0, 1), (1, 16), (3, 70), (5, 286)])
def test_patchgan_receptive_field_and_shape(n_layers, rf):
    D = PatchDiscriminator(6, ndf=4, n_layers=n_layers, norm="batch").eval()
    size = 320 if rf > 100 else 128
    assert receptive_field(D, size) == rf
    assert D(torch.randn(2, 6, 128, 96)).shape[0] == 2  # any size works; one logit per patch
    expected = {0: 64, 1: 30, 3: 6}.get(n_layers)
    if expected:
        assert D(torch.randn(2, 6, 64, 64)).shape == (2, expected, expected)


def _local_ratio(G: UNetGenerator) -> float:
    """|change of the output inside the edited 8x8 patch| / |change elsewhere| (mean per pixel)."""
    torch.manual_seed(0)
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    x2 = x.clone()
    x2[..., 24:32, 24:32] = -x2[..., 24:32, 24:32]
    with torch.no_grad():
        d = (G(x2) - G(x)).abs().sum(1)[0]
    inside = d[24:32, 24:32].mean()
    mask = torch.ones_like(d, dtype=torch.bool)
    mask[20:36, 20:36] = False
    return float(inside / d[mask].mean())


def test_unet_skips_carry_local_detail_encoder_decoder_blurs():
    torch.manual_seed(0)
    unet = UNetGenerator(3, 3, num_downs=6, ngf=8, dropout=0.0, skips=True).eval()
    torch.manual_seed(0)
    encdec = UNetGenerator(3, 3, num_downs=6, ngf=8, dropout=0.0, skips=False).eval()
    assert _local_ratio(unet) > 5.0     # the edit shows up where it was made
    assert _local_ratio(encdec) < 2.0   # through the 1x1 bottleneck it spreads over the image


def test_pix2pix_dropout_is_active_at_test_time(tmp_path):
    G = UNetGenerator(3, 3, num_downs=5, ngf=8, dropout=0.5).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(G(x), G(x))
        G.save_pretrained(tmp_path / "g")
        H = load_pretrained(tmp_path / "g")  # comes back in eval() mode
        assert not H.training and not torch.allclose(H(x), H(x))
        still = UNetGenerator(3, 3, num_downs=5, ngf=8, dropout=0.0).eval()
        assert torch.equal(still(x), still(x))


def test_resnet_generator_and_pair_shapes():
    G = ResnetGenerator(3, 3, ngf=8, n_blocks=2)
    assert G(torch.randn(2, 3, 32, 48)).shape == (2, 3, 32, 48)
    P = CycleGANPair(3, ngf=8, n_blocks=2)
    x = torch.randn(1, 3, 16, 16)
    assert torch.equal(P(x, "AtoB"), P.G(x)) and torch.equal(P(x, "BtoA"), P.F(x))
    with pytest.raises(GankitError):
        P(x, "sideways")
    with pytest.raises(GankitError, match="divisible by 4"):
        G(torch.randn(1, 3, 30, 32))


def test_cycle_and_identity_losses_hand_computed():
    a, b = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    rec_a = torch.tensor([[[[0.5, -0.5], [1.0, 0.0]]]])   # |.| mean = 0.5
    rec_b = torch.tensor([[[[1.0, 1.0], [0.0, 3.0]]]])    # |. - 1| = 0, 0, 1, 2 -> mean 0.75
    assert cycle_loss(a, rec_a, b, rec_b).item() == pytest.approx(1.25)
    f_a = torch.full((1, 1, 2, 2), 0.25)                  # 0.25
    g_b = torch.full((1, 1, 2, 2), -1.0)                  # 2.0
    assert identity_loss(a, f_a, b, g_b).item() == pytest.approx(2.25)


def test_image_pool_returns_old_images_half_the_time_once_full():
    torch.manual_seed(0)
    pool = ImagePool(50)
    first = torch.arange(50.0).view(50, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # while filling: the new images themselves
    old = 0
    for i in range(2000):
        new = torch.full((1, 1, 1, 1), 1000.0 + i)
        old += int(pool.query(new).item() != 1000.0 + i)
    assert 0.45 < old / 2000 < 0.55
    assert len(pool.images) == 50
    assert torch.equal(ImagePool(0).query(first), first)


def test_jitter_crops_and_flips_both_images_of_a_pair_alike():
    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 255, (16, 3, 20, 20), dtype=torch.uint8)
    fn = jitter(20, 16, flip=True)
    out = fn({"x": a, "x_b": 255 - a}, g)
    assert out["x"].shape == (16, 3, 16, 16)
    assert torch.equal(out["x_b"], 255 - out["x"])  # the same crop and flip for both
    flipped = sum(any(torch.equal(out["x"][k], a[k, :, i:i + 16, j:j + 16].flip(-1))
                      for i in range(5) for j in range(5)) for k in range(16))
    assert 2 <= flipped <= 14
    again = fn({"x": a, "x_b": 255 - a}, g)
    assert not torch.equal(again["x"], out["x"])  # fresh draws per batch


def _save(path, arr, mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.numpy(), mode).save(path)


def test_paired_layouts_direction_and_grayscale(tmp_path):
    torch.manual_seed(0)
    ab = torch.randint(0, 255, (8, 16, 3), dtype=torch.uint8)
    _save(tmp_path / "ab" / "train" / "1.png", ab)
    _save(tmp_path / "ab" / "train" / "2.png", ab[..., 0], "L")  # grayscale in an RGB set: converted
    a, b = load_paired(tmp_path / "ab", "train", "AtoB")
    assert a.shape == (2, 3, 8, 8) and torch.equal(a[0], ab[:, :8].permute(2, 0, 1))
    assert torch.equal(b[0], ab[:, 8:].permute(2, 0, 1))
    a2, b2 = load_paired(tmp_path / "ab", "train", "BtoA")
    assert torch.equal(a2, b) and torch.equal(b2, a)
    _save(tmp_path / "ab2" / "train" / "A" / "x.png", ab[:, :8])
    _save(tmp_path / "ab2" / "train" / "B" / "x.png", ab[:, 8:])
    a3, b3 = load_paired(tmp_path / "ab2", "train", "AtoB")
    assert torch.equal(a3[0], a[0]) and torch.equal(b3[0], b[0])
    _save(tmp_path / "ab2" / "train" / "B" / "y.png", ab[:, 8:])
    with pytest.raises(GankitError, match="same names"):
        load_paired(tmp_path / "ab2", "train", "AtoB")
    _save(tmp_path / "u" / "trainA" / "h.png", ab)
    with pytest.raises(GankitError, match="trainB"):
        load_unpaired(tmp_path / "u", "train", None)


def test_translate_cli_any_size_and_clear_errors(tmp_path, capsys):
    torch.manual_seed(0)
    P = CycleGANPair(3, ngf=4, n_blocks=1)
    P.meta = {"kind": "translate", "recipe": "cyclegan", "image_size": 32, "channels": 3, "directions": ["AtoB", "BtoA"]}
    P.save_pretrained(tmp_path / "gen")
    _save(tmp_path / "in" / "odd.png", torch.randint(0, 255, (37, 50, 3), dtype=torch.uint8))
    _save(tmp_path / "in" / "grey.png", torch.randint(0, 255, (20, 20), dtype=torch.uint8), "L")
    for fit in ("pad", "resize"):
        assert main(["translate", str(tmp_path / "gen"), str(tmp_path / "in"), "-o", str(tmp_path / fit),
                     "--direction", "BtoA", "--fit", fit]) == 0
        assert Image.open(tmp_path / fit / "odd.png").size == (50, 37)
        assert Image.open(tmp_path / fit / "grey.png").mode == "RGB"
    assert main(["upscale", str(tmp_path / "gen"), str(tmp_path / "in"), "-o", str(tmp_path / "u")]) == 2
    assert main(["translate", str(tmp_path / "gen"), str(tmp_path / "in"), "-o", str(tmp_path / "x"),
                 "--max-side", "40"]) == 2
    err = capsys.readouterr().err
    assert "not 'upscale'" in err and "larger than --max-side 40" in err


def test_gankit_eval_paired_metrics_of_a_translator(facades_root, tmp_path):
    """`gankit eval GEN --metrics paired` scores outputs on held-out inputs against their targets."""
    import json

    from gankit.data import to_float
    from gankit.data.translation import load_paired
    from gankit.metrics import paired_metrics

    torch.manual_seed(0)
    G = UNetGenerator(3, 3, num_downs=5, ngf=4, dropout=0.0).eval()
    G.meta = {"kind": "translate", "recipe": "pix2pix", "dataset": "facades", "image_size": 32, "channels": 3}
    G.save_pretrained(tmp_path / "gen")
    assert main(["eval", str(tmp_path / "gen"), "--metrics", "paired", "--split", "val", "-n", "8",
                 "--data-root", str(facades_root), "--json", str(tmp_path / "e.json")]) == 0
    got = json.loads((tmp_path / "e.json").read_text())["metrics"]
    x, y = load_paired(facades_root, "val", "BtoA", 32)  # pix2pix's default direction
    with torch.no_grad():
        want = paired_metrics(G(to_float(x[:8])), to_float(y[:8]))
    assert got["l1"] == pytest.approx(want["l1"], rel=1e-5) and got["ssim"] == pytest.approx(want["ssim"], rel=1e-5)


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("x_last,g_last", [(False, False), (True, True), (False, True)])
def test_instance_norm_equals_the_formula_in_every_memory_format(n, x_last, g_last):
    """gankit's InstanceNorm2d against (x - mean) / sqrt(var + eps) per image and channel, in float64:
    outputs and input gradients, channels-last or not (F.instance_norm's input gradient is wrong
    for one channels-last image in torch 2.14)."""
    from gankit.nets.blocks import InstanceNorm2d

    g = torch.Generator().manual_seed(0)
    x0, g0 = 3 * torch.randn(n, 8, 12, 12, generator=g, dtype=torch.float64) + 1, torch.randn(n, 8, 12, 12, generator=g, dtype=torch.float64)
    x = x0.clone().requires_grad_()
    mean, var = x.mean((2, 3), keepdim=True), x.var((2, 3), unbiased=False, keepdim=True)
    ((x - mean) / torch.sqrt(var + 1e-5)).backward(g0)
    fmt = lambda t, last: t.float().contiguous(memory_format=torch.channels_last if last else torch.contiguous_format)  # noqa: E731
    xf = fmt(x0, x_last).requires_grad_()
    y = InstanceNorm2d(8)(xf)
    y.backward(fmt(g0, g_last))
    want = (x0 - x0.mean((2, 3), keepdim=True)) / torch.sqrt(x0.var((2, 3), unbiased=False, keepdim=True) + 1e-5)
    assert (y.double() - want).abs().max() < 1e-5
    assert (xf.grad.double() - x.grad).abs().max() < 1e-5
    assert y.is_contiguous(memory_format=torch.channels_last) == x_last  # the memory format is kept


@pytest.mark.parametrize("channels_last", [False, True])
def test_reflection_pad_under_bf16_autocast_gives_torchs_bits_and_gradient(channels_last):
    """gankit's ReflectionPad2d keeps a bf16 map bf16 under autocast, where torch's pads in float32:
    the padded values and the input gradient (summed in float32, rounded once) are bit-equal."""
    from torch import nn

    from gankit.nets.blocks import ReflectionPad2d

    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(2, 5, 9, 9, generator=g).bfloat16()
    if channels_last:
        x0 = x0.contiguous(memory_format=torch.channels_last)
    grad = (1000 * torch.randn(2, 5, 15, 15, generator=g) + torch.randn(2, 5, 15, 15, generator=g)).bfloat16()
    outs = []
    for pad in (nn.ReflectionPad2d(3), ReflectionPad2d(3)):
        x = x0.clone().requires_grad_()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = pad(x)
        y.to(torch.bfloat16).backward(grad)  # as the next convolution casts its input
        outs.append((y, x.grad))
    (y_torch, g_torch), (y_ours, g_ours) = outs
    assert y_torch.dtype == torch.float32 and y_ours.dtype == torch.bfloat16
    assert torch.equal(y_torch.bfloat16(), y_ours) and torch.equal(g_torch, g_ours)
    assert y_ours.is_contiguous(memory_format=torch.channels_last) == channels_last
