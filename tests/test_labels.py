"""Label-map scoring (photo -> labels, as the CycleGAN paper scores labels <-> photos) and the
unpaired facades dataset it is used with."""
from __future__ import annotations

import pytest
import torch

from gankit.errors import GankitError
from gankit.metrics.labels import label_palette, label_scores, snap_to_palette

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _image(rows) -> torch.Tensor:
    """1 x 3 x H x W uint8 from rows of RGB tuples."""
    return torch.tensor(rows, dtype=torch.uint8).permute(2, 0, 1)[None]


def test_snapping_takes_the_nearest_label_colour():
    palette = torch.tensor([RED, GREEN, BLUE], dtype=torch.float)
    # (200, 40, 30) is nearest red, (90, 160, 100) green; (120, 120, 140): d² to blue 42,025, to red and green 52,225
    x = _image([[(200, 40, 30), (90, 160, 100), (120, 120, 140)]])
    assert snap_to_palette(x, palette).tolist() == [[[0, 1, 2]]]
    # floats in [-1, 1] are the same colours: 255 -> 1, 0 -> -1
    assert snap_to_palette(x.float() / 127.5 - 1, palette).tolist() == [[[0, 1, 2]]]


def test_label_scores_by_hand():
    palette = torch.tensor([RED, GREEN, BLUE], dtype=torch.float)
    target = _image([[RED, RED, RED], [GREEN, GREEN, BLUE]])
    # two reds right, one red called green; both greens right; the blue called red (a blurred red)
    pred = _image([[RED, (230, 20, 10), (20, 240, 30)], [GREEN, GREEN, (240, 30, 40)]])
    s = label_scores(pred, target, palette)
    assert s["pixel_accuracy"] == pytest.approx(4 / 6)
    assert s["class_accuracy"] == pytest.approx((2 / 3 + 2 / 2 + 0 / 1) / 3)
    # IoU: red 2 / (3 + 3 - 2), green 2 / (2 + 3 - 2), blue 0 / (1 + 0 - 0)
    assert s["class_iou"] == pytest.approx((2 / 4 + 2 / 3 + 0) / 3)
    assert s["label_colours"] == 3
    with pytest.raises(GankitError, match="equal shapes"):
        label_scores(pred[..., :2], target, palette)


def test_matched_accuracy_forgives_a_renaming_of_the_classes_and_nothing_else():
    palette = torch.tensor([RED, GREEN, BLUE], dtype=torch.float)
    target = _image([[RED, RED, RED], [GREEN, GREEN, BLUE]])
    # every region in place, colours rotated (red -> green -> blue -> red): no pixel right as named
    renamed = _image([[GREEN, GREEN, GREEN], [BLUE, BLUE, RED]])
    assert label_scores(renamed, target, palette)["pixel_accuracy"] == 0
    assert label_scores(renamed, target, palette)["matched_pixel_accuracy"] == pytest.approx(1.0)
    # one-to-one: a map of one colour matches only its largest true class (3 of 6 pixels), where a
    # many-to-one renaming would call it right wherever that class is
    flat = _image([[BLUE, BLUE, BLUE], [BLUE, BLUE, BLUE]])
    assert label_scores(flat, target, palette)["matched_pixel_accuracy"] == pytest.approx(3 / 6)
    # the hand example above: the identity is already the best renaming
    pred = _image([[RED, (230, 20, 10), (20, 240, 30)], [GREEN, GREEN, (240, 30, 40)]])
    assert label_scores(pred, target, palette)["matched_pixel_accuracy"] == pytest.approx(4 / 6)


def test_palette_is_read_from_the_uniform_regions_of_blurred_maps():
    """Three flat regions whose borders are blended (as JPEG blurs facades' maps): the palette is the
    three colours, not the blends."""
    colours = torch.tensor([RED, GREEN, (0, 48, 255)], dtype=torch.float)
    labels = torch.zeros(2, 40, 40, dtype=torch.long)
    labels[:, :, 14:27] = 1
    labels[:, :, 27:] = 2
    img = colours[labels].permute(0, 3, 1, 2)
    blurred = torch.nn.functional.avg_pool2d(img, 3, 1, 1, count_include_pad=False)
    noisy = (blurred + torch.randn(blurred.shape, generator=torch.Generator().manual_seed(0)) * 3).clamp(0, 255)
    palette = label_palette(noisy.round().to(torch.uint8))
    assert len(palette) == 3
    for c in colours:
        assert (palette - c).abs().amax(1).min() <= 3
    # scoring the blurred maps against the flat ones: only the blended border columns may go wrong
    assert label_scores(noisy.round().to(torch.uint8), img.to(torch.uint8), palette)["pixel_accuracy"] >= 0.9


def test_facades_label_maps_have_the_twelve_cmp_classes(facades_root):
    from gankit.data.translation import load_paired

    _, labels = load_paired(facades_root, "val", "AtoB", 64)
    palette = label_palette(labels)
    assert len(palette) == 12  # the CMP facade classes
    assert label_scores(labels, labels, palette)["pixel_accuracy"] == 1.0


def test_unpaired_facades_never_pairs_a_photo_with_its_own_label(facades_root):
    from gankit.config import Config, recipe_defaults
    from gankit.data import build_dataset
    from gankit.data.translation import load_paired, unpaired_halves

    cfg = recipe_defaults("cyclegan")["data"]
    cfg.update(name="facades-unpaired", root=str(facades_root), load_size=32, split="train")
    photos, labels = load_paired(facades_root, "train", "AtoB", 32)
    d = build_dataset(Config.wrap(cfg), 0)
    assert d.kind == "unpaired" and len(d.x) == len(d.x_b) == 200
    ia, ib = d.extra["pairs_a"], d.extra["pairs_b"]
    assert not set(ia) & set(ib) and len(set(ia) | set(ib)) == 400
    # by content: every domain-A photo is a train photo whose own label map is not in domain B
    flat_a, flat_b = photos.flatten(1), d.x_b.flatten(1)
    for k in range(200):
        i = int((flat_a == d.x[k].flatten()).all(1).nonzero()[0])
        assert not (flat_b == labels[i].flatten()).all(1).any()
    other = unpaired_halves(400, 1)
    assert other[0].tolist() != ia and not set(other[0].tolist()) & set(other[1].tolist())  # the halves follow the seed
    val = build_dataset(Config.wrap({**cfg, "split": "val"}), 0)
    assert val.kind == "paired" and len(val.x) == 100  # the held-back pairs score the translations


def test_eval_scores_a_cyclegan_on_unpaired_facades_by_its_label_maps(facades_root, tmp_path, capsys):
    """The CLI path: a few CycleGAN steps on `facades-unpaired`, then `gankit eval --metrics labels`
    reads the held-back val pairs and scores G(photo) against the true label maps, run as the end of
    training suggests it."""
    import json

    from gankit.cli.main import main

    run = tmp_path / "run"
    main(["train", "cyclegan", "--data", "facades-unpaired", "--data-root", str(facades_root), "--steps", "4",
          "--out", str(run), "--set", "data.load_size=72", "--set", "data.crop_size=64", "--set", "model.ngf=4",
          "--set", "model.ndf=4", "--set", "model.n_blocks=1", "--set", "train.report=false",
          "--set", "train.progress=false"])
    hinted = [ln.strip() for ln in capsys.readouterr().out.splitlines() if ln.strip().startswith("gankit eval")]
    assert hinted == [f"gankit eval {run} --metrics labels,paired --split val -n 100"]  # what training says to run next
    out = tmp_path / "eval.json"
    main([*hinted[0].split()[1:], "--json", str(out)])
    m = json.loads(out.read_text())["metrics"]
    assert m["label_colours"] == 12
    assert 0 <= m["pixel_accuracy"] <= 1 and 0 <= m["class_iou"] <= m["class_accuracy"] <= 1
    assert m["pixel_accuracy"] <= m["matched_pixel_accuracy"] <= 1  # the identity renaming is one candidate
    assert "pixel_accuracy" in capsys.readouterr().out
