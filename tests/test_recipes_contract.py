"""The recipe contract, over every registered recipe on tiny data: build, two steps, checkpoint, resume
to four steps with bit-identical weights to an uninterrupted run, export, load, and use the generator
(sample noise, translate or upscale an image). A new recipe gets this test by registering."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gankit
from gankit.nets.uses import use_of
from gankit.recipes import RECIPES
from gankit.train.checkpoint import latest_checkpoint, load_checkpoint
from gankit.translate import run_on_image

COMMON = ["train.report=false", "train.progress=false", "train.log_every=1", "train.ckpt_every=2",
          "train.sample_every=4", "train.sample_n=4", "train.precision=fp32", "train.batch_size=4", "eval.n=2"]
MNIST = ["data.name=image-folder"]  # tiny labelled 28 px digits-like images (see `digits`)
DCGAN = MNIST + ["model.g_width=4", "model.d_width=4", "model.g_fc=0", "model.d_fc=0", "model.z_dim=8"]
IMAGES = ["data.name=paired-folder", "data.load_size=36", "data.crop_size=32", "data.eval_split=val"]
TINY = {
    "gan": MNIST + ["model.g_widths=[16]", "model.d_widths=[16]", "model.z_dim=8"],
    **{r: DCGAN for r in ("dcgan", "lsgan", "wgan", "wgan-gp", "hinge", "cgan")},
    "sgan": MNIST + ["model.g_widths=[16]", "model.d_widths=[16]", "model.z_dim=8", "data.labels_per_class=1",
             "eval.metric=null"],
    "began": MNIST + ["model.z_dim=8", "model.h=8", "model.g_n=4", "model.d_n=4"],
    "pix2pix": IMAGES + ["model.ngf=4", "model.ndf=4", "model.num_downs=3"],
    "cyclegan": IMAGES + ["model.ngf=4", "model.ndf=4", "model.n_blocks=1", "model.pool_size=2"],
    "srresnet": IMAGES + ["model.n_blocks=1", "model.ngf=4"],
    "srgan": IMAGES + ["model.n_blocks=1", "model.ngf=4", "model.ndf=4", "loss.content=mse"],
}


def test_every_recipe_has_a_tiny_config():
    assert set(TINY) == set(RECIPES)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """Four 36 px image pairs per split (train/A, train/B, val/A, val/B): decoding a real dataset would
    cost more than the steps."""
    from PIL import Image

    root, rng = tmp_path_factory.mktemp("pairs"), np.random.default_rng(0)
    for split in ("train", "val"):
        for side in ("A", "B"):
            (root / split / side).mkdir(parents=True)
            for i in range(4):
                Image.fromarray(rng.integers(0, 256, (36, 36, 3), dtype=np.uint8)).save(root / split / side / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """Two classes of eight 28 px grayscale images in class subfolders: loading MNIST would cost more
    than the steps (mnist-5k parses a text file, ~15 s)."""
    from PIL import Image

    root, rng = tmp_path_factory.mktemp("digits"), np.random.default_rng(1)
    for c in ("0", "1"):
        (root / c).mkdir()
        for i in range(8):
            Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(root / c / f"{i}.png")
    return root


def _fit(recipe, out, steps, roots):
    sets = COMMON + TINY[recipe] + [f"data.root={roots[1] if 'data.name=paired-folder' in TINY[recipe] else roots[0]}"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # srgan from scratch, no VGG weights: warned, expected here
        return gankit.fit(recipe, out=out, steps=steps, seed=0, device="cpu", overrides=sets)


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_recipe_contract(recipe, tmp_path, digits, pairs, one_thread):
    roots = (digits, pairs)
    straight = _fit(recipe, tmp_path / "straight", 4, roots)
    split = _fit(recipe, tmp_path / "split", 2, roots)
    assert load_checkpoint(latest_checkpoint(split / "checkpoints"))["step"] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gankit.fit(recipe, resume=split, steps=4)
    a, b = (load_checkpoint(latest_checkpoint(r / "checkpoints")) for r in (straight, split))
    assert a["step"] == b["step"] == 4
    for net, state in a["nets"].items():
        for k, v in state.items():
            assert torch.equal(v, b["nets"][net][k]), f"{recipe}: {net}.{k} differs after resume"

    out, _ = gankit.export(split, tmp_path / "gen", "last")
    G = gankit.load_generator(out)
    use = use_of(G)
    if use.from_noise:
        x = gankit.sample(G, 3, seed=1)
        assert torch.equal(x, gankit.sample(G, 3, seed=1)) and torch.isfinite(x).all()
        assert x.shape[0] == 3 and x.abs().max() <= 1 + 1e-6 or not use.images
    else:
        img = torch.rand(3, 32, 32) * 2 - 1
        y = run_on_image(G, img, **({"direction": "AtoB"} if "directions" in G.meta else {}))
        scale = int(G.meta.get("scale", 1))
        assert y.shape[-2:] == (32 * scale, 32 * scale) and torch.isfinite(y).all()
