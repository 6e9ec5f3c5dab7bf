"""Alarms and divergence handling (SPEC §3)."""
import json

import pytest
import torch

import gankit
from gankit.config import load_config
from gankit.errors import GankitError
from gankit.recipes.base import Recipe
from gankit.recipes.gan import AdversarialGAN
from gankit.train.alarms import Alarms
from gankit.train.checkpoint import latest_checkpoint, load_checkpoint

TOY = ["model.g_widths=[32,32]", "model.d_widths=[32]", "train.report=false", "train.log_every=5", "train.ckpt_every=10"]


def test_collapse_alarm_fires_for_a_generator_with_one_output():
    alarms = Alarms(load_config("gan").monitor)
    real = torch.rand(64, 1, 8, 8) * 2 - 1
    assert alarms.on_samples(600, real[torch.randperm(64)], real) == []
    collapsed = real[:1].repeat(64, 1, 1, 1)
    assert alarms.on_samples(499, collapsed, real) == []  # before monitor.collapse_after (500): G is still learning
    msgs = alarms.on_samples(700, collapsed, real)
    assert len(msgs) == 1 and "mode collapse at step 700" in msgs[0]
    assert alarms.on_samples(800, collapsed, real) == []  # printed once


def test_collapse_alarm_with_a_classifier():
    alarms = Alarms(load_config("gan").monitor, classify=lambda x: torch.full((len(x),), 3))
    msgs = alarms.on_samples(500, torch.zeros(64, 1, 28, 28), torch.zeros(64, 1, 28, 28))
    assert msgs and "cover only 1 class" in msgs[0]


def test_collapse_within_classes_fires_for_a_conditional_generator_that_ignores_z():
    """A conditional G that draws one image per label covers every class: only the within-class
    diversity, against real images of the same class, shows the collapse."""
    from gankit.metrics import class_diversity

    torch.manual_seed(0)
    real_y = torch.arange(10).repeat(16)
    real = torch.rand(160, 1, 8, 8) * 2 - 1
    labels = torch.arange(64) % 10
    varied = real[torch.randperm(160)[:64]]  # any real images stand in for a G that uses z
    one_per_class = real[:10][labels] + 0.01 * torch.randn(64, 1, 8, 8)
    assert class_diversity(varied, labels, real, real_y) == pytest.approx(1.0, abs=0.15)
    assert class_diversity(one_per_class, labels, real, real_y) < 0.05
    alarms = Alarms(load_config("cgan").monitor, classify=lambda x: torch.arange(len(x)) % 10)
    assert alarms.on_samples(600, varied, real, labels, real_y) == []
    assert alarms.on_samples(499, one_per_class, real, labels, real_y) == []
    msgs = alarms.on_samples(700, one_per_class, real, labels, real_y)
    assert len(msgs) == 1 and "mode collapse within classes at step 700" in msgs[0]
    # the class-coverage and whole-grid spread checks pass this G (10 classes, spread across classes):
    # without the asked labels, only its samples' nearest neighbours give it away
    blind = Alarms(load_config("cgan").monitor, classify=lambda x: torch.arange(len(x)) % 10).on_samples(700, one_per_class, real)
    assert len(blind) == 1 and "nearest neighbour" in blind[0]


def test_collapse_within_the_classifier_classes_of_an_unconditional_generator():
    """Ten prototypes, one per digit, cover every class: the classifier's classes, each checked
    against real images of that class, show the collapse."""
    torch.manual_seed(0)
    real_y = torch.arange(10).repeat(16)
    real = torch.rand(160, 1, 8, 8) * 2 - 1
    kind = torch.arange(64) % 10
    prototypes = real[:10][kind] + 0.01 * torch.randn(64, 1, 8, 8)
    alarms = Alarms(load_config("dcgan").monitor, classify=lambda x: kind)
    assert alarms.on_samples(600, real[torch.randperm(160)[:64]], real, None, real_y) == []
    msgs = alarms.on_samples(700, prototypes, real, None, real_y)
    assert len(msgs) == 1 and "within classes at step 700" in msgs[0] and "by the domain classifier" in msgs[0]


def test_collapse_to_a_few_images_without_labels_or_classifier():
    """Twenty prototypes spread as widely as real images: the whole-grid spread check passes them,
    their nearest neighbours do not. An untrained G's samples, all alike but not copies, and a
    healthy G's pass both."""
    from gankit.metrics import mean_pairwise_distance, nearest_neighbour_ratio

    torch.manual_seed(0)
    real = torch.rand(160, 1, 8, 8) * 2 - 1
    prototypes = real[:20][torch.arange(64) % 20] + 0.01 * torch.randn(64, 1, 8, 8)
    blobs = 0.1 * torch.randn(64, 1, 8, 8)  # alike, each with its own noise
    healthy = torch.rand(64, 1, 8, 8) * 2 - 1
    assert mean_pairwise_distance(prototypes) > 0.9 * mean_pairwise_distance(real)
    assert nearest_neighbour_ratio(prototypes, real) < 0.05
    assert nearest_neighbour_ratio(healthy, real) == pytest.approx(1.0, abs=0.15)
    assert nearest_neighbour_ratio(blobs, real) > 0.8
    assert nearest_neighbour_ratio(real[:1].repeat(64, 1, 1, 1), real) is None  # no spread at all: the spread check's case
    cfg = load_config("dcgan").monitor
    assert Alarms(cfg).on_samples(600, healthy, real) == []
    assert Alarms(cfg).on_samples(600, blobs * 5, real) == []
    msgs = Alarms(cfg).on_samples(600, prototypes, real)
    assert len(msgs) == 1 and "mode collapse at step 600" in msgs[0] and "nearest neighbour" in msgs[0]
    assert Alarms(cfg).on_samples(600, prototypes[:, 0, 0, :2], real[:, 0, 0, :2]) == []  # 2-D points: modes are the toy metrics' job


def test_engine_judges_a_conditional_grid_class_by_class(tmp_path, monkeypatch):
    """The engine hands the alarm the grid's labels and real images of those classes."""
    protos = torch.rand(10, 1, 28, 28) * 2 - 1  # one image per label, whatever z says
    monkeypatch.setattr(AdversarialGAN, "render", lambda self, G, fixed: protos[fixed["y"].cpu()])
    run = gankit.fit("cgan", steps=4, out=tmp_path / "run", overrides=[
        "model.g_width=8", "model.d_width=8", "train.sample_every=2", "monitor.collapse_after=0",
        "train.report=false", "train.progress=false"])
    fired = json.loads((run / "alarms.json").read_text())
    assert [a["name"] for a in fired] == ["collapse"] and "within classes at step 2" in fired[0]["message"]


def test_engine_catches_an_unconditional_generator_that_repeats_a_few_images(tmp_path, monkeypatch):
    """No classifier, labelled data (mnist-5k): the grid's nearest neighbours against real digits."""
    protos = torch.rand(8, 1, 28, 28) * 2 - 1
    monkeypatch.setattr(AdversarialGAN, "render", lambda self, G, fixed: protos[torch.arange(len(fixed["z"])) % 8])
    monkeypatch.setattr(Recipe, "domain_classifier", lambda self: None)  # whatever classifier this machine caches
    run = gankit.fit("gan", steps=4, out=tmp_path / "run", overrides=[
        *TOY, "train.sample_every=2", "monitor.collapse_after=0", "train.progress=false"])
    fired = json.loads((run / "alarms.json").read_text())
    assert [a["name"] for a in fired] == ["collapse"] and "nearest neighbour" in fired[0]["message"]


def test_collapse_is_judged_on_draws_from_noise_only(tmp_path, monkeypatch):
    """An upscaling grid holds inputs, outputs and targets side by side, close to one another by
    design: it is not judged for collapse. A GAN's grid of draws is."""
    judged = []
    monkeypatch.setattr(Alarms, "on_samples", lambda self, step, imgs, *rest: judged.append(tuple(imgs.shape)) or [])
    common = ["train.report=false", "train.progress=false", "train.sample_every=2", "eval.n=8"]
    gankit.fit("srresnet", data="mnist-5k", steps=2, out=tmp_path / "sr", overrides=[
        *common, "data.crop_size=28", "model.ngf=8", "model.n_blocks=1", "train.batch_size=4"])
    assert judged == []
    gankit.fit("gan", steps=2, out=tmp_path / "gan", overrides=[*common, *TOY])
    assert judged == [(64, 1, 28, 28)]


def test_domination_alarm_needs_d_winning_while_g_loss_rises():
    alarms = Alarms(load_config("gan").monitor)  # 5 intervals at acc_fake >= 0.99
    for i, g in enumerate([1.0, 1.2, 1.1, 1.3, 1.5]):
        msgs = alarms.on_logs(i, {"d/acc_fake": 0.995, "loss/G": g})
    assert msgs and "D has won" in msgs[0]
    flat = Alarms(load_config("gan").monitor)
    for i in range(6):
        assert flat.on_logs(i, {"d/acc_fake": 0.995, "loss/G": 2.0 - 0.1 * i}) == []  # G loss falling: no alarm


def _nan_after(monkeypatch, n_ok: int):
    calls = {"n": 0}
    original = AdversarialGAN.d_step

    def d_step(self, batch):
        out = original(self, batch)
        calls["n"] += 1
        if calls["n"] == n_ok + 1:
            out.losses["D"] = out.losses["D"] * float("nan")
        return out
    monkeypatch.setattr(AdversarialGAN, "d_step", d_step)


def test_d_verdicts_use_the_loss_familys_boundary():
    """D's accuracies count verdicts on the right side of the boundary between its targets: 0 for
    logits, (a + b) / 2 for least squares. A Wasserstein critic has no boundary, so the domination
    alarm, which reads D's accuracy on fakes, cannot fire on a critic's arbitrary sign."""
    from gankit.losses import get_loss
    from gankit.metrics.d_stats import d_stats

    real, fake = torch.tensor([0.9, 0.8, 0.3, 1.1]), torch.tensor([0.1, 0.2, 0.7, -0.1])
    ls = d_stats(real, fake, get_loss("lsgan")(ls_a=0.0, ls_b=1.0, ls_c=1.0).boundary)  # boundary 0.5
    assert float(ls["d/acc_real"]) == 0.75 and float(ls["d/acc_fake"]) == 0.75 and float(ls["d/sign_real"]) == 0.5
    logits = d_stats(real, fake, get_loss("hinge")().boundary)  # boundary 0: every real right, 1 of 4 fakes
    assert float(logits["d/acc_real"]) == 1.0 and float(logits["d/acc_fake"]) == 0.25
    assert get_loss("lsgan")(ls_a=-1.0, ls_b=1.0, ls_c=0.0).boundary == 0.0 and get_loss("bce")().boundary == 0.0
    critic = d_stats(real + 100, fake + 100, get_loss("wgan-gp")().boundary)
    assert not {"d/acc_fake", "d/sign_real"} & set(critic)
    assert float(critic["d/wasserstein_estimate"]) == pytest.approx(0.55, abs=1e-4)
    alarms = Alarms(load_config("wgan-gp").monitor)
    for i in range(10):
        assert alarms.on_logs(i, {**{k: float(v) for k, v in critic.items()}, "loss/G": 1.0 + i}) == []


def test_nan_stops_with_one_line_and_keeps_checkpoint(tmp_path, monkeypatch):
    _nan_after(monkeypatch, 14)
    with pytest.raises(GankitError) as e:
        gankit.fit("gan", data="toy2d-ring", steps=30, out=tmp_path / "run", overrides=TOY)
    msg = str(e.value)
    assert "loss/D became nan at step 15" in msg and "step-0000010.pt" in msg and "\n" not in msg
    ckpt = latest_checkpoint(tmp_path / "run" / "checkpoints")
    assert load_checkpoint(ckpt)["step"] == 10
    lines = [json.loads(line) for line in open(tmp_path / "run" / "metrics.jsonl")]
    assert any("alarm" in line and "became nan" in line["alarm"] for line in lines)


def test_nan_rollback_halves_lr_and_finishes(tmp_path, monkeypatch):
    _nan_after(monkeypatch, 14)
    run = gankit.fit("gan", data="toy2d-ring", steps=30, out=tmp_path / "run", overrides=TOY + ["train.on_nan=rollback"])
    state = load_checkpoint(latest_checkpoint(run / "checkpoints"))
    assert state["step"] == 30 and state["engine"]["lr_mult"] == 0.5 and state["engine"]["rollbacks"] == 1
