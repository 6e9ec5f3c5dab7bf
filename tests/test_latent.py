"""Latent tools, from an exported generator alone (the training run is deleted by the fixture)."""
import json

import numpy as np
import pytest
import torch

import gankit
from gankit.cli.main import main
from gankit.data import save_image
from gankit.latent import arithmetic, interpolate, invert, lerp, resolve_term, slerp, vary


def test_lerp_is_linear_and_slerp_keeps_norms_between_endpoints():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(64, generator=g), 2.5 * torch.randn(64, generator=g)
    t = torch.linspace(0, 1, 11).unsqueeze(1)
    path = lerp(a[None], b[None], t)
    assert torch.allclose(path[1:] - path[:-1], (b - a).expand(10, -1) / 10, atol=1e-5)  # equal steps
    s = slerp(a[None], b[None], t)
    lo, hi = sorted((a.norm().item(), b.norm().item()))
    assert torch.allclose(s[0], a, atol=1e-5) and torch.allclose(s[-1], b, atol=1e-5)
    assert ((s.norm(dim=1) >= lo - 1e-4) & (s.norm(dim=1) <= hi + 1e-4)).all()
    assert path.norm(dim=1)[5] < s.norm(dim=1)[5]  # the straight line sags toward the origin; slerp does not


def test_interpolation_and_variations_from_export(trained_dcgan_dir):
    G = gankit.load_generator(trained_dcgan_dir)
    z0, z1 = torch.randn(G.z_dim), torch.randn(G.z_dim)
    codes, imgs = interpolate(G, z0, z1, steps=6, spherical=True)
    assert imgs.shape == (6, 1, 28, 28) and torch.allclose(codes[0], z0, atol=1e-5)
    steps = (imgs[1:] - imgs[:-1]).abs().mean((1, 2, 3))
    assert steps.max() < (imgs[-1] - imgs[0]).abs().mean()  # small moves in z, smaller changes in G(z)
    codes, var = vary(G, z0, sigma=0.2, n=5)
    assert torch.equal(codes[0], z0) and var.shape == (5, 1, 28, 28)


def test_inversion_recovers_generated_images(trained_dcgan_dir):
    G = gankit.load_generator(trained_dcgan_dir)
    target = gankit.sample(G, 3, seed=5)
    res = invert(G, target, steps=250, restarts=3, lr=0.05)
    assert res.z.shape == (3, G.z_dim) and res.recon.shape == target.shape
    # the error falls: the mean over the last tenth of the steps is far below the first tenth
    first, last = res.curves[:25].mean(0), res.curves[-25:].mean(0)
    assert (last < 0.5 * first).all()
    # images G can make are recovered: mean absolute error below 0.05 on the [-1, 1] scale
    assert (res.error < 0.05).all(), res.error


def test_invert_cli_writes_codes_recons_and_curves(trained_dcgan_dir, tmp_path):
    G = gankit.load_generator(trained_dcgan_dir)
    save_image(gankit.sample(G, 1, seed=9)[0], tmp_path / "digit.png")
    assert main(["invert", str(trained_dcgan_dir), str(tmp_path / "digit.png"), "-o", str(tmp_path / "inv"),
                 "--steps", "60", "--restarts", "2"]) == 0
    assert np.load(tmp_path / "inv" / "z.npy").shape == (1, G.z_dim)
    errors = json.loads((tmp_path / "inv" / "errors.json").read_text())
    curve = errors["digit.png"]["curve"]
    assert len(curve) == 60 and curve[-1] < curve[0]
    assert (tmp_path / "inv" / "digit_recon.png").is_file()


def test_invert_cli_with_a_feature_space_term(trained_dcgan_dir, tmp_path):
    from gankit.metrics.classifier import DigitClassifier

    torch.manual_seed(0)
    DigitClassifier(width=8).eval().save_pretrained(tmp_path / "clf")
    G = gankit.load_generator(trained_dcgan_dir)
    save_image(gankit.sample(G, 1, seed=9)[0], tmp_path / "digit.png")
    args = ["invert", str(trained_dcgan_dir), str(tmp_path / "digit.png"), "--steps", "40", "--restarts", "1"]
    assert main(args + ["-o", str(tmp_path / "pix")]) == 0
    assert main(args + ["-o", str(tmp_path / "feat"), "--feature-weight", "5", "--features", str(tmp_path / "clf")]) == 0
    pix, feat = (json.loads((tmp_path / d / "errors.json").read_text())["digit.png"]["curve"] for d in ("pix", "feat"))
    assert pix[0] < feat[0]  # the recorded objective now includes the feature distance
    assert feat[-1] < feat[0]
    assert main(args + ["-o", str(tmp_path / "x"), "--feature-weight", "1", "--features", str(tmp_path / "nope")]) == 2


def test_arithmetic_with_identical_plus_minus_returns_third_term(trained_dcgan_dir, tmp_path):
    G = gankit.load_generator(trained_dcgan_dir)
    folder = tmp_path / "a"
    for i, img in enumerate(gankit.sample(G, 2, seed=21)):
        save_image(img, folder / f"{i}.png")
    kw = {"steps": 20, "restarts": 1}
    plus, minus = resolve_term(G, str(folder), kw), resolve_term(G, str(folder), kw)
    third = resolve_term(G, "3,4")
    means, result = arithmetic([(1, plus), (-1, minus), (1, third)])
    assert torch.allclose(result, third.mean(0), atol=1e-6)
    assert main(["arithmetic", str(trained_dcgan_dir), "--plus", str(folder), "--minus", str(folder),
                 "--plus", "3,4", "--noise", "0.2", "-n", "3", "--steps", "20", "--restarts", "1",
                 "-o", str(tmp_path / "arith.png"), "--save-z", str(tmp_path / "z.npy")]) == 0
    assert np.allclose(np.load(tmp_path / "z.npy")[0], third.mean(0).numpy(), atol=1e-6)


def test_latent_cli_paths(trained_dcgan_dir, tmp_path, capsys):
    assert main(["interpolate", str(trained_dcgan_dir), "--from", "1", "--to", "2", "--steps", "5", "--slerp",
                 "-o", str(tmp_path / "s.png"), "--gif", str(tmp_path / "a.gif")]) == 0
    assert (tmp_path / "s.png").is_file() and (tmp_path / "a.gif").is_file()
    from PIL import Image

    assert Image.open(tmp_path / "a.gif").size == (280, 280)  # 28 px frames enlarged to >= 256 px by default
    assert main(["interpolate", str(trained_dcgan_dir), "--from", "1", "--to", "2", "--steps", "3", "-o",
                 str(tmp_path / "s2.png"), "--gif", str(tmp_path / "b.gif"), "--gif-scale", "2"]) == 0
    assert Image.open(tmp_path / "b.gif").size == (56, 56)
    assert main(["interpolate", str(trained_dcgan_dir), "--from", "1", "--to", "2", "-o", str(tmp_path / "s3.png"),
                 "--gif", str(tmp_path / "c.gif"), "--gif-scale", "0"]) == 2
    assert main(["vary", str(trained_dcgan_dir), "--seed", "3", "--sigma", "0.2", "-n", "4", "-o", str(tmp_path / "v.png")]) == 0
    (tmp_path / "bad.png").write_text("not an image")
    assert main(["invert", str(trained_dcgan_dir), str(tmp_path / "bad.png"), "-o", str(tmp_path / "x")]) == 2
    assert main(["arithmetic", str(trained_dcgan_dir), "--plus", "not-a-term", "-o", str(tmp_path / "y.png")]) == 2
    err = capsys.readouterr().err
    assert "not a valid or complete image" in err and "is not a folder, a code file" in err
