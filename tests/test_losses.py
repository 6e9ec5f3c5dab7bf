"""Each loss against its closed form on fixed logits, gradients included (SPEC §4)."""
import math

import pytest
import torch

from gankit.losses import (d_bce, d_hinge, d_lsgan, d_wasserstein, g_bce_nonsaturating, g_bce_saturating, g_hinge,
                           g_lsgan, g_wasserstein, gradient_penalty)

REAL = torch.tensor([2.0, -1.0, 0.5])
FAKE = torch.tensor([-3.0, 0.0, 1.5])


def sig(t):
    return 1 / (1 + math.exp(-t))


def _grad(fn, *xs):
    xs = [x.clone().requires_grad_(True) for x in xs]
    fn(*xs).backward()
    return [x.grad for x in xs]


def test_bce_discriminator():
    want = -sum(math.log(sig(r)) for r in REAL.tolist()) / 3 - sum(math.log(1 - sig(f)) for f in FAKE.tolist()) / 3
    assert d_bce(REAL, FAKE).item() == pytest.approx(want, rel=1e-6)
    gr, gf = _grad(d_bce, REAL, FAKE)
    assert torch.allclose(gr, (torch.sigmoid(REAL) - 1) / 3) and torch.allclose(gf, torch.sigmoid(FAKE) / 3)


def test_saturating_vs_nonsaturating_generator():
    assert g_bce_saturating(FAKE).item() == pytest.approx(sum(math.log(1 - sig(f)) for f in FAKE.tolist()) / 3, rel=1e-6)
    assert g_bce_nonsaturating(FAKE).item() == pytest.approx(-sum(math.log(sig(f)) for f in FAKE.tolist()) / 3, rel=1e-6)
    # early in training D(G(z)) ~ 0: the minimax gradient vanishes, the non-saturating one does not
    very_fake = torch.tensor([-8.0])
    (g_sat,), (g_ns,) = _grad(g_bce_saturating, very_fake), _grad(g_bce_nonsaturating, very_fake)
    assert abs(g_sat.item()) < 1e-3 and abs(g_ns.item()) > 0.99


def test_lsgan():
    assert d_lsgan(REAL, FAKE).item() == pytest.approx(0.5 * ((REAL - 1) ** 2).mean() + 0.5 * (FAKE ** 2).mean())
    assert d_lsgan(REAL, FAKE, a=-1, b=1).item() == pytest.approx(0.5 * ((REAL - 1) ** 2).mean() + 0.5 * ((FAKE + 1) ** 2).mean())
    assert g_lsgan(FAKE).item() == pytest.approx(0.5 * ((FAKE - 1) ** 2).mean())
    (g,) = _grad(g_lsgan, FAKE)
    assert torch.allclose(g, (FAKE - 1) / 3)


def test_wasserstein_and_hinge():
    assert d_wasserstein(REAL, FAKE).item() == pytest.approx(FAKE.mean() - REAL.mean())
    assert g_wasserstein(FAKE).item() == pytest.approx(-FAKE.mean())
    gr, gf = _grad(d_wasserstein, REAL, FAKE)
    assert torch.allclose(gr, torch.full((3,), -1 / 3)) and torch.allclose(gf, torch.full((3,), 1 / 3))
    want = (torch.relu(1 - REAL).mean() + torch.relu(1 + FAKE).mean()).item()
    assert d_hinge(REAL, FAKE).item() == pytest.approx(want)
    assert g_hinge(FAKE).item() == pytest.approx(-FAKE.mean())


def test_gradient_penalty_of_a_linear_critic():
    """f(x) = w.x has gradient w everywhere: the penalty is (||w|| - 1)^2 whatever the interpolates."""
    w = torch.tensor([3.0, 4.0, 0.0, 0.0])  # ||w|| = 5
    critic = lambda x: x.flatten(1) @ w  # noqa: E731
    real, fake = torch.randn(16, 1, 2, 2), torch.randn(16, 1, 2, 2)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(16.0, rel=1e-5)


def test_gradient_penalty_over_packs():
    """A critic of packs of 2 samples, f(x1 ⊕ x2) = w.(x1 ⊕ x2): the gradient of a pack is w (norm 5),
    so the penalty is 16; taken per sample (norms 5 and 0) it would be (16 + 1) / 2."""
    w = torch.tensor([3.0, 4.0, 0.0, 0.0])
    critic = lambda x: x.reshape(-1, 4) @ w  # noqa: E731
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    assert gradient_penalty(critic, real, fake, pack=2).item() == pytest.approx(16.0, rel=1e-5)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(8.5, rel=1e-5)


def test_wgan_clipping_keeps_weights_in_range(tmp_path):
    from gankit.cli.main import main
    from gankit.train.checkpoint import latest_checkpoint, load_checkpoint

    assert main(["train", "wgan", "--steps", "5", "--batch-size", "16", "--out", str(tmp_path / "w"), "--set", "train.report=false",
                 "--set", "model.g_width=8", "--set", "model.d_width=8", "--set", "data.limit=256"]) == 0
    D = load_checkpoint(latest_checkpoint(tmp_path / "w" / "checkpoints"))["nets"]["D"]
    weights = [v for k, v in D.items() if k.endswith("weight") or k.endswith("bias")]
    assert max(v.abs().max().item() for v in weights) <= 0.01 + 1e-7


@pytest.mark.parametrize("name", ["d_bce", "g_bce_saturating", "g_bce_nonsaturating", "d_lsgan", "g_lsgan",
                                  "d_wasserstein", "g_wasserstein", "d_hinge", "g_hinge", "l1",
                                  "sgan_d_unsupervised", "sgan_g_nonsaturating", "feature_matching"])
def test_losses_compute_in_float32_on_bfloat16_logits(name):
    """Under bf16 autocast the networks return bfloat16: the loss, and the gradient it sends back,
    must be the float32 ones of the same (upcast) logits."""
    import gankit.losses as L

    fn = getattr(L, name)
    args = [REAL, FAKE] if name.startswith("d_") or name in ("l1", "sgan_d_unsupervised", "feature_matching") else [FAKE]
    if name.startswith("sgan") or name == "feature_matching":
        args = [a.reshape(1, 3).repeat(2, 1) for a in args]
    low = [a.bfloat16() for a in args]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = fn(*low)
        grads = _grad(fn, *low)
    want = fn(*[a.float() for a in low])
    assert got.dtype == torch.float32 and got.item() == want.item()
    for g, w in zip(grads, _grad(fn, *[a.float() for a in low])):
        if w is None:  # feature matching holds the real features fixed
            assert g is None
            continue
        assert g.dtype == torch.bfloat16 and torch.equal(g, w.bfloat16())


# --- loss families as objects: presets in one place, terms a recipe asks for, keys they own ------------------

@pytest.mark.parametrize("loss", ["lsgan", "wgan", "wgan-gp", "hinge"])
def test_loss_option_and_loss_recipe_resolve_alike(loss):
    """`gankit train dcgan --loss L` and `gankit train L` read one preset (configs/losses/L.yaml)."""
    import gankit

    a, b = gankit.resolve_config("dcgan", loss=loss), gankit.resolve_config(loss)
    for section in ("optim", "train", "loss", "model"):
        assert a[section] == b[section], section
    if loss == "lsgan":  # the paper's rate, not the dcgan recipe's 1e-3 for G
        assert a.optim.G.lr == pytest.approx(2e-4)


@pytest.mark.parametrize("recipe, loss", [("cyclegan", "hinge"), ("sgan", "bce"), ("began", "lsgan"), ("srgan", "bce")])
def test_recipes_with_their_own_loss_refuse_the_loss_option(capsys, recipe, loss):
    from gankit.cli.main import main

    assert main(["train", recipe, "--loss", loss]) == 2
    err = capsys.readouterr().err.strip()
    assert f"--loss {loss}: recipe '{recipe}' has" in err and "--loss is for gan, dcgan" in err and "\n" not in err


@pytest.mark.parametrize("recipe, sets, fragment", [
    ("cyclegan", ["loss.name=hinge"], "config key 'loss.name': recipe 'cyclegan' has its own adversarial loss (lsgan)"),
    ("sgan", ["loss.reg=[gp]"], "config key 'loss.reg': recipe 'sgan' has its own adversarial loss"),
])
def test_recipes_with_their_own_loss_refuse_loss_keys(recipe, sets, fragment):
    from gankit.config import load_config
    from gankit.errors import GankitError
    from gankit.recipes import get_recipe_class

    cfg = load_config(recipe, overrides=sets)
    with pytest.raises(GankitError, match=fragment.replace(".", r"\.").replace("(", r"\(").replace(")", r"\)")):
        get_recipe_class(recipe)(cfg, None, "cpu")  # refused before the data is looked at


def _terms(*sets, recipe="gan"):
    from gankit.config import load_config, recipe_defaults
    from gankit.losses import AdversarialTerms

    return AdversarialTerms(load_config(recipe, overrides=list(sets)).loss, recipe_defaults(recipe)["loss"])


def test_terms_carry_the_family_boundary_hook_and_regularisers():
    assert _terms().boundary == 0.0 and _terms("loss.name=hinge").boundary == 0.0
    assert _terms("loss.name=lsgan", "loss.ls_a=-1", "loss.ls_b=1").boundary == 0.0
    assert _terms("loss.name=lsgan").boundary == 0.5
    assert _terms("loss.name=wgan").boundary is None and _terms("loss.name=wgan-gp").boundary is None
    ls = _terms("loss.name=lsgan", "loss.ls_c=0.5")
    assert ls.g(None, FAKE).item() == pytest.approx(0.5 * ((FAKE - 0.5) ** 2).mean())
    assert ls.d(REAL, FAKE).item() == pytest.approx(d_lsgan(REAL, FAKE).item())
    # WGAN clips D after D's update only
    wgan, net = _terms("loss.name=wgan", "loss.clip=0.05"), torch.nn.Linear(4, 1)
    torch.nn.init.constant_(net.weight, 1.0)
    wgan.after_update("G", net)
    assert net.weight.max().item() == 1.0
    wgan.after_update("D", net)
    assert net.weight.abs().max().item() == pytest.approx(0.05)
    # the gradient penalty: wgan-gp's own, and composable with any family (λ from loss.gp_weight)
    w = torch.tensor([3.0, 4.0, 0.0, 0.0])
    critic = lambda x: x.flatten(1) @ w  # noqa: E731
    real, fake = torch.randn(8, 4), torch.randn(8, 4)
    assert [r.name for r in _terms("loss.name=wgan-gp").regs] == ["gp"]
    pen, logs = _terms("loss.name=lsgan", "loss.reg=[gp]", "loss.gp_weight=0.5").penalty(critic, real, fake)
    assert pen.item() == pytest.approx(0.5 * 16.0, rel=1e-5) and logs["d/gradient_penalty"].item() == pytest.approx(16.0, rel=1e-5)
    assert _terms().penalty(critic, real, fake) == (0.0, {})


def test_pix2pix_honours_clipping_and_the_penalty(facades_root, one_thread):
    """pix2pix takes any family with its hook and regularisers (WGAN's clipping, the gradient penalty)."""
    from gankit.config import load_config
    from gankit.data import build_dataset
    from gankit.recipes.pix2pix import Pix2Pix

    sets = [f"data.root={facades_root}", "data.load_size=36", "data.crop_size=32", "model.ngf=4", "model.ndf=4",
            "loss.name=wgan", "loss.reg=[gp]", "loss.gp_weight=1.0"]
    cfg = load_config("pix2pix", overrides=sets)
    torch.manual_seed(0)
    data = build_dataset(cfg.data, cfg.seed)
    recipe = Pix2Pix(cfg, data, "cpu")
    batch = {"x": data.x[:2].float() / 127.5 - 1, "x_b": data.x_b[:2].float() / 127.5 - 1}
    batch = {k: torch.nn.functional.interpolate(v, size=32) for k, v in batch.items()}
    out = recipe.d_step(batch)
    assert out.logs["d/gradient_penalty"].item() > 0 and "d/wasserstein_estimate" in out.logs
    recipe.after_update("D")
    assert max(p.abs().max().item() for p in recipe.D.parameters()) <= 0.01 + 1e-7


# --- RaGAN (Jolicoeur-Martineau 2018, RaSGAN) --------------------------------------------------------------

def test_ragan_closed_form_and_gradients():
    from gankit.losses.adversarial import d_ragan, g_ragan

    mr, mf = REAL.mean().item(), FAKE.mean().item()
    want_d = (-sum(math.log(sig(r - mf)) for r in REAL.tolist()) - sum(math.log(1 - sig(f - mr)) for f in FAKE.tolist())) / 3
    want_g = (-sum(math.log(sig(f - mr)) for f in FAKE.tolist()) - sum(math.log(1 - sig(r - mf)) for r in REAL.tolist())) / 3
    assert d_ragan(REAL, FAKE).item() == pytest.approx(want_d, rel=1e-6)
    assert g_ragan(REAL, FAKE).item() == pytest.approx(want_g, rel=1e-6)
    # dL_G/df_k = -σ(mr - f_k)/n - Σ_j σ(r_j - mf)/n²: the second term is the gradient through the
    # real samples' term, which a non-relativistic G loss does not have
    _, gf = _grad(g_ragan, REAL, FAKE)
    want = [-sig(mr - f) / 3 - sum(sig(r - mf) for r in REAL.tolist()) / 9 for f in FAKE.tolist()]
    assert torch.allclose(gf, torch.tensor(want), atol=1e-6)
    gr, gf = _grad(d_ragan, REAL, FAKE)
    want_r = [-sig(mf - r) / 3 - sum(sig(f - mr) for f in FAKE.tolist()) / 9 for r in REAL.tolist()]
    want_f = [sig(f - mr) / 3 + sum(sig(mf - r) for r in REAL.tolist()) / 9 for f in FAKE.tolist()]
    assert torch.allclose(gr, torch.tensor(want_r), atol=1e-6) and torch.allclose(gf, torch.tensor(want_f), atol=1e-6)
    # relativistic: a common shift of every score changes nothing
    assert d_ragan(REAL + 5, FAKE + 5).item() == pytest.approx(want_d, rel=1e-5)
    terms = _terms("loss.name=ragan")
    assert terms.boundary is None and terms.g_sees_real and terms.g(REAL, FAKE).item() == pytest.approx(want_g, rel=1e-6)


def test_ragan_on_bfloat16_logits_computes_in_float32():
    from gankit.losses.adversarial import d_ragan, g_ragan

    for fn in (d_ragan, g_ragan):
        low = [REAL.bfloat16(), FAKE.bfloat16()]
        got = fn(*low)
        assert got.dtype == torch.float32 and got.item() == fn(*[a.float() for a in low]).item()


@pytest.mark.parametrize("recipe", ["gan", "dcgan", "cgan", "pix2pix"])
def test_ragan_steps_in_every_recipe_that_offers_it(recipe, facades_root, one_thread):
    """G's phase gets a real batch for RaGAN's G term, whose gradient reaches G; D logs no accuracy."""
    import gankit
    from gankit.data import build_dataset
    from gankit.recipes import get_recipe_class

    sets = {"gan": ["model.g_widths=[32]", "model.d_widths=[32]"], "dcgan": ["model.g_width=8", "model.d_width=8"],
            "cgan": ["model.g_width=8", "model.d_width=8"],
            "pix2pix": [f"data.root={facades_root}", "data.load_size=36", "data.crop_size=32", "model.ngf=4", "model.ndf=4"]}
    cfg = gankit.resolve_config(recipe, loss="ragan", overrides=sets[recipe] + ["data.limit=16"])
    torch.manual_seed(0)
    data = build_dataset(cfg.data, cfg.seed)
    r = get_recipe_class(recipe)(cfg, data, "cpu")
    d_phase, g_phase = r.phases()
    assert g_phase.batch in ("new", "same")
    n = 4
    batch = {"x": data.x[:n].float() / 127.5 - 1}
    if recipe == "pix2pix":
        batch = {"x": batch["x"], "x_b": data.x_b[:n].float() / 127.5 - 1}
        batch = {k: torch.nn.functional.interpolate(v, size=32) for k, v in batch.items()}
    if recipe == "cgan":
        batch["y"] = data.y[:n]
    r.batch_size = n
    d_out = d_phase.fn(batch)
    assert torch.isfinite(d_out.losses["D"]) and "d/acc_real" not in d_out.logs
    g_loss = g_phase.fn(batch).losses["G"]
    g_loss.backward()
    assert torch.isfinite(g_loss) and any(p.grad is not None and p.grad.abs().sum() > 0 for p in r.G.parameters())


# --- R1 / R2 (Mescheder et al. 2018): γ/2 E||grad_x D(x)||² on real (R1) or fake (R2) samples ---------------

def test_r1_closed_forms_and_its_gradient_reaches_d():
    from gankit.losses.regularisers import half_grad_norm2

    w = torch.tensor([3.0, 4.0, 0.0, 0.0])
    assert half_grad_norm2(lambda x: x @ w, torch.randn(8, 4)).item() == pytest.approx(12.5)  # ||w||² / 2
    # D(x) = a/2 ||x||²: grad = a x, so R1 = a²/2 E||x||², and dR1/da = a E||x||²
    a = torch.tensor(3.0, requires_grad=True)
    x = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    r1 = half_grad_norm2(lambda v: 0.5 * a * (v ** 2).sum(1), x)
    assert r1.item() == pytest.approx(9 / 2 * (5 + 1) / 2)
    r1.backward()
    assert a.grad.item() == pytest.approx(3 * (5 + 1) / 2)
    # over packs of 2: the norm of the pack's gradient, ||w||² = 25 per pack, not 25/2 per sample
    assert half_grad_norm2(lambda v: v.reshape(-1, 4) @ w, torch.randn(8, 2), pack=2).item() == pytest.approx(12.5)


def test_r1_and_r2_compose_with_any_family():
    w = torch.tensor([3.0, 4.0, 0.0, 0.0])
    critic = lambda x: x.flatten(1) @ w  # noqa: E731
    real, fake = torch.randn(8, 4), torch.randn(8, 4)
    terms = _terms("loss.name=ragan", "loss.reg=[r1, r2]", "loss.r1_gamma=2.0", "loss.r2_gamma=4.0")
    pen, logs = terms.penalty(critic, real, fake)
    assert logs["d/r1"].item() == pytest.approx(12.5) and logs["d/r2"].item() == pytest.approx(12.5)
    assert pen.item() == pytest.approx(2 * 12.5 + 4 * 12.5)
    # R1 reads the real samples, R2 the fakes: D(x) = ||x||²/2 has grad x, so each is E||x||²/2 of its own batch
    quadratic = lambda x: 0.5 * x.pow(2).sum(1)  # noqa: E731
    _, logs = terms.penalty(quadratic, real, fake)
    assert logs["d/r1"].item() == pytest.approx(0.5 * real.pow(2).sum(1).mean().item(), rel=1e-5)
    assert logs["d/r2"].item() == pytest.approx(0.5 * fake.pow(2).sum(1).mean().item(), rel=1e-5)
    from gankit.errors import GankitError
    with pytest.raises(GankitError, match=r"'loss\.r1_gamma' is used only with r1 in loss\.reg"):
        _terms("loss.r1_gamma=1.0")


def test_r1_in_a_gan_and_pix2pix_d_step(facades_root, one_thread):
    """R1 enters D's loss with its weight, in the MLP GAN and in pix2pix's pair D."""
    import gankit
    from gankit.data import build_dataset
    from gankit.recipes import get_recipe_class

    for recipe, sets in [("gan", ["model.g_widths=[32]", "model.d_widths=[32]"]),
                         ("pix2pix", [f"data.root={facades_root}", "data.load_size=36", "data.crop_size=32",
                                      "model.ngf=4", "model.ndf=4"])]:
        common = sets + ["data.limit=16", "loss.reg=[r1]"]
        torch.manual_seed(0)
        cfg = gankit.resolve_config(recipe, overrides=common + ["loss.r1_gamma=1.0"])
        data = build_dataset(cfg.data, cfg.seed)
        batch = {"x": data.x[:4].float() / 127.5 - 1}
        if recipe == "pix2pix":
            batch = {k: torch.nn.functional.interpolate(v, size=32) for k, v in
                     {"x": batch["x"], "x_b": data.x_b[:4].float() / 127.5 - 1}.items()}
        losses = []
        for gamma in (1.0, 3.0):
            torch.manual_seed(0)
            cfg = gankit.resolve_config(recipe, overrides=common + [f"loss.r1_gamma={gamma}"])
            r = get_recipe_class(recipe)(cfg, data, "cpu")
            torch.manual_seed(1)
            out = r.d_step(batch)
            losses.append((out.losses["D"].item(), out.logs["d/r1"].item()))
        (l1_, r1_1), (l3, r1_3) = losses
        assert r1_1 > 0 and r1_1 == pytest.approx(r1_3, rel=1e-5)
        assert l3 - l1_ == pytest.approx(2.0 * r1_1, rel=1e-4)
