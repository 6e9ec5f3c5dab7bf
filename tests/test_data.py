"""Datasets: real data decoded once into uint8 tensors; bad input gets a one-line error."""
import gzip

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import load_config
from gankit.data import Batches, Loader, build_dataset, read_image
from gankit.data.mnist import load_mnist, stack_digits
from gankit.data.toy import grid_centers, ring_centers
from gankit.errors import GankitError


def _data_cfg(**kw):
    cfg = load_config("dcgan")
    cfg.data.update(kw)
    return cfg.data


def test_mnist_5k_is_embedded_real_digits():
    d = build_dataset(_data_cfg(name="mnist-5k"))
    assert d.x.shape == (5000, 1, 28, 28) and d.x.dtype == torch.uint8
    assert d.y.bincount().min() > 400 and d.num_classes == 10
    assert d.x.float().mean() == pytest.approx(33.3, abs=3)  # MNIST's mean intensity


def test_mnist_idx_files(mnist_root):
    x, y = load_mnist(mnist_root, "test")
    assert x.shape == (10000, 1, 28, 28) and y.shape == (10000,)
    assert y[:5].tolist() == [7, 2, 1, 0, 4]  # the first test digits


def test_mnist_missing_files_offline(tmp_path):
    with pytest.raises(GankitError, match="not found in .*--data-root"):
        load_mnist(tmp_path, "train", download=False)


def test_truncated_idx_file(tmp_path, mnist_root):
    raw = gzip.open(mnist_root / "t10k-images-idx3-ubyte.gz").read()
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw[:5000]))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes((mnist_root / "t10k-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(GankitError, match="truncated"):
        load_mnist(tmp_path, "test", download=False)


def test_stacked_mnist_labels():
    x = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 2, 2)
    y = torch.arange(10)
    imgs, labels = stack_digits(x, y, 50, seed=1)
    assert imgs.shape == (50, 3, 2, 2)
    # the image's channels are the digits its label names
    assert torch.equal(labels, imgs[:, 0, 0, 0].long() * 100 + imgs[:, 1, 0, 0].long() * 10 + imgs[:, 2, 0, 0].long())


def test_toy_centers():
    assert ring_centers().shape == (8, 2) and torch.allclose(ring_centers().norm(dim=1), torch.ones(8))
    assert grid_centers().shape == (25, 2) and grid_centers().abs().max() == 4
    d = build_dataset(_data_cfg(name="toy2d-grid", toy_n=1000))
    assert d.kind == "points" and d.x.shape == (1000, 2)


def _write(path, size=(8, 8), mode="L"):
    Image.fromarray(np.random.randint(0, 255, size[::-1] + ((3,) if mode == "RGB" else ()), dtype=np.uint8), mode).save(path)


def test_image_folder_labels_and_resize(tmp_path):
    for c in ("cat", "dog"):
        (tmp_path / c).mkdir()
        for i in range(3):
            _write(tmp_path / c / f"{i}.png", (10, 12))
    d = build_dataset(_data_cfg(name="image-folder", root=str(tmp_path), image_size=8, channels=3))
    assert d.x.shape == (6, 3, 8, 8) and d.class_names == ["cat", "dog"] and d.y.tolist() == [0, 0, 0, 1, 1, 1]


@pytest.mark.parametrize("case, fragment", [
    ("empty", "holds no images"),
    ("mixed", "set data.image_size"),
    ("corrupt", "not a valid or complete image"),
    ("truncated", "not a valid or complete image"),
    ("missing", "does not exist"),
])
def test_image_folder_bad_input(tmp_path, case, fragment):
    root = tmp_path / "imgs"
    root.mkdir()
    if case == "mixed":
        _write(root / "a.png", (8, 8))
        _write(root / "b.png", (9, 8))
    elif case == "corrupt":
        (root / "a.png").write_bytes(b"not an image at all")
    elif case == "truncated":
        _write(root / "a.jpg", (64, 64), "RGB")
        raw = (root / "a.jpg").read_bytes()
        (root / "a.jpg").write_bytes(raw[: len(raw) // 2])
    elif case == "missing":
        root = tmp_path / "nope"
    with pytest.raises(GankitError) as e:
        build_dataset(_data_cfg(name="image-folder", root=str(root)))
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_wrong_channel_count(tmp_path):
    _write(tmp_path / "a.png")
    with pytest.raises(GankitError, match="channels must be 1 or 3"):
        read_image(tmp_path / "a.png", channels=4)


def test_loader_shards_and_resumes():
    a = Loader(100, 10, seed=3, rank=0, world=2)
    b = Loader(100, 10, seed=3, rank=1, world=2)
    ia, ib = a.next_indices(), b.next_indices()
    assert not set(ia.tolist()) & set(ib.tolist())  # ranks never share an example in a step
    state = a.state_dict()
    want = [a.next_indices() for _ in range(12)]  # crosses an epoch boundary
    c = Loader(100, 10, seed=99, rank=0, world=2)
    c.load_state_dict(state)
    assert all(torch.equal(w, c.next_indices()) for w in want)


def test_batches_scale_to_unit_range():
    d = build_dataset(_data_cfg(name="mnist-5k", limit=256))
    batch = next(Batches(d, 64, 0, "cpu"))
    assert batch["x"].shape == (64, 1, 28, 28) and batch["x"].min() == -1 and batch["x"].max() <= 1
    assert batch["y"].dtype == torch.int64
