"""Super-resolution: SRResNet / SRGAN networks, bicubic LR pairs, the offline content-loss choice,
SRGAN starting from an SRResNet export, a short SRResNet run beating bicubic, `gankit upscale`/`eval`.

The learning bar: SRResNet (2 blocks of 16 channels) trained 100 steps on MNIST (28 px HR, 7 px LR)
must beat bicubic upscaling by >= 1.5 dB PSNR on 200 MNIST test digits (measured: 17.1 vs 14.6 dB)."""
from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gankit.api import fit, load_generator
from gankit.cli.main import main
from gankit.config import load_config
from gankit.data import ImageData, build_dataset
from gankit.data.sr import bicubic_down, sr_crops, sr_pairs, trim_to_multiple
from gankit.errors import GankitError
from gankit.nets.sr import SRGANDiscriminator, SRResNet
from gankit.nets.vgg import VGGFeatures
from gankit.recipes import srgan as sr_recipes


@pytest.mark.parametrize("scale,shuffles", [(2, 1), (4, 2), (8, 3)])
def test_srresnet_upscales_by_scale_with_log2_pixel_shuffles(scale, shuffles):
    G = SRResNet(3, ngf=8, n_blocks=2, scale=scale)
    assert sum(isinstance(m, torch.nn.PixelShuffle) for m in G.modules()) == shuffles
    y = G(torch.rand(2, 3, 13, 9) * 2 - 1)
    assert y.shape == (2, 3, 13 * scale, 9 * scale) and y.abs().max() <= 1  # tanh output
    assert G.multiple == 1 and G.scale == scale
    with pytest.raises(GankitError, match="takes N x 3 x H x W"):
        G(torch.rand(1, 1, 8, 8))
    with pytest.raises(GankitError, match="power of 2"):
        SRResNet(3, scale=3)


@pytest.mark.parametrize("shape", [(2, 3, 96, 96), (3, 3, 37, 50), (1, 3, 24, 200)])
def test_srgan_discriminator_any_size_one_logit(shape):
    D = SRGANDiscriminator(3, ndf=8).eval()
    assert D(torch.randn(*shape)).shape == (shape[0],)
    assert sum(isinstance(m, torch.nn.Conv2d) and m.stride == (2, 2) for m in D.modules()) == 4


def test_bicubic_lr_is_torch_antialiased_bicubic_rounded():
    torch.manual_seed(0)
    hr = torch.randint(0, 256, (4, 3, 35, 50), dtype=torch.uint8)
    lr, hr_t = sr_pairs(hr, 4)
    assert hr_t.shape == (4, 3, 32, 48) and torch.equal(hr_t, hr[..., 1:33, 1:49])  # centre-trimmed to x4
    assert lr.shape == (4, 3, 8, 12) and lr.dtype == torch.uint8
    want = F.interpolate(hr_t.float(), size=(8, 12), mode="bicubic", antialias=True, align_corners=False)
    assert torch.equal(lr, want.round().clamp(0, 255).byte())
    assert not torch.equal(lr, F.interpolate(hr_t.float(), size=(8, 12), mode="bicubic").round().clamp(0, 255).byte())
    flat = torch.full((1, 1, 16, 16), 200, dtype=torch.uint8)
    assert torch.equal(bicubic_down(flat, 4), torch.full((1, 1, 4, 4), 200, dtype=torch.uint8))
    with pytest.raises(GankitError, match="not divisible"):
        bicubic_down(hr, 4)
    with pytest.raises(GankitError, match="smaller than the scale"):
        trim_to_multiple(hr[..., :3, :3], 4)


def test_sr_crops_pair_each_hr_crop_with_its_lr():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (8, 1, 40, 30), dtype=torch.uint8)
    out = sr_crops(16, 4, flip=True)({"x": x, "y": torch.arange(8)}, g)
    assert out["x_b"].shape == (8, 1, 16, 16) and out["x"].shape == (8, 1, 4, 4)
    assert torch.equal(out["x"], bicubic_down(out["x_b"], 4)) and torch.equal(out["y"], torch.arange(8))
    found = [any(torch.equal(out["x_b"][k], c) or torch.equal(out["x_b"][k], c.flip(-1))
                 for i in range(25) for j in range(15) for c in [x[k, :, i:i + 16, j:j + 16]]) for k in range(8)]
    assert all(found)
    with pytest.raises(GankitError, match="divisible by model.scale"):
        sr_crops(18, 4, flip=False)


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """An empty torch hub cache, and any download attempt fails the test."""
    import urllib.request

    def refuse(*a, **k):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"


def test_content_loss_falls_back_to_pixel_mse_offline_without_download(no_network, recwarn):
    with pytest.warns(UserWarning, match="VGG19 weights not found.*pixel MSE"):
        net, label = sr_recipes.content_network("auto")
    assert net is None and "SRGAN-MSE" in label
    assert sr_recipes.content_network("mse")[0] is None
    with pytest.raises(GankitError, match="never downloads"):
        sr_recipes.content_network("vgg54")
    with pytest.raises(GankitError, match="loss.content"):
        sr_recipes.content_network("inception")


def test_content_loss_uses_vgg_when_its_weights_file_is_present(no_network):
    """A file at torchvision's cache path is used as is (here one holding conv1_1..conv2_2 only)."""
    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(0)
    feats = make_layers(cfgs["E"])[:9]
    no_network.parent.mkdir(parents=True)
    torch.save({f"features.{k}": v for k, v in feats.state_dict().items()}, no_network)
    net, label = sr_recipes.content_network("vgg22")
    assert isinstance(net, VGGFeatures) and "VGG22" in label
    assert torch.equal(net.net[7].weight, feats[7].weight) and not any(p.requires_grad for p in net.parameters())
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert net(x).shape == (2, 128, 8, 8) and net(x[:, :1]).shape == (2, 128, 8, 8)
    with pytest.raises(GankitError, match="cannot load VGG19 weights"):  # vgg54 needs layers the file lacks
        sr_recipes.content_network("auto")


def _srgan_cfg(*extra):
    return load_config("srgan", overrides=["data.crop_size=28", "model.ngf=8", "model.n_blocks=1",
                                           "loss.content=mse", *extra])


def test_srgan_starts_from_an_srresnet_export_or_warns(tmp_path):
    torch.manual_seed(0)
    src = SRResNet(1, ngf=6, n_blocks=2, scale=4)
    src.meta = {"kind": "upscale", "scale": 4}
    src.save_pretrained(tmp_path / "run" / "generator")
    (tmp_path / "run" / "config.yaml").write_text("recipe: srresnet\n")
    data = ImageData(x=torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8))
    for path in (tmp_path / "run", tmp_path / "run" / "generator"):
        r = sr_recipes.SRGAN(_srgan_cfg(f"model.init_from={path}"), data, "cpu")
        assert r.G.init_kwargs["ngf"] == 6 and r.G.training  # the export's architecture, ready to train
        assert all(torch.equal(a, b) for a, b in zip(r.G.state_dict().values(), src.state_dict().values()))
        assert r.G.meta["init_from"] == str(tmp_path / "run" / "generator") and r.G.meta["kind"] == "upscale"
    with pytest.raises(GankitError, match="x4 with 1 channels; this run needs x2"):
        sr_recipes.SRGAN(_srgan_cfg(f"model.init_from={tmp_path / 'run'}", "model.scale=2"), data, "cpu")
    with pytest.raises(GankitError, match="not an exported generator"):
        sr_recipes.SRGAN(_srgan_cfg(f"model.init_from={tmp_path}"), data, "cpu")
    with pytest.warns(UserWarning, match="init_from is not set, so G trains from scratch"):
        r = sr_recipes.SRGAN(_srgan_cfg(), data, "cpu")
    assert r.G.meta["init_from"] is None


@pytest.fixture(scope="module")
def srresnet_run(mnist_root, tmp_path_factory):
    torch.set_num_threads(1)
    over = [f"data.root={mnist_root}", "data.crop_size=28", "data.eval_split=test", "model.ngf=16",
            "model.n_blocks=2", "optim.G.lr=0.002", "train.batch_size=32", "eval.n=200", "train.progress=false",
            "train.report=false", "train.sample_every=100", "train.ckpt_every=100", "train.channels_last=false"]
    run = fit("srresnet", data="mnist", steps=100, out=tmp_path_factory.mktemp("sr") / "srresnet", overrides=over)
    torch.set_num_threads(2)
    return run, over


def test_short_srresnet_run_beats_bicubic_on_held_out_digits(srresnet_run, one_thread):
    run, over = srresnet_run
    G = load_generator(run / "generator")
    assert G.meta["kind"] == "upscale" and G.meta["scale"] == 4 and G.meta["channels"] == 1
    cfg = load_config("srresnet", overrides=over + ["data.name=mnist", "data.limit=64"])
    recipe = sr_recipes.SRResNet(cfg, build_dataset(cfg.data, 0), "cpu")
    got = recipe.evaluate(G)
    print({k: round(v, 3) for k, v in got.items()})
    assert got["val_psnr"] >= got["bicubic_psnr"] + 1.5
    assert got["val_ssim"] > got["bicubic_ssim"]
    assert math.isfinite(json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["g/psnr"])


def test_gankit_eval_paired_on_an_sr_run(srresnet_run, mnist_root, tmp_path, one_thread):
    """`gankit eval RUN --metrics paired`: G on the LR of the first n test digits vs the digits."""
    from gankit.data import load_mnist, to_float
    from gankit.metrics import paired_metrics

    run, _ = srresnet_run
    assert main(["eval", str(run), "--metrics", "paired", "--split", "test", "-n", "40", "--json", str(tmp_path / "e.json")]) == 0
    got = json.loads((tmp_path / "e.json").read_text())["metrics"]
    lr, hr = sr_pairs(load_mnist(mnist_root, "test")[0][:40], 4)
    with torch.no_grad():
        want = paired_metrics(load_generator(run / "generator")(to_float(lr)), to_float(hr))
    assert got["psnr"] == pytest.approx(want["psnr"], rel=1e-4) and got["ssim"] == pytest.approx(want["ssim"], rel=1e-4)


def test_upscale_cli_writes_4x_images_and_rejects_bad_input_in_one_line(srresnet_run, tmp_path, capsys):
    run, _ = srresnet_run
    rgb = torch.randint(0, 255, (13, 9, 3), dtype=torch.uint8)
    (tmp_path / "in").mkdir()
    Image.fromarray(rgb.numpy(), "RGB").save(tmp_path / "in" / "odd.png")  # RGB into a 1-channel model: converted
    assert main(["upscale", str(run / "generator"), str(tmp_path / "in"), "-o", str(tmp_path / "out")]) == 0
    out = Image.open(tmp_path / "out" / "odd.png")
    assert out.size == (36, 52) and out.mode == "L"
    (tmp_path / "bad.png").write_text("not an image")
    capsys.readouterr()
    assert main(["upscale", str(run / "generator"), str(tmp_path / "bad.png"), "-o", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not a valid or complete image" in err
    assert main(["upscale", str(run / "generator"), str(tmp_path / "in"), "-o", str(tmp_path / "o3"), "--max-side", "10"]) == 2
    assert "larger than --max-side 10" in capsys.readouterr().err
    assert main(["translate", str(run / "generator"), str(tmp_path / "in"), "-o", str(tmp_path / "o4")]) == 2
    assert "not 'translate'" in capsys.readouterr().err


def test_srgan_trains_from_the_srresnet_run(srresnet_run, tmp_path, one_thread):
    run, over = srresnet_run
    out = fit("srgan", data="mnist", steps=3, out=tmp_path / "srgan",
              overrides=over + [f"model.init_from={run}", "model.ndf=8", "loss.content=mse", "train.log_every=1"])
    logs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert {"loss/D", "loss/G", "g/content", "g/adv", "d/acc_real"} <= set(logs[0])
    G = load_generator(out / "generator")
    assert G.meta["init_from"] == str(run / "generator") and "0.001 x adversarial" in G.meta["loss"]
