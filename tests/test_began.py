"""BEGAN's equilibrium control follows the paper's formulas (SPEC §8)."""
import pytest
import torch

import gankit
from gankit.config import load_config
from gankit.data import Batches, build_dataset
from gankit.recipes.began import BEGAN
from gankit.train.checkpoint import latest_checkpoint, load_checkpoint

TINY = ["model.g_n=4", "model.d_n=4", "model.h=8", "model.z_dim=8", "data.limit=256", "train.report=false"]


def _recipe(**over):
    cfg = load_config("began", overrides=TINY + [f"model.{k}={v}" for k, v in over.items()])
    data = build_dataset(cfg.data, 0)
    return BEGAN(cfg, data, "cpu"), Batches(data, 16, 0, "cpu"), cfg


def test_k_update_and_m_global_follow_the_formulas():
    torch.manual_seed(0)
    recipe, batches, cfg = _recipe(lambda_k=0.05)
    k = 0.0
    for _ in range(30):
        out = recipe.step(next(batches))
        lr, lf = out.logs["began/L_real"], out.logs["began/L_fake"]
        # L_D = L(x) - k_t L(G(z)) uses k_t from before this step's update
        assert out.losses["D"].item() == pytest.approx(lr - k * lf, abs=1e-5)
        k = min(max(k + 0.05 * (cfg.model.gamma * lr - lf), 0.0), 1.0)
        assert out.logs["began/k"] == pytest.approx(k, abs=1e-12) and 0.0 <= k <= 1.0
        assert out.logs["began/M_global"] == pytest.approx(lr + abs(cfg.model.gamma * lr - lf))


def test_k_is_clipped_to_unit_interval():
    recipe, batches, _ = _recipe(lambda_k=100.0, gamma=1.0)
    ks = [recipe.step(next(batches)).logs["began/k"] for _ in range(5)]
    assert all(0.0 <= k <= 1.0 for k in ks) and ks[0] in (0.0, 1.0)


def test_lr_halves_when_m_global_stalls():
    recipe, _, _ = _recipe(lr_patience=3)
    for m in [1.0, 0.9, 0.8]:  # first window: mean 0.9, nothing to compare with
        recipe._track(m)
    assert recipe.lr_scale("D") == 1.0
    for m in [0.7, 0.6, 0.5]:  # mean 0.6 < 0.99 * 0.9: still falling
        recipe._track(m)
    assert recipe.lr_scale("D") == 1.0
    for m in [0.2, 1.0, 0.6]:  # mean 0.6: stalled, although one batch set a record
        recipe._track(m)
    assert recipe.lr_scale("D") == recipe.lr_scale("G") == 0.5
    for m in [0.6, 0.6, 0.6]:  # stalled again: halved again
        recipe._track(m)
    assert recipe.lr_scale("G") == 0.25


def test_k_and_lr_survive_resume(tmp_path):
    over = [f"--set={o}" for o in TINY]
    from gankit.cli.main import main

    assert main(["train", "began", "--steps", "6", "--batch-size", "8", "--out", str(tmp_path / "r"), *over]) == 0
    k6 = load_checkpoint(latest_checkpoint(tmp_path / "r" / "checkpoints"))["recipe"]["k"]
    assert main(["train", "--resume", str(tmp_path / "r"), "--steps", "8"]) == 0
    s = load_checkpoint(latest_checkpoint(tmp_path / "r" / "checkpoints"))
    assert s["step"] == 8 and "lr_factor" in s["recipe"]
    G = gankit.load_generator(tmp_path / "r" / "generator")
    assert G.meta["recipe"] == "began" and gankit.sample(G, 2).shape == (2, 1, 28, 28)
    assert isinstance(k6, float)


def test_generator_is_linear_in_training_and_clamped_outside():
    """No tanh (it saturated at the blank image and froze G); exported samples stay in [-1, 1]."""
    from gankit.nets.began import BEGANGenerator

    torch.manual_seed(0)
    G = BEGANGenerator(8, 4, 1, 28)
    with torch.no_grad():
        G.decoder.out.bias.fill_(-3.0)  # every pixel far below the image range
        z = torch.randn(4, 8)
        raw = G.train()(z)
        assert raw.max() < -1.5  # not squashed: the gradient of the output is 1, not tanh's ~0
        assert torch.equal(G.eval()(z), raw.clamp(-1, 1))


def test_skip_connections_feed_h0_to_every_later_block():
    from gankit.nets.began import BEGANDiscriminator, BEGANGenerator

    G, Gs = BEGANGenerator(8, 4, 1, 32), BEGANGenerator(8, 4, 1, 32, skip=True)
    # blocks at 8, 16, 32 px: the two later ones take n + n channels (their input and H0 upsampled)
    assert [b[0].in_channels for b in G.decoder.blocks] == [4, 4, 4]
    assert [b[0].in_channels for b in Gs.decoder.blocks] == [4, 8, 8]
    assert Gs(torch.randn(2, 8)).shape == (2, 1, 32, 32)
    assert BEGANDiscriminator(8, 4, 1, 28, skip=True)(torch.randn(2, 1, 28, 28)).shape == (2, 1, 28, 28)



@pytest.mark.slow
def test_k_engages_again_after_d_first_pushes_the_fakes_away(tmp_path, one_thread):
    """The default preset on the embedded digits, 600 steps (~2 min on one thread). Around step 300,
    once k_t ~ 0.02, D pushes G's samples away: L(G(z)) jumps above L(x) and k_t falls to 0. With
    Adam's beta1 = 0.9 (the reference code's effective value) G's samples come back below γ L(x)
    within ~100 steps and k_t rises again (measured k_t 0.0067 / 0.0063 at step 600, seeds 0 / 1);
    with the earlier beta1 = 0.5, L(G(z)) stayed at or above L(x) and k_t at 0 (both seeds)."""
    import json

    run = gankit.fit("began", steps=600, seed=0, out=tmp_path / "r",
                     overrides=["train.report=false", "train.progress=false", "train.log_every=10",
                                "train.sample_every=600", "train.ckpt_every=600"])
    logs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    logs = [r for r in logs if "began/k" in r]
    gamma = load_config("began").model.gamma
    pushed = [i for i, r in enumerate(logs) if r["began/k"] == 0.0 and r["step"] > 100]
    assert pushed, "k_t never fell back to 0: D's first push did not happen in 600 steps"
    late = logs[-10:]  # steps 510-600
    assert late[-1]["began/k"] > 0.002, f"k_t is {late[-1]['began/k']:.4f} at step 600: it did not engage again"
    assert all(r["began/L_fake"] < gamma * r["began/L_real"] for r in late), \
        "L(G(z)) is not below γ L(x) over steps 510-600"
