"""A bounded pix2pix run on facades must beat the untrained model and the mean-image baseline on val L1.

The run translates photos to label maps (AtoB): at 64 px and 100 steps the photo direction's val L1 hovers
at the mean-image baseline (the average facade is already a good L1 answer), while label maps are a
function of the photo that a short run learns measurably (0.43 against a 0.50 baseline)."""
from __future__ import annotations

import pytest
import torch

from gankit.api import fit, load_generator
from gankit.config import load_config
from gankit.data import build_dataset, to_float
from gankit.losses import l1
from gankit.recipes.pix2pix import Pix2Pix

SMALL = ["data.load_size=72", "data.crop_size=64", "model.ngf=16", "model.ndf=16", "train.batch_size=8",
         "eval.n=32", "train.progress=false", "train.report=false", "train.sample_every=1000000",
         "optim.G.lr=0.001", "data.direction=AtoB"]


def test_pix2pix_facades_beats_untrained_and_mean_image(facades_root, tmp_path, one_thread):
    overrides = SMALL + [f"data.root={facades_root}", "train.steps=100"]
    cfg = load_config("pix2pix", overrides=overrides)
    torch.manual_seed(cfg.seed)
    recipe = Pix2Pix(cfg, build_dataset(cfg.data, cfg.seed), "cpu")
    torch.manual_seed(0)
    untrained = recipe.evaluate(recipe.G.eval())["val_l1"]
    val_targets = recipe.val_batch(32, "x_b")
    train_targets = torch.nn.functional.interpolate(to_float(recipe.data.x_b), size=64, mode="bilinear",
                                                    antialias=True)
    mean_image = float(l1(train_targets.mean(0, keepdim=True).expand_as(val_targets), val_targets))

    run = fit("pix2pix", out=tmp_path / "run", overrides=overrides)
    G = load_generator(run / "generator")
    assert G.meta["kind"] == "translate" and "dropout" in G.meta["note"]
    torch.manual_seed(0)
    trained = recipe.evaluate(G)["val_l1"]
    print(f"val L1: untrained {untrained:.4f}, mean image {mean_image:.4f}, trained {trained:.4f}")
    assert trained < untrained - 0.15
    assert trained < mean_image - 0.03


def test_one_g_forward_per_iteration_gives_the_g_step_its_own_gradient(facades_root, one_thread):
    """The D step's G(x) serves the G step (as the reference implementation's single forward): with
    dropout off, G's gradient equals the one from a fresh G(x), and an iteration runs G once; a
    repeated G step (train.n_g > 1) computes its own."""
    cfg = load_config("pix2pix", overrides=SMALL + [f"data.root={facades_root}", "model.dropout=0"])
    torch.manual_seed(0)
    recipe = Pix2Pix(cfg, build_dataset(cfg.data, cfg.seed), "cpu")
    batch = {"x": to_float(recipe.data.x[:2, :, :64, :64]), "x_b": to_float(recipe.data.x_b[:2, :, :64, :64])}
    calls = []
    recipe.G.register_forward_hook(lambda *_: calls.append(1))
    d_out = recipe.d_step(batch)
    g_out = recipe.g_step({**batch, **d_out.carry})
    assert len(calls) == 1
    params = [p for p in recipe.G.parameters()]
    carried = torch.autograd.grad(g_out.losses["G"], params)
    fresh = torch.autograd.grad(recipe.g_step(batch).losses["G"], params)
    assert len(calls) == 2
    for a, b in zip(carried, fresh):
        torch.testing.assert_close(a, b)
    spent = {**batch, **d_out.carry, **g_out.carry}
    recipe.g_step(spent)  # the second of n_g = 2: the carried output was spent, so G runs again
    assert len(calls) == 3


@pytest.mark.parametrize("precision,repeats", [("fp32", 1), ("bf16", 1), ("bf16", 2)])
def test_pix2pix_trains_with_the_carried_output_in_either_precision(facades_root, tmp_path, one_thread, precision,
                                                                   repeats):
    """The carried G(x) is built under the D step's bf16 weight copies and back-propagated in the G
    step's: every G weight must move and the losses stay finite (n_d = n_g = 2 covers the repeats;
    with one G step, only the carried output trains G)."""
    over = SMALL + [f"data.root={facades_root}", "train.steps=2", f"train.precision={precision}",
                    f"train.n_d={repeats}", f"train.n_g={repeats}", "train.log_every=1"]
    cfg = load_config("pix2pix", overrides=over)
    torch.manual_seed(cfg.seed)
    G0 = Pix2Pix(cfg, build_dataset(cfg.data, cfg.seed), "cpu").G
    names = [k for k, _ in G0.named_parameters()]
    before = G0.state_dict()
    run = fit("pix2pix", out=tmp_path / "run", overrides=over)
    after = load_generator(run / "generator").state_dict()
    still = [k for k in names if torch.equal(before[k], after[k])]
    # every parameter: with bf16 weight copies swapped out and in between the phases, the conv
    # weights got no gradient while the norm layers still learned
    assert not still, f"{len(still)} of {len(names)} G parameters never moved, e.g. {still[:3]}"
    import json
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows and all(torch.isfinite(torch.tensor(r["loss/G"])) and torch.isfinite(torch.tensor(r["loss/D"]))
                        for r in rows if "loss/G" in r)
