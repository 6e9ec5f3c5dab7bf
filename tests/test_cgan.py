"""CGAN: asking for a class gets that class (SPEC §5)."""
import json

import pytest
import torch

import gankit
from gankit.cli.main import main
from gankit.data import load_mnist, to_float
from gankit.metrics import class_diversity


def test_cgan_generator_records_classes_and_samples_by_label(tmp_path):
    assert main(["train", "cgan", "--steps", "20", "--out", str(tmp_path / "run"), "--set", "train.report=false",
                 "--set", "model.g_width=16", "--set", "model.d_width=16"]) == 0
    meta = json.loads((tmp_path / "run" / "generator" / "config.json").read_text())["meta"]
    assert meta["num_classes"] == 10 and meta["class_names"] == [str(i) for i in range(10)]
    assert main(["sample", str(tmp_path / "run" / "generator"), "--label", "7", "-n", "8", "-o", str(tmp_path / "s.png")]) == 0
    assert main(["sample", str(tmp_path / "run" / "generator"), "--label", "12", "-o", str(tmp_path / "s.png")]) == 2


def test_cgan_needs_labels(tmp_path):
    from gankit.data import save_image

    for i in range(4):
        save_image(torch.rand(1, 8, 8) * 2 - 1, tmp_path / "flat" / f"{i}.png")
    with pytest.raises(gankit.errors.GankitError, match="needs labels"):
        gankit.fit("cgan", data="image-folder", data_root=str(tmp_path / "flat"), steps=1, out=tmp_path / "r")


@pytest.mark.slow
def test_cgan_samples_are_the_asked_class(tmp_path, mnist_root, digit_classifier):
    run = gankit.fit("cgan", data="mnist", data_root=str(mnist_root), steps=1500, out=tmp_path / "cgan",
                     overrides=["train.report=false", "train.progress=false"])
    G = gankit.load_generator(run / "generator")
    hits, samples = [], []
    for label in range(10):
        x = gankit.sample(G, 100, seed=label, label=label)
        samples.append(x)
        hits.append((digit_classifier.predict(x) == label).float().mean())
    acc = torch.stack(hits).mean()
    # and G uses z: a G that draws one image per label scores 100% above (measured with a hidden FC
    # layer in G, model.g_fc=256: 100% of the asked class, within-class diversity 0.10 of real's)
    x_real, y_real = load_mnist(mnist_root, "test")
    keep = torch.cat([torch.nonzero(y_real == c).flatten()[:100] for c in range(10)])
    spread = class_diversity(torch.cat(samples), torch.arange(10).repeat_interleave(100), to_float(x_real[keep]), y_real[keep])
    assert spread >= 0.6, f"within-class diversity is {spread:.2f} of real digits': G ignores z"
    assert json.loads((run / "alarms.json").read_text()) == []
    # the default samples from an EMA of G. After 1,000 steps, seeds 0 / 1: 96.5 / 96.5% in float32,
    # 94.5 / 97.0% in bf16 (the default precision on a CPU with AVX512-BF16): too close to the bar, so
    # 1,500 steps: 97.0 / 97.8% in bf16. G's own last weights gave 94-97%; DCGAN's 1:1 schedule 78.5%
    assert acc >= 0.95, f"only {acc:.1%} of conditional samples are the asked class ({[round(float(h), 2) for h in hits]})"


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_projection_discriminator_adds_the_class_inner_product(arch):
    """D(x, y) = psi(phi(x)) + <embed(y), phi(x)> (Miyato & Koyama 2018): the label enters only there."""
    from gankit.nets.dcgan import DCGANDiscriminator
    from gankit.nets.mlp import MLPDiscriminator

    torch.manual_seed(0)
    D = (MLPDiscriminator((1, 28, 28), (32,), num_classes=10, cond="projection") if arch == "mlp"
         else DCGANDiscriminator(1, 28, 8, num_classes=10, norm="none", cond="projection"))
    x, y = torch.randn(4, 1, 28, 28), torch.tensor([0, 3, 7, 9])
    h = D.features(x, y)
    assert torch.allclose(D(x, y), D.head(h).squeeze(1))  # zero-initialised embedding: the unconditional D
    with torch.no_grad():
        D.project.embed.weight.normal_()
    expected = D.head(h).squeeze(1) + (D.project.embed.weight[y] * h).sum(1)
    assert torch.allclose(D(x, y), expected, atol=1e-5)
    assert not torch.allclose(D(x, y), D(x, (y + 1) % 10))


def test_unknown_conditioning_is_a_one_line_error(tmp_path):
    with pytest.raises(gankit.errors.GankitError, match="model.d_cond"):
        gankit.fit("cgan", steps=1, out=tmp_path / "r", overrides=["model.d_cond=film"])
