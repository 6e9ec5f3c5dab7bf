"""The latent prior (model.z_prior): the codes a generator trains on are the codes it samples,
varies and is inverted with after export."""
import pytest
import torch

import gankit
from gankit.errors import GankitError
from gankit.latent import invert, vary
from gankit.nets.mlp import MLPGenerator
from gankit.nets.uses import draw_z, seeded_noise

SMALL = ["model.g_widths=[16,16]", "model.d_widths=[16]", "train.report=false", "train.progress=false",
         "train.log_every=1", "train.ckpt_every=10"]


def test_uniform_codes_fill_the_box_and_normal_codes_are_torch_randn():
    z = draw_z(200_000, 4, "uniform", torch.Generator().manual_seed(0))
    assert z.min() >= -1 and z.max() <= 1
    assert abs(z.mean().item()) < 0.01 and abs(z.var().item() - 1 / 3) < 0.01  # U(-1, 1): mean 0, variance 1/3
    # the normal prior's seeded stream is unchanged: row i is the i-th torch.randn(z_dim) of the seed
    g = torch.Generator().manual_seed(7)
    assert torch.equal(seeded_noise(3, 5, 7), torch.stack([torch.randn(5, generator=g) for _ in range(3)]))
    assert torch.equal(seeded_noise(2, 5, 7, "uniform"), seeded_noise(4, 5, 7, "uniform")[:2])  # prefix-stable
    with pytest.raises(GankitError, match="latent prior"):
        draw_z(1, 2, "cauchy")


def test_a_uniform_prior_run_trains_and_samples_on_uniform_codes(tmp_path, monkeypatch):
    seen = []
    forward = MLPGenerator.forward
    monkeypatch.setattr(MLPGenerator, "forward", lambda self, z, y=None: seen.append(z.detach().clone()) or forward(self, z, y))
    run = gankit.fit("gan", steps=3, out=tmp_path / "run", overrides=[*SMALL, "model.z_prior=uniform"])
    codes = torch.cat(seen)
    assert len(codes) >= 3 * 32 and codes.abs().max() <= 1 and codes.abs().max() > 0.9  # N(0, 1): ~32% beyond 1

    G = gankit.load_generator(run / "generator")
    assert G.meta["z_prior"] == "uniform"
    seen.clear()
    x = gankit.sample(G, 5, seed=3)
    assert torch.equal(seen[0], seeded_noise(5, G.z_dim, 3, "uniform")) and x.shape == (5, 1, 28, 28)

    z0 = seeded_noise(1, G.z_dim, 0, "uniform")[0]
    codes, _ = vary(G, z0, sigma=1.0, n=8)
    assert codes.abs().max() <= 1 and torch.equal(codes[0], z0)  # variations stay inside the box
    inv = invert(G, x[:2], steps=20, restarts=2, lr=0.5)
    assert inv.z.abs().max() <= 1  # projected steps: no code outside what G has seen


def test_normal_is_the_default_prior_and_others_are_refused(tmp_path):
    run = gankit.fit("gan", steps=1, out=tmp_path / "run", overrides=SMALL)
    assert gankit.load_generator(run / "generator").meta["z_prior"] == "normal"
    with pytest.raises(GankitError, match="model.z_prior' must be one of normal, uniform"):
        gankit.resolve_config("gan", overrides=["model.z_prior=cauchy"])
